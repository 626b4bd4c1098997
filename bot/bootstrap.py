"""The composition root: wires the store, renderer, pipeline, inbox and notifier."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from bot.chat import ChatTransport
from bot.commands import changes, contacts, listing, send
from bot.commands.base import ChatConfig, CommandHandler
from bot.dialog_runner import DialogRunner, wizard_commands
from bot.inbox import Inbox
from bot.mail.outbound import parse_relay_url
from bot.mail.sender import DocumentSender, FilePoster, SenderConfig
from bot.notifier import Notifier
from bot.pipeline import Pipeline
from bot.render import Renderer
from bot.routing import Command
from bot.settings import Settings, SettingsError
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
    # The `enviar` worker, when outbound mail is set up; started by servers, drained by the shell.
    sender: DocumentSender | None = None

    def start(self) -> None:
        """Start the writer (the notifier is started by servers, drained by the shell)."""
        self.inbox.start()

    async def stop(self) -> None:
        """Finish queued messages, then stop delivering."""
        await self.inbox.stop()
        if self.sender is not None:
            await self.sender.stop()
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


def sender_config(settings: Settings) -> SenderConfig | None:
    """The `enviar` worker's settings; None while CRMBOT_SMTP_RELAY_URL is unset."""
    if settings.smtp_relay_url is None:
        return None
    try:
        relay = parse_relay_url(settings.smtp_relay_url.get_secret_value())
    except ValueError as exc:  # the URL itself is never shown: it may hold a password
        raise SettingsError(f"CRMBOT_SMTP_RELAY_URL: {exc}") from exc
    return SenderConfig(relay=relay, mail_domain=settings.mail_domain)


def build_chat(
    store: Store,
    transport: ChatTransport,
    config: ChatConfig,
    *,
    locale: str,
    fixed_role: str | None = None,
    clock: Callable[[], datetime] = utcnow,
    sender: SenderConfig | None = None,
) -> ChatApp:
    """Wire the pipeline, inbox, renderer and notifier over ``store`` and ``transport``;
    with ``sender``, the worker that emails documents too (`enviar` works only then)."""
    renderer = Renderer(default_locale=locale, currency=config.currency, timezone=config.timezone)
    notifier = Notifier(store.sessions, transport, renderer.render)
    documents = None
    if sender is not None:
        poster = transport if isinstance(transport, FilePoster) else None
        documents = DocumentSender(
            store.sessions, store.files, sender, poster=poster, on_queued=notifier.wake
        )
    config = replace(config, outbound_mail=documents is not None)
    runner = DialogRunner(
        DialogEngine(list(WIZARDS.values()), timeout_min=config.dialog_timeout_min)
    )
    commands = {**command_table(), **wizard_commands(runner, WIZARDS)}
    pipeline = Pipeline(config, commands, dialogs=runner, fixed_role=fixed_role, clock=clock)

    def committed() -> None:
        notifier.wake()
        if documents is not None:
            documents.wake()  # an `enviar` in the batch recorded a job

    inbox = Inbox(store.sessions, pipeline, locale=locale, on_commit=committed)
    return ChatApp(inbox, notifier, renderer, documents)


WIZARDS: dict[Command, WizardSpec] = {
    Command.ADD_PURCHASE: PURCHASE,
    Command.ADD_QUOTE: QUOTE,
    Command.ADD_CASE: CASE,
}


def command_table() -> dict[Command, CommandHandler]:
    """Every chat command and the function that answers it (the one list of them)."""
    return {**contacts.COMMANDS, **listing.COMMANDS, **changes.COMMANDS, **send.COMMANDS}
