"""Engine construction: SQLite in WAL with one writer connection, or PostgreSQL via asyncpg."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from store.sqlite_inline import InlineConnection, inline_creator


class DatabaseUrlError(ValueError):
    """The configured database URL is malformed or names a driver crmbot does not support."""


def parse_url(url: str) -> URL:
    """``url`` parsed; a malformed one is a DatabaseUrlError that never repeats the URL,
    since it may hold a password."""
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as exc:  # a bad scheme, port, or no URL at all
        raise DatabaseUrlError(
            "the database URL cannot be read: use sqlite+aiosqlite:///PATH or "
            "postgresql+asyncpg://USER:PASSWORD@HOST:PORT/NAME"
        ) from exc


def is_sqlite(url: str) -> bool:
    """Whether ``url`` is an SQLite URL."""
    return parse_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, echo: bool = False, sqlite_inline: bool = True) -> AsyncEngine:
    """An async engine configured for crmbot's transaction rules on either database.

    ``sqlite_inline=False`` keeps aiosqlite's worker thread (store.sqlite_inline says why
    the default does without it); the benchmarks compare the two.
    """
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, echo=echo, inline=sqlite_inline)
    if backend == "postgresql":
        if parsed.get_driver_name() != "asyncpg":
            raise DatabaseUrlError(
                "PostgreSQL URLs must use the asyncpg driver (postgresql+asyncpg://)"
            )
        return create_async_engine(
            url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True
        )
    raise DatabaseUrlError(
        f"unsupported database {backend!r}: use sqlite+aiosqlite or postgresql+asyncpg"
    )


def sqlite_file(url: URL) -> str | None:
    """The file a SQLite ``url`` names; None for an in-memory database."""
    database = url.database or ""
    return None if database in ("", ":memory:") else database


def _sqlite_engine(parsed: URL, *, echo: bool, inline: bool) -> AsyncEngine:
    if parsed.get_driver_name() != "aiosqlite":
        raise DatabaseUrlError("SQLite URLs must use the aiosqlite driver: sqlite+aiosqlite://")
    database = sqlite_file(parsed)
    if database is not None:
        # `~/crm.db` means the home folder, for the folder made here and the file opened
        # (sqlite3 itself would open a folder literally named `~`).
        database = str(Path(database).expanduser())
        parsed = parsed.set(database=database)
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # One connection: SQLite has one writer anyway, and a single connection makes the
    # writer's order the commit order instead of a "database is locked" race.
    options: dict[str, Any] = {}
    if inline:
        options["async_creator"] = inline_creator(parsed.database or "")
    engine = create_async_engine(
        parsed, echo=echo, pool_size=1, max_overflow=0, pool_timeout=120, **options
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit BEGIN breaks SAVEPOINT and transactional DDL; take over.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so a second process (a shell beside a
        # server) waits instead of failing halfway through a read-then-write transaction.
        driver = conn.connection.driver_connection
        if isinstance(driver, InlineConnection) and driver.try_begin_immediate():
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (replies are rendered from them)."""
    return async_sessionmaker(engine, expire_on_commit=False)
