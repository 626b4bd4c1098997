"""The hot statements on SQLite, sent straight to the transaction's own sqlite3 connection.

Through an ``AsyncSession`` a statement costs 60 to 100 µs of CPU before SQLite sees it: the
greenlet hop of the asyncio layer, the execution context, bind and result processing, the
result object, and for entities the ORM's loading. SQLite answers one of ours in 5 to 10 µs
from its page cache. background/group-commit.md measured SQLAlchemy halving a group-commit
writer's throughput, and after the dialog rows, the dedupe and the outbox left the ORM, its
execution path was still the largest share of a message's CPU.

So the statements each message or batch runs are still written in Core (one place names the
tables and columns), compiled here once for SQLite, and run on the sqlite3 connection the
session's transaction already holds (``store.sqlite_inline``), with the same bind and
result conversions SQLAlchemy would apply. Everywhere else (PostgreSQL, aiosqlite's thread,
a session outside a transaction) the same calls take SQLAlchemy's ordinary path and return
the same rows, so callers never branch; the tests compare both paths on every statement.

A driver error is raised as SQLAlchemy's own exception class (``IntegrityError`` and so on),
as the ordinary path would raise it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, NoReturn

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.expression import Executable
from sqlalchemy.types import TypeEngine

from store.sqlite_inline import InlineConnection

Row = tuple[Any, ...]
Params = Mapping[str, Any]
Convert = Callable[[Any], Any]
_INFO_KEY: Final = "crmbot.direct"


class Sent:
    """What went straight to the driver, where SQLAlchemy's events cannot see it: a count
    (the benchmarks add it to theirs) and the SQL of each statement to any ``listeners``
    (the tests that check which statements a batch sends). An executemany is one."""

    count = 0
    listeners: ClassVar[list[Callable[[str], None]]] = []

    @classmethod
    def note(cls, sql: str) -> None:
        cls.count += 1
        for listener in cls.listeners:
            listener(sql)


@dataclass(frozen=True, slots=True)
class _Form:
    """A statement compiled for one dialect: SQL, bind names in order, conversions."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[Convert | None, ...]
    defaults: Mapping[str, Any]
    results: tuple[Convert | None, ...]

    def args(self, params: Params) -> tuple[Any, ...]:
        values = []
        for name, convert in zip(self.names, self.binds, strict=True):
            value = params[name] if name in params else self.defaults[name]
            values.append(convert(value) if convert is not None else value)
        return tuple(values)

    def row(self, raw: Sequence[Any]) -> Row:
        return tuple(
            convert(value) if convert is not None else value
            for value, convert in zip(raw, self.results, strict=True)
        )


class DirectStatement:
    """A Core statement that hot paths run through ``fetch``, ``run`` and ``run_many``.

    No expanding (``IN``-list) parameters: a compiled form must not depend on the call.
    An INSERT without ``.values()`` names the ``columns`` its parameters give (SQLAlchemy
    would take them from the first parameter set of each call).
    """

    def __init__(self, statement: Executable, *, columns: Sequence[str] | None = None) -> None:
        self.statement = statement
        self._columns = list(columns) if columns is not None else None
        self._sqlite: _Form | None = None

    def sqlite_form(self, dialect: Dialect) -> _Form:
        """The statement compiled for SQLite, once."""
        if self._sqlite is None:
            self._sqlite = _compile(self.statement, dialect, self._columns)
        return self._sqlite


def _compile(statement: Executable, dialect: Dialect, columns: list[str] | None) -> _Form:
    compiled = statement.compile(dialect=dialect, column_keys=columns)  # type: ignore[attr-defined]
    names = tuple(compiled.positiontup or ())
    binds = [compiled.binds[name] for name in names]
    if any(bind.expanding for bind in binds):
        raise ValueError("a direct statement cannot take an expanding (IN-list) parameter")
    returned: Iterable[ColumnElement[Any]] = getattr(statement, "exported_columns", ())
    return _Form(
        sql=compiled.string,
        names=names,
        binds=tuple(bind.type.dialect_impl(dialect).bind_processor(dialect) for bind in binds),
        # Values fixed in the statement (a LIMIT, say), under their compiled names.
        defaults={
            name: bind.effective_value
            for name, bind in zip(names, binds, strict=True)
            if bind.effective_value is not None
        },
        results=tuple(_result_processor(column.type, dialect) for column in returned),
    )


def _result_processor(type_: TypeEngine[Any], dialect: Dialect) -> Convert | None:
    # A TypeDecorator's own processor wraps its implementation's, as on the ordinary path.
    processor: Convert | None = type_.dialect_impl(dialect).result_processor(dialect, None)
    return processor


async def _sqlite(session: AsyncSession) -> tuple[sqlite3.Connection, Dialect] | None:
    """The session transaction's sqlite3 connection, when the direct path may use it."""
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_INFO_KEY)
    if cached is not None and cached[0] is transaction and transaction is not None:
        found: tuple[sqlite3.Connection, Dialect] | None = cached[1]
        return found
    dialect = session.get_bind().dialect
    found = None
    if dialect.name == "sqlite" and transaction is not None:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        if isinstance(driver, InlineConnection) and driver.sqlite.in_transaction:
            found = (driver.sqlite, dialect)
    session.info[_INFO_KEY] = (session.sync_session.get_transaction(), found)
    return found


def _raise_as_sqlalchemy(sql: str, error: sqlite3.Error) -> NoReturn:
    raise sa_exc.DBAPIError.instance(sql, None, error, sqlite3.Error) from error


def _has_pending(session: AsyncSession) -> bool:
    """Whether the ORM holds changes a query would flush first (autoflush)."""
    sync = session.sync_session
    return bool(sync.new) or bool(sync.deleted) or sync.identity_map.check_modified()


async def fetch(session: AsyncSession, statement: DirectStatement, params: Params) -> list[Row]:
    """The rows ``statement`` returns for ``params``, as plain tuples.

    Pending ORM changes are flushed first, as an ORM query would, so a read sees them.
    """
    if _has_pending(session):
        await session.flush()
    direct = await _sqlite(session)
    if direct is None:
        connection = await session.connection()
        return [tuple(row) for row in await connection.execute(statement.statement, params)]
    sqlite, dialect = direct
    form = statement.sqlite_form(dialect)
    Sent.note(form.sql)
    try:
        raw_rows = sqlite.execute(form.sql, form.args(params)).fetchall()
    except sqlite3.Error as error:
        _raise_as_sqlalchemy(form.sql, error)
    return [form.row(raw) for raw in raw_rows]


async def fetch_each(
    session: AsyncSession, statement: DirectStatement, many: Sequence[Params]
) -> list[Row]:
    """``fetch`` for each of ``many``, rows in order; one round trip each off SQLite."""
    rows: list[Row] = []
    for params in many:
        rows += await fetch(session, statement, params)
    return rows


async def run(session: AsyncSession, statement: DirectStatement, params: Params) -> None:
    """Execute ``statement`` once, for its effect."""
    await run_many(session, statement, [params])


async def run_many(
    session: AsyncSession, statement: DirectStatement, many: Sequence[Params]
) -> None:
    """Execute ``statement`` for each of ``many`` (one executemany)."""
    if not many:
        return
    direct = await _sqlite(session)
    if direct is None:
        connection = await session.connection()
        await connection.execute(statement.statement, list(many) if len(many) > 1 else many[0])
        return
    sqlite, dialect = direct
    form = statement.sqlite_form(dialect)
    Sent.note(form.sql)
    try:
        if len(many) == 1:
            sqlite.execute(form.sql, form.args(many[0]))
        else:
            sqlite.executemany(form.sql, [form.args(params) for params in many])
    except sqlite3.Error as error:
        _raise_as_sqlalchemy(form.sql, error)
