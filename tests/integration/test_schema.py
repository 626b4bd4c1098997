"""The migrations build the schema the models describe, on both databases."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from store.migrate import upgrade
from store.models import Base
from tests.databases import TestDatabase


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrations_create_every_model_table(database: TestDatabase) -> None:
    async with database.engine.connect() as conn:
        tables = await conn.run_sync(_table_names)
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


async def test_upgrade_twice_is_a_no_op(database: TestDatabase) -> None:
    await upgrade(database.engine)
    async with database.engine.connect() as conn:
        tables = await conn.run_sync(_table_names)
    assert "contacts" in tables


def _autogen_diff(connection: Connection) -> list[object]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_and_migrations_agree(database: TestDatabase) -> None:
    """A model change without a migration fails here instead of in production."""
    async with database.engine.connect() as conn:
        diff = await conn.run_sync(_autogen_diff)
    assert diff == []
