"""Fresh, migrated test databases on SQLite and PostgreSQL, cloned from a template per test."""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import create_engine
from store.migrate import upgrade

PG_URL = os.environ.get("CRMBOT_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# One template per test process, so parallel runs on one server never drop each other's.
TEMPLATE_DB = f"crmbot_test_template_{os.getpid()}"


@dataclass
class TestDatabase:
    """One test's database: its URL and an engine on it."""

    __test__ = False
    kind: str
    url: str
    engine: AsyncEngine


def _admin_dsn() -> str:
    url = make_url(PG_URL)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def pg_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        conn = await asyncpg.connect(_admin_dsn(), timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL at {PG_URL} unreachable: {exc}"
    await conn.close()
    return None


def _pg_url(database: str) -> str:
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


async def build_pg_template() -> None:
    """Create the migrated template database once per test run."""
    conn = await asyncpg.connect(_admin_dsn())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    finally:
        await conn.close()
    engine = create_engine(_pg_url(TEMPLATE_DB))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def drop_pg_template() -> None:
    """Drop this process's template at the end of the run."""
    await drop_pg(TEMPLATE_DB)


async def clone_pg() -> str:
    """A new database copied from the template; returns its name."""
    name = f"crmbot_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_admin_dsn())
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    finally:
        await conn.close()
    return name


async def drop_pg(name: str) -> None:
    """Drop a cloned database, closing what still uses it."""
    conn = await asyncpg.connect(_admin_dsn())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def build_sqlite_template(folder: Path) -> Path:
    """A migrated SQLite file to copy for each test."""
    path = folder / "template.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    return path


def clone_sqlite(template: Path, folder: Path) -> str:
    """A copy of the migrated SQLite template; returns its URL."""
    path = folder / f"{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


def pg_url_for(database: str) -> str:
    """The SQLAlchemy URL of a test database by name."""
    return _pg_url(database)
