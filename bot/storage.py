"""Opening the store: the database engine, its sessions and the file store, as one handle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.settings import Settings
from store.db import create_engine, session_factory
from store.filestore import FileStore


class SchemaMissingError(RuntimeError):
    """The database has no crmbot schema yet."""


@dataclass(frozen=True, slots=True)
class Store:
    """The database engine, its sessions and the file store, as one handle."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    files: FileStore


def _has_schema(connection: Connection) -> bool:
    return inspect(connection).has_table("alembic_version")


@asynccontextmanager
async def open_store(settings: Settings, *, migrate: bool = False) -> AsyncIterator[Store]:
    """Open the database (creating or migrating the schema when asked) and the file store."""
    engine = create_engine(settings.database_url)
    try:
        if migrate:
            # Imported only here: Alembic (with Mako and Pygments) is a quarter of a second of
            # start-up that `serve` and every other command would otherwise pay for nothing.
            from store.migrate import upgrade

            await upgrade(engine)
        else:
            async with engine.connect() as connection:
                if not await connection.run_sync(_has_schema):
                    raise SchemaMissingError(
                        "the database has no crmbot schema yet: run `crmbot db upgrade` first"
                    )
        yield Store(engine, session_factory(engine), FileStore(settings.files_dir))
    finally:
        await engine.dispose()
