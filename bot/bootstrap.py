"""The composition root: builds the store, renderer and services from the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.chat import ChatTransport
from bot.commands import changes, contacts, listing
from bot.commands.base import ChatConfig, CommandHandler
from bot.inbox import Inbox
from bot.notifier import Notifier
from bot.pipeline import Pipeline
from bot.render import Renderer
from bot.routing import Command
from bot.settings import Settings
from store.db import create_engine, session_factory
from store.filestore import FileStore
from store.migrate import upgrade
from store.types import utcnow


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


@dataclass(frozen=True, slots=True)
class ChatApp:
    """The wired chat side: the inbox to submit to, the notifier that delivers."""

    inbox: Inbox
    notifier: Notifier
    renderer: Renderer

    def start(self) -> None:
        """Start the writer (the notifier is started by servers, drained by the shell)."""
        self.inbox.start()

    async def stop(self) -> None:
        """Finish queued messages, then stop delivering."""
        await self.inbox.stop()
        await self.notifier.stop()


def chat_config(settings: Settings) -> ChatConfig:
    """The chat-side settings."""
    return ChatConfig(
        bot_username=settings.rocketchat_username,
        currency=settings.currency,
        timezone=settings.timezone,
        default_role=settings.default_role,
        dialog_timeout_min=settings.dialog_timeout_min,
    )


def build_chat(
    store: Store,
    transport: ChatTransport,
    config: ChatConfig,
    *,
    locale: str,
    fixed_role: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> ChatApp:
    """Wire the pipeline, inbox, renderer and notifier over ``store`` and ``transport``."""
    renderer = Renderer(default_locale=locale, currency=config.currency, timezone=config.timezone)
    notifier = Notifier(store.sessions, transport, renderer.render)
    pipeline = Pipeline(config, command_table(), fixed_role=fixed_role, clock=clock)
    inbox = Inbox(store.sessions, pipeline, locale=locale, on_commit=notifier.wake)
    return ChatApp(inbox, notifier, renderer)


def command_table() -> dict[Command, CommandHandler]:
    """Every chat command and the function that answers it (the one list of them)."""
    return {**contacts.COMMANDS, **listing.COMMANDS, **changes.COMMANDS}
