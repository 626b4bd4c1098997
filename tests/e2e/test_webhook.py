"""`POST /webhooks/rocketchat`, `/healthz` and `/metrics` of the `crmbot serve` app, over real
HTTP on loopback, on SQLite and PostgreSQL (CONTRACT §3, ROCKETCHAT.md §1)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.chat import Outgoing
from bot.server import build_app
from bot.settings import Settings
from bot.storage import Store
from store.db import create_engine, session_factory
from store.filestore import FileStore
from store.models import Outbox, ProcessedMessage
from tests.databases import TestDatabase

TOKEN = "webhook-secret-Xy7"
BOT_ID = "bot-user-id"
DM = "dm-ana"
Body = dict[str, object]


@dataclass
class QueueTransport:
    """Records what the notifier sends and lets a test await the next message."""

    sent: list[Outgoing] = field(default_factory=list)
    queue: asyncio.Queue[Outgoing] = field(default_factory=asyncio.Queue)

    async def send(self, message: Outgoing) -> None:
        self.sent.append(message)
        self.queue.put_nowait(message)

    async def received(self) -> Outgoing:
        async with asyncio.timeout(10):  # a guard against hanging, not a timing assumption
            return await self.queue.get()

    def factory(self, _settings: Settings) -> AbstractAsyncContextManager[QueueTransport]:
        return nullcontext(self)


def make_settings(database_url: str, files: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "rocketchat_url": "http://127.0.0.1:9",
        "rocketchat_user_id": BOT_ID,
        "rocketchat_token": SecretStr("bot-pat"),
        "webhook_token": SecretStr(TOKEN),
        "files_dir": files,
        "locale": "es",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[tuple[web.AppRunner, str]]:
    """Run ``app`` on 127.0.0.1 on a free port; yields the runner and the base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield runner, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def message(
    message_id: str = "m1",
    text: str = "ayuda",
    *,
    room: str = DM,
    channel_name: str | None = None,
    tmid: str | None = None,
    **extra: object,
) -> Body:
    """A `sendMessage` body as Rocket.Chat builds it (§1.3)."""
    body: Body = {"token": TOKEN, "bot": False, "channel_id": room}
    if channel_name is not None:
        body["channel_name"] = channel_name
    body |= {
        "message_id": message_id,
        "timestamp": "2025-05-01T10:00:00.000Z",
        "user_id": "u-ana",
        "user_name": "ana",
        "text": text,
        "siteUrl": "https://chat.example.com",
    }
    if tmid is not None:
        body["tmid"] = tmid
    return body | extra


@dataclass
class Bot:
    url: str
    http: aiohttp.ClientSession
    transport: QueueTransport
    database: TestDatabase

    async def post(self, body: Body | bytes) -> tuple[int, object]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with self.http.post(
            f"{self.url}/webhooks/rocketchat",
            data=io.BytesIO(data),  # sized, so Content-Length is sent; bytes this big warn
            headers={"Content-Type": "application/json"},
        ) as response:
            return response.status, await response.json()

    async def stored(self) -> tuple[int, int]:
        return await stored(self.database)


async def stored(database: TestDatabase) -> tuple[int, int]:
    """(processed message ids, outbox rows) in the database."""
    async with session_factory(database.engine)() as session:
        processed = await session.scalar(select(func.count()).select_from(ProcessedMessage))
        outbox = await session.scalar(select(func.count()).select_from(Outbox))
    return processed or 0, outbox or 0


@pytest.fixture
async def bot(database: TestDatabase, tmp_path: Path) -> AsyncIterator[Bot]:
    transport = QueueTransport()
    settings = make_settings(database.url, tmp_path / "files")
    app = build_app(settings, transport_factory=transport.factory)
    async with serving(app) as (_runner, url), aiohttp.ClientSession() as http:
        yield Bot(url, http, transport, database)


async def test_a_message_is_acknowledged_with_a_json_body_and_answered(bot: Bot) -> None:
    async with bot.http.post(f"{bot.url}/webhooks/rocketchat", json=message()) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        assert await response.read() == b"{}"  # non-empty: an empty 200 is retried (§1.7)
    reply = await bot.transport.received()
    assert reply.room_id == DM
    assert reply.thread_id == ""
    assert "ayuda" in reply.text
    assert await bot.stored() == (1, 1)


async def test_a_redelivered_message_is_handled_once(bot: Bot) -> None:
    assert await bot.post(message("m-again")) == (200, {})
    assert await bot.post(message("m-again")) == (200, {})
    first = await bot.transport.received()
    assert first.room_id == DM
    assert await bot.stored() == (1, 1)  # one processed id, one reply: a second can't be sent


async def test_a_thread_message_is_answered_in_the_thread(bot: Bot) -> None:
    body = message("m-thread", "!ayuda", room="ch-1", channel_name="ventas", tmid="parent-1")
    assert await bot.post(body) == (200, {})
    reply = await bot.transport.received()
    assert (reply.room_id, reply.thread_id) == ("ch-1", "parent-1")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(message(token="wrong"), id="wrong-token"),
        pytest.param({k: v for k, v in message().items() if k != "token"}, id="missing-token"),
        pytest.param(message(token=None), id="null-token"),
        pytest.param(message(token="webhook-secret-Xy7 "), id="token-with-trailing-space"),
    ],
)
async def test_a_bad_token_is_refused_and_nothing_stored(bot: Bot, body: Body) -> None:
    status, answer = await bot.post(body)
    assert status == 401
    assert answer == {"error": "invalid or missing token"}
    assert await bot.stored() == (0, 0)


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b"[1, 2]", b'"ayuda"', b"\xff\xfe{}", b"[" * 100_000],
    ids=["broken", "empty", "array", "string", "not-utf8", "deeply-nested"],
)
async def test_malformed_json_is_refused(bot: Bot, raw: bytes) -> None:
    status, answer = await bot.post(raw)
    assert status == 400
    assert isinstance(answer, dict)
    assert "JSON" in answer["error"]
    assert await bot.stored() == (0, 0)


async def test_missing_required_fields_are_refused_after_the_token(bot: Bot) -> None:
    body = {k: v for k, v in message().items() if k != "message_id"}
    assert await bot.post(body) == (
        400,
        {"error": "`message_id` is required and must be a non-empty string"},
    )
    assert await bot.stored() == (0, 0)


async def test_a_two_mebibyte_body_is_refused_and_nothing_stored(bot: Bot) -> None:
    # A valid token inside: the size limit comes before authentication and storage.
    huge = json.dumps(message("m-huge", "x" * (2 * 1024 * 1024))).encode()
    status, answer = await bot.post(huge)
    assert status == 413
    assert answer == {"error": "body larger than 1048576 bytes"}
    assert await bot.stored() == (0, 0)


async def test_a_chunked_body_is_refused_while_the_client_is_still_sending(bot: Bot) -> None:
    finish = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        for _ in range(17):  # 17 × 64 KiB passes 1 MiB without a Content-Length
            yield b" " * 65536
        await finish.wait()  # hold the rest back: the answer must come without it
        yield b"{}"

    try:
        async with (
            asyncio.timeout(10),
            bot.http.post(f"{bot.url}/webhooks/rocketchat", data=body()) as response,
        ):
            assert response.status == 413
    finally:
        finish.set()
    assert await bot.stored() == (0, 0)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(message("m-own", user_id=BOT_ID, user_name="crmbot-renamed"), id="own-id"),
        pytest.param(message("m-name", user_id="other", user_name="crmbot"), id="own-username"),
        pytest.param(message("m-bot", bot=True), id="another-bot"),
        pytest.param(message("m-edit", isEdited=True), id="an-edit"),
    ],
)
async def test_bot_messages_and_edits_are_acknowledged_and_ignored(bot: Bot, body: Body) -> None:
    assert await bot.post(body) == (200, {})
    assert await bot.stored() == (0, 0)  # not even recorded as processed


async def test_health_is_ok_while_the_database_answers(bot: Bot) -> None:
    async with bot.http.get(f"{bot.url}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}


async def test_metrics_expose_the_documented_families(bot: Bot) -> None:
    assert await bot.post(message("m-metrics")) == (200, {})
    await bot.transport.received()
    assert (await bot.post(message(token="nope")))[0] == 401
    async with bot.http.get(f"{bot.url}/metrics") as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    for line in [
        'crmbot_messages_total{outcome="handled"} 1.0',
        'crmbot_errors_total{kind="unauthorized"} 1.0',
        "# TYPE crmbot_dialog_steps_total counter",
        "# TYPE crmbot_outbox_depth gauge",
        "# TYPE crmbot_outbox_oldest_age_seconds gauge",
        "crmbot_webhook_latency_seconds_count 2.0",
    ]:
        assert line in text, line


@asynccontextmanager
async def dead_database(settings: Settings) -> AsyncIterator[Store]:
    """A store whose PostgreSQL is gone: nothing listens on port 1."""
    engine = create_engine("postgresql+asyncpg://crmbot@127.0.0.1:1/gone")
    try:
        yield Store(engine, session_factory(engine), FileStore(settings.files_dir))
    finally:
        await engine.dispose()


async def test_health_and_webhook_when_the_database_is_down(tmp_path: Path) -> None:
    transport = QueueTransport()
    settings = make_settings("sqlite+aiosqlite:///unused.db", tmp_path / "files")
    app = build_app(settings, transport_factory=transport.factory, store_opener=dead_database)
    async with serving(app) as (_runner, url), aiohttp.ClientSession() as http:
        async with http.get(f"{url}/healthz") as response:
            assert response.status == 503
            assert await response.json() == {"status": "unavailable"}
        # Nothing could be recorded, so Rocket.Chat must retry: 503, never a 500 with a body.
        async with http.post(f"{url}/webhooks/rocketchat", json=message()) as response:
            assert response.status == 503
        async with http.get(f"{url}/metrics") as response:
            text = await response.text()
    assert "crmbot_outbox_depth NaN" in text
    assert 'crmbot_errors_total{kind="accept_failed"} 1.0' in text
