"""`crmbot serve` as a whole: deliveries from a faithful fake Rocket.Chat, graceful shutdown,
and the command line (CONTRACT §1, §3, §6; ROCKETCHAT.md §1.7)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import insert

from bot.chat import ChatTransport, Incoming, Outgoing
from bot.cli import main
from bot.server import build_app, rocketchat_transport
from bot.settings import Settings
from store.models import ProcessedMessage
from store.types import utcnow
from tests.databases import TestDatabase
from tests.e2e.test_webhook import (
    TOKEN,
    QueueTransport,
    make_settings,
    message,
    serving,
    stored,
)
from tests.fakes.rocketchat import FakeRocketChat
from tests.support.serve_process import free_port, serve_env
from webhooks.rocketchat import rocketchat_webhook

WEBHOOK = "/webhooks/rocketchat"


async def test_a_message_from_rocketchat_is_acknowledged_once_and_answered(
    rc: FakeRocketChat, database: TestDatabase, tmp_path: Path
) -> None:
    transport = QueueTransport()
    settings = make_settings(database.url, tmp_path / "files", rocketchat_user_id=rc.bot.id)
    async with serving(build_app(settings, transport_factory=transport.factory)) as (_, url):
        rc.add_outgoing_webhook(url + WEBHOOK, TOKEN, channels=["all_direct_messages"])
        ana = rc.add_user("ana")
        dm = rc.add_dm(rc.bot, ana)
        result = await rc.emit_message(dm, ana, "ayuda")
        reply = await transport.received()
    (delivery,) = result.deliveries
    assert [(a.status, a.body) for a in delivery.attempts] == [(200, b"{}")]  # no retry
    assert delivery.outcome == "success"
    assert delivery.replies == []  # `{}` carries no text, so Rocket.Chat posts nothing itself
    assert reply.room_id == dm.id
    assert "ayuda" in reply.text


@pytest.mark.parametrize("failure", ["raises", "hangs"])
async def test_rocketchat_retries_what_could_not_be_recorded(
    rc: FakeRocketChat, failure: str
) -> None:
    seen: list[Incoming] = []
    never = asyncio.Event()

    async def flaky_accept(incoming: Incoming) -> object:
        seen.append(incoming)
        if len(seen) == 1 and failure == "raises":
            raise ConnectionError("database down")
        if len(seen) == 1:
            await never.wait()  # a batch stuck past the deadline
        return "handled"

    handler = rocketchat_webhook(
        flaky_accept, token=TOKEN, bot_user_id=rc.bot.id, bot_username="crmbot", accept_timeout=0.05
    )
    app = web.Application()
    app.router.add_post(WEBHOOK, handler)
    async with serving(app) as (_, url):
        rc.add_outgoing_webhook(url + WEBHOOK, TOKEN)
        result = await rc.emit_message(rc.add_room("ventas"), rc.add_user("ana"), "!ayuda")
    (delivery,) = result.deliveries
    assert [a.status for a in delivery.attempts] == [503, 200]
    assert delivery.outcome == "success"
    assert [i.message_id for i in seen] == [result.message.id] * 2


@dataclass
class Signalling:
    """The real REST transport, plus a queue a test can await after each send."""

    real: ChatTransport
    sent: asyncio.Queue[Outgoing] = field(default_factory=asyncio.Queue)

    async def send(self, message: Outgoing) -> None:
        await self.real.send(message)
        self.sent.put_nowait(message)


async def test_the_reply_reaches_rocketchat_and_its_echo_is_ignored(
    rc: FakeRocketChat, database: TestDatabase, tmp_path: Path
) -> None:
    pytest.importorskip("bot.transport.rocketchat")  # the REST transport lands separately
    signalling: list[Signalling] = []

    @asynccontextmanager
    async def factory(settings: Settings) -> AsyncIterator[ChatTransport]:
        async with rocketchat_transport(settings) as real:
            signalling.append(Signalling(real))
            yield signalling[0]

    settings = make_settings(
        database.url,
        tmp_path / "files",
        rocketchat_url=rc.url,
        rocketchat_user_id=rc.bot.id,
        rocketchat_token=rc.bot.token,
    )
    async with serving(build_app(settings, transport_factory=factory)) as (_, url):
        rc.add_outgoing_webhook(url + WEBHOOK, TOKEN, channels=["all_direct_messages"])
        ana = rc.add_user("ana")
        dm = rc.add_dm(rc.bot, ana)
        await rc.emit_message(dm, ana, "ayuda")
        async with asyncio.timeout(10):
            await signalling[0].sent.get()
        await rc.webhooks_idle()  # the bot's own reply came back through the webhook
        assert await stored(database) == (1, 1)  # the echo was not even recorded
    texts = rc.texts(dm)
    assert texts[0] == "ayuda"
    assert len(texts) == 2
    echoes = [d for d in rc.deliveries if d.payload.get("user_id") == rc.bot.id]
    assert [[a.body for a in d.attempts] for d in echoes] == [[b"{}"]]


def blocking_hooks(app: web.Application) -> tuple[asyncio.Event, asyncio.Event]:
    """Events set when a request enters the app and when its shutdown begins."""
    entered, stopping = asyncio.Event(), asyncio.Event()

    @web.middleware
    async def mark(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        entered.set()
        return await handler(request)

    async def on_shutdown(_app: web.Application) -> None:
        stopping.set()

    app.middlewares.append(mark)
    app.on_shutdown.append(on_shutdown)
    return entered, stopping


async def test_shutdown_finishes_the_request_in_flight_and_commits_it(
    database: TestDatabase, tmp_path: Path
) -> None:
    transport = QueueTransport()
    app = build_app(
        make_settings(database.url, tmp_path / "f"), transport_factory=transport.factory
    )
    entered, stopping = blocking_hooks(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}{WEBHOOK}"
    async with asyncio.timeout(60), aiohttp.ClientSession() as http:
        # Holding the message id uncommitted blocks the inbox's batch (a row lock on
        # PostgreSQL, the write lock on SQLite) so the request stays in flight.
        async with database.engine.connect() as blocker:
            row = {"message_id": "m-flight", "created_at": utcnow()}
            await blocker.execute(insert(ProcessedMessage).values(row))
            post = asyncio.create_task(http.post(url, json=message("m-flight")))
            await entered.wait()
            closing = asyncio.create_task(runner.cleanup())
            await stopping.wait()  # the server has stopped listening and waits for handlers
            await blocker.rollback()
        async with await post as response:
            assert (response.status, await response.json()) == (200, {})
        await closing
    assert await stored(database) == (1, 1)  # committed before the engine was disposed


def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **settings: str) -> None:
    """Only the given CRMBOT_* settings, and no .env in the working directory."""
    monkeypatch.chdir(tmp_path)
    for name in [key for key in os.environ if key.startswith("CRMBOT_")]:
        monkeypatch.delenv(name)
    for name, value in settings.items():
        monkeypatch.setenv(f"CRMBOT_{name}", value)


REQUIRED = {
    "ROCKETCHAT_URL": "http://127.0.0.1:9",
    "ROCKETCHAT_USER_ID": "bot",
    "ROCKETCHAT_TOKEN": "pat",
    "WEBHOOK_TOKEN": TOKEN,
}


@pytest.mark.parametrize("missing", list(REQUIRED))
def test_serve_names_a_missing_setting_in_one_line(
    missing: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_env(monkeypatch, tmp_path, **{k: v for k, v in REQUIRED.items() if k != missing})
    assert main(["serve"]) == 1
    assert capsys.readouterr().err == f"crmbot: CRMBOT_{missing} is required but not set\n"


def test_serve_says_when_its_port_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        clean_env(monkeypatch, tmp_path, HTTP_PORT=port, **REQUIRED)
        assert main(["serve"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        f"crmbot: CRMBOT_HTTP_HOST/CRMBOT_HTTP_PORT: cannot listen on 127.0.0.1:{port}"
    )
    assert err.count("\n") == 1
    assert not (tmp_path / "crmbot.db").exists()  # refused before the database was opened


async def test_serve_process_answers_then_stops_cleanly_on_sigterm(
    rc: FakeRocketChat, database: TestDatabase, tmp_path: Path
) -> None:
    pytest.importorskip("bot.transport.rocketchat")  # the REST transport lands separately
    port = free_port()
    env = serve_env(rc, database, tmp_path, port)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        async with asyncio.timeout(30):
            while b"listening on" not in (line := await process.stderr.readline()):
                assert line, "serve exited before listening"
        rc.add_outgoing_webhook(f"http://127.0.0.1:{port}{WEBHOOK}", TOKEN)
        result = await rc.emit_message(rc.add_room("ventas"), rc.add_user("ana"), "!ayuda")
        assert [a.body for a in result.attempts] == [b"{}"]
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            _, rest = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, rest.decode()
    assert b"stopped" in rest
