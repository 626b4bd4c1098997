"""Owns the `crmbot serve` aiohttp application: its routes, typed state and resource lifecycle.

Every resource belongs to a `cleanup_ctx`, registered in dependency order so aiohttp tears
them down in reverse: on SIGTERM the server first finishes in-flight requests, then the
inbox commits whatever is still queued, the notifier stops, the transport's HTTP session
closes, and only then is the database engine disposed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from aiohttp import web
from sqlalchemy import func, select, text

from bot.bootstrap import ChatApp, build_chat, chat_config
from bot.chat import ChatTransport, Incoming
from bot.file_intake import FileIntake, FileSource
from bot.metrics import Metrics, OutboxStats, metrics_handler
from bot.settings import Settings
from bot.storage import Store, open_store
from store.models import Outbox
from store.types import utcnow
from webhooks.health import health_handler
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
) -> web.Application:
    """The application; nothing is opened until it starts (its `cleanup_ctx` does that)."""
    settings.require("webhook_token")
    webhook_token = settings.webhook_token.get_secret_value() if settings.webhook_token else ""
    metrics = metrics or Metrics()
    app = web.Application()
    app[SETTINGS_KEY] = settings
    app[METRICS_KEY] = metrics
    app.cleanup_ctx.append(_store_ctx(store_opener))
    app.cleanup_ctx.append(_transport_ctx(transport_factory))
    app.cleanup_ctx.append(_chat_ctx)

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
    app.router.add_get("/healthz", health_handler(ping))
    app.router.add_get("/metrics", metrics_handler(metrics))
    return app


async def _with_file(app: web.Application, incoming: Incoming) -> Incoming:
    """Files are fetched into the store before the message is queued (bot.file_intake)."""
    transport = app[TRANSPORT_KEY]
    if not isinstance(transport, FileSource):
        return incoming  # a transport that cannot fetch files (tests, the shell)
    from bot.transport.rocketchat import FileTooLargeError

    settings = app[SETTINGS_KEY]
    intake = FileIntake(
        transport, app[STORE_KEY].files, settings.max_file_bytes, (FileTooLargeError,)
    )
    return await intake.prepare(incoming)


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
        async with opener(app[SETTINGS_KEY]) as store:
            app[STORE_KEY] = store
            yield

    return ctx


def _transport_ctx(factory: TransportFactory) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async with factory(app[SETTINGS_KEY]) as transport:
            app[TRANSPORT_KEY] = transport
            yield

    return ctx


async def _chat_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    chat = build_chat(
        app[STORE_KEY], app[TRANSPORT_KEY], chat_config(settings), locale=settings.locale
    )
    app[CHAT_KEY] = chat
    chat.start()
    chat.notifier.start()
    chat.notifier.wake()  # rows a previous run left unsent go out now, not at the first poll
    try:
        yield
    finally:
        await chat.stop()  # the inbox commits its queue before the engine is disposed
