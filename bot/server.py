"""Owns the `crmbot serve` aiohttp application: its routes, typed state and resource lifecycle.

Every resource belongs to a `cleanup_ctx`, registered in dependency order so aiohttp tears
them down in reverse: on SIGTERM the server first finishes in-flight requests, the mail
transports (SMTP listener, IMAP poller) stop taking mail, then the inbox commits whatever is
still queued, the notifier stops, the transport's HTTP session closes, and only then is the
database engine disposed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

import aiohttp
from aiohttp import web
from sqlalchemy import func, select, text

from bot.bootstrap import ChatApp, build_chat, chat_config, sender_config
from bot.chat import ChatTransport, Incoming, TemporarilyUnavailable
from bot.file_intake import FileIntake, FileSource
from bot.mail.imap import ImapAccount, ImapPoller
from bot.mail.ingest import IngestResult, MailIngest
from bot.mail.smtp import SmtpListener, smtp_listener
from bot.metrics import Metrics, OutboxStats, metrics_handler
from bot.settings import Settings, SettingsError
from bot.storage import Store, open_store
from store.checkpoint import background_checkpoints
from store.models import Outbox
from store.signatures import SignatureLedger
from store.types import utcnow
from webhooks.email import Handler as EmailHandler
from webhooks.email import email_webhook
from webhooks.health import health_handler
from webhooks.openapi import PATH as OPENAPI_PATH
from webhooks.openapi import openapi_handler
from webhooks.rocketchat import rocketchat_webhook

TransportFactory = Callable[[Settings], AbstractAsyncContextManager[ChatTransport]]
StoreOpener = Callable[[Settings], AbstractAsyncContextManager[Store]]
CleanupCtx = Callable[[web.Application], AsyncIterator[None]]

SETTINGS_KEY = web.AppKey("settings", Settings)
METRICS_KEY = web.AppKey("metrics", Metrics)
STORE_KEY = web.AppKey("store", Store)
# A protocol is not a concrete class, so this key is typed by annotation instead.
TRANSPORT_KEY: web.AppKey[ChatTransport] = web.AppKey("transport")
CHAT_KEY = web.AppKey("chat", ChatApp)
# A callable is not a concrete class either: typed by annotation too.
EMAIL_WEBHOOK_KEY: web.AppKey[EmailHandler] = web.AppKey("email_webhook")
SMTP_KEY = web.AppKey("smtp", SmtpListener)  # only while CRMBOT_SMTP_PORT is set
IMAP_KEY = web.AppKey("imap", ImapPoller)  # only while CRMBOT_IMAP_HOST is set


@asynccontextmanager
async def rocketchat_transport(settings: Settings) -> AsyncIterator[ChatTransport]:
    """The Rocket.Chat REST transport, owning one HTTP session for the app's lifetime."""
    # Imported here: tests and tools that bring their own transport never load the REST client.
    from bot.transport.rocketchat import RocketChatTransport

    settings.require("rocketchat_url", "rocketchat_user_id", "rocketchat_token")
    token = settings.rocketchat_token.get_secret_value() if settings.rocketchat_token else ""
    url, user_id = settings.rocketchat_url or "", settings.rocketchat_user_id or ""
    async with RocketChatTransport(
        url, user_id, token, max_download_bytes=settings.max_file_bytes
    ) as transport:
        yield transport


def build_app(
    settings: Settings,
    *,
    transport_factory: TransportFactory = rocketchat_transport,
    store_opener: StoreOpener = open_store,
    metrics: Metrics | None = None,
    deliver: bool = True,
) -> web.Application:
    """The application; nothing is opened until it starts (its `cleanup_ctx` does that).

    ``deliver=False`` keeps the notifier from starting: messages are still acknowledged and
    their replies committed to the outbox, but nothing is posted (the benchmark's "durable
    acknowledgements with the notifier paused").
    """
    settings.require("webhook_token")
    webhook_token = settings.webhook_token.get_secret_value() if settings.webhook_token else ""
    metrics = metrics or Metrics()
    app = web.Application()
    app[SETTINGS_KEY] = settings
    app[METRICS_KEY] = metrics
    app.cleanup_ctx.append(_store_ctx(store_opener))
    app.cleanup_ctx.append(_transport_ctx(transport_factory))
    sender_config(settings)  # a malformed CRMBOT_SMTP_RELAY_URL stops the start here
    app.cleanup_ctx.append(_chat_ctx(deliver=deliver))
    # Checked here, so a missing IMAP user or password stops the start before anything opens.
    imap = imap_account(settings) if settings.imap_host else None
    app.cleanup_ctx.append(_mail_ctx(imap))

    async def accept(incoming: Incoming) -> object:
        return await app[CHAT_KEY].inbox.submit(await _with_file(app, incoming))

    async def ping() -> None:
        async with app[STORE_KEY].engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def outbox_probe() -> OutboxStats:
        return await outbox_stats(app[STORE_KEY])

    metrics.outbox_probe = outbox_probe
    webhook = rocketchat_webhook(
        accept,
        token=webhook_token,
        bot_user_id=settings.rocketchat_user_id,
        bot_username=settings.rocketchat_username,
        metrics=metrics,
    )
    app.router.add_post("/webhooks/rocketchat", webhook)

    async def email(request: web.Request) -> web.Response:
        return await app[EMAIL_WEBHOOK_KEY](request)

    app.router.add_post("/webhooks/email", email)
    app.router.add_get("/healthz", health_handler(ping))
    app.router.add_get("/metrics", metrics_handler(metrics))
    app.router.add_get(OPENAPI_PATH, openapi_handler())
    return app


async def _with_file(app: web.Application, incoming: Incoming) -> Incoming:
    """Files are fetched into the store before the message is queued (bot.file_intake).

    Rocket.Chat being unreachable meanwhile is an outage to wait out, not a bug: the
    webhook asks for the delivery again, with one line in the log.
    """
    if incoming.file is None and incoming.text.strip():
        return incoming  # the usual message: no file, nothing to look up (as intake.prepare)
    transport = app[TRANSPORT_KEY]
    if not isinstance(transport, FileSource):
        return incoming  # a transport that cannot fetch files (tests, the shell)
    from bot.transport.rocketchat import FileTooLargeError, TransportError

    settings = app[SETTINGS_KEY]
    intake = FileIntake(
        transport, app[STORE_KEY].files, settings.max_file_bytes, (FileTooLargeError,)
    )
    try:
        return await intake.prepare(incoming)
    except (TransportError, aiohttp.ClientError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        raise TemporarilyUnavailable(f"its file could not be fetched: {reason}") from exc


async def outbox_stats(store: Store) -> OutboxStats:
    """How many outbox rows wait to be delivered, and how long the oldest has waited."""
    query = select(func.count(Outbox.seq), func.min(Outbox.created_at)).where(
        Outbox.sent_at.is_(None)
    )
    async with store.sessions() as session:
        depth, oldest = (await session.execute(query)).one()
    age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    return OutboxStats(depth=int(depth), oldest_age=max(age, 0.0))


def _store_ctx(opener: StoreOpener) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async with opener(app[SETTINGS_KEY]) as store, background_checkpoints(store.engine):
            app[STORE_KEY] = store
            yield

    return ctx


def _transport_ctx(factory: TransportFactory) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async with factory(app[SETTINGS_KEY]) as transport:
            app[TRANSPORT_KEY] = transport
            yield

    return ctx


def _chat_ctx(*, deliver: bool) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async for _ in _run_chat(app, deliver=deliver):
            yield

    return ctx


async def _run_chat(app: web.Application, *, deliver: bool) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    chat = build_chat(
        app[STORE_KEY],
        app[TRANSPORT_KEY],
        chat_config(settings),
        locale=settings.locale,
        sender=sender_config(settings),
    )
    app[CHAT_KEY] = chat
    chat.start()
    if deliver:
        chat.notifier.start()
        chat.notifier.wake()  # rows a previous run left unsent go out now, not at the first poll
    if deliver and chat.sender is not None:
        # The `enviar` worker; jobs left open by a previous run go too.
        chat.sender.start()
        chat.sender.wake()
    try:
        yield
    finally:
        await chat.stop()  # the inbox commits its queue before the engine is disposed


def _mail_ctx(imap: ImapAccount | None) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        settings, store, chat = app[SETTINGS_KEY], app[STORE_KEY], app[CHAT_KEY]
        mail = MailIngest(
            store.sessions,
            store.files,
            max_bytes=settings.max_file_bytes,
            mail_domain=settings.mail_domain,
            locale=settings.locale,
            on_commit=chat.notifier.wake,  # the linked rooms hear of it now, not at a poll
        )

        async def ingest(raw: bytes, envelope_to: Sequence[str] = ()) -> IngestResult:
            return await mail.ingest(raw, envelope_to=envelope_to)

        secret = settings.email_webhook_secret
        app[EMAIL_WEBHOOK_KEY] = email_webhook(
            ingest,
            SignatureLedger(store.sessions),
            secret=secret.get_secret_value() if secret else None,
            max_body=settings.max_file_bytes,
            metrics=app[METRICS_KEY],
        )
        async with AsyncExitStack() as stack:
            if settings.smtp_port is not None:
                app[SMTP_KEY] = await _start_smtp(settings, ingest)
                stack.push_async_callback(app[SMTP_KEY].stop)
            if imap is not None:
                app[IMAP_KEY] = ImapPoller(imap, ingest, max_bytes=settings.max_file_bytes)
                app[IMAP_KEY].start()
                stack.push_async_callback(app[IMAP_KEY].stop)
            yield

    return ctx


async def _start_smtp(
    settings: Settings, ingest: Callable[[bytes, Sequence[str]], Awaitable[IngestResult]]
) -> SmtpListener:
    """The SMTP listener of CRMBOT_SMTP_*; a busy port is one clear line, not a traceback."""
    listener = smtp_listener(ingest, domain=settings.mail_domain, max_bytes=settings.max_file_bytes)
    host, port = settings.smtp_host, settings.smtp_port or 0
    try:
        await listener.start(host, port)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SettingsError(
            f"CRMBOT_SMTP_HOST/CRMBOT_SMTP_PORT: cannot listen on {host}:{port}: {reason}"
        ) from exc
    return listener


def imap_account(settings: Settings) -> ImapAccount:
    """The mailbox of the CRMBOT_IMAP_* settings; user and password are then required."""
    settings.require("imap_host", "imap_user", "imap_password")
    password = settings.imap_password.get_secret_value() if settings.imap_password else ""
    return ImapAccount(
        host=settings.imap_host or "",
        port=settings.imap_port or (993 if settings.imap_ssl else 143),
        user=settings.imap_user or "",
        password=password,
        folder=settings.imap_folder,
        use_ssl=settings.imap_ssl,
    )
