"""Fixtures of the security checks: one SQLite database, since the backend changes nothing.

Roles, escaping, file names and secrets are decided above the store, and the store's own
behaviour on both databases is what the rest of the suite checks; so these checks run on
SQLite, except where a PostgreSQL URL is itself the subject (a password in it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import Store
from store.db import create_engine, session_factory
from store.filestore import FileStore
from tests import databases
from tests.databases import TestDatabase


@pytest.fixture
async def sqlite_database(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[TestDatabase]:
    """A freshly migrated SQLite database of this test's own."""
    url = databases.clone_sqlite(sqlite_template, tmp_path)
    engine = create_engine(url)
    yield TestDatabase("sqlite", url, engine)
    await engine.dispose()


@pytest.fixture
def sqlite_store(sqlite_database: TestDatabase, tmp_path: Path) -> Store:
    """The chat side's store over ``sqlite_database``, files under ``tmp_path/files``."""
    engine = sqlite_database.engine
    return Store(engine, session_factory(engine), FileStore(tmp_path / "files"))
