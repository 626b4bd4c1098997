"""Schema upgrades through Alembic, callable from the CLI and from tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config(url: str = "") -> Config:
    """An Alembic configuration pointing at crmbot's packaged migrations."""
    config = Config()
    config.set_main_option("script_location", "store:migrations")
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Create or migrate the schema to the newest revision."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
