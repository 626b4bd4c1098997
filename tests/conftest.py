"""Shared fixtures: a migrated database per test on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import Store
from store.db import create_engine, session_factory
from store.filestore import FileStore
from tests import databases
from tests.databases import TestDatabase
from tests.fakes.rocketchat import FakeRocketChat

T = TypeVar("T")


def run_in_thread(coro: Coroutine[object, object, T]) -> T:
    """Run set-up work on its own loop: session fixtures are reached from running loops."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    return run_in_thread(databases.build_sqlite_template(folder))


@pytest.fixture(scope="session")
def pg_template() -> Iterator[None]:
    problem = run_in_thread(databases.pg_available())
    if problem is not None:
        # In CI PostgreSQL must be there: a skip would hide that half the matrix never ran.
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    run_in_thread(databases.build_pg_template())
    yield
    run_in_thread(databases.drop_pg_template())


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[TestDatabase]:
    """A freshly migrated database; every store test runs once on each backend."""
    if request.param == "sqlite":
        url = databases.clone_sqlite(sqlite_template, tmp_path)
        engine = create_engine(url)
        yield TestDatabase("sqlite", url, engine)
        await engine.dispose()
        return
    request.getfixturevalue("pg_template")
    name = await databases.clone_pg()
    url = databases.pg_url_for(name)
    engine = create_engine(url)
    try:
        yield TestDatabase("postgresql", url, engine)
    finally:
        await engine.dispose()
        await databases.drop_pg(name)


@pytest.fixture
def sessions(database: TestDatabase) -> async_sessionmaker[AsyncSession]:
    return session_factory(database.engine)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as s:
        yield s


@pytest.fixture
def store(database: TestDatabase, tmp_path: Path) -> Store:
    """The store handle the chat side is built on."""
    return Store(database.engine, session_factory(database.engine), FileStore(tmp_path / "files"))


@pytest.fixture
async def rc() -> AsyncIterator[FakeRocketChat]:
    """The fake Rocket.Chat; its outgoing webhook retries without Rocket.Chat's delays.

    Test modules that need the real delays, or rooms made up front, define their own.
    """

    async def no_wait(_seconds: float) -> None:
        return None

    async with FakeRocketChat(webhook_sleep=no_wait) as fake:
        yield fake
