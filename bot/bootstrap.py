"""The composition root: wires the store, renderer, pipeline, inbox and notifier."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.chat import ChatTransport
from bot.commands import changes, contacts, listing
from bot.commands.base import ChatConfig, CommandHandler
from bot.dialog_runner import DialogRunner, wizard_commands
from bot.inbox import Inbox
from bot.notifier import Notifier
from bot.pipeline import Pipeline
from bot.render import Renderer
from bot.routing import Command
from bot.settings import Settings
from bot.storage import SchemaMissingError, Store, open_store
from dialogs.case import CASE
from dialogs.engine import DialogEngine
from dialogs.flow import WizardSpec
from dialogs.purchase import PURCHASE
from dialogs.quote import QUOTE
from store.types import utcnow

__all__ = ["ChatApp", "SchemaMissingError", "Store", "build_chat", "chat_config", "open_store"]


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
        max_file_mb=settings.max_file_mb,
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
    runner = DialogRunner(
        DialogEngine(list(WIZARDS.values()), timeout_min=config.dialog_timeout_min)
    )
    commands = {**command_table(), **wizard_commands(runner, WIZARDS)}
    pipeline = Pipeline(config, commands, dialogs=runner, fixed_role=fixed_role, clock=clock)
    inbox = Inbox(store.sessions, pipeline, locale=locale, on_commit=notifier.wake)
    return ChatApp(inbox, notifier, renderer)


WIZARDS: dict[Command, WizardSpec] = {
    Command.ADD_PURCHASE: PURCHASE,
    Command.ADD_QUOTE: QUOTE,
    Command.ADD_CASE: CASE,
}


def command_table() -> dict[Command, CommandHandler]:
    """Every chat command and the function that answers it (the one list of them)."""
    return {**contacts.COMMANDS, **listing.COMMANDS, **changes.COMMANDS}
