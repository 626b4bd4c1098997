"""RocketChatTransport over real HTTP against FakeRocketChat: exactly-once sends (ROCKETCHAT.md
§2.4), 429 waits (§2.3), permanent refusals, file uploads and capped downloads (§5)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from bot.chat import Outgoing
from bot.transport.rocketchat import (
    AuthenticationError,
    DeliveryUnknownError,
    FileTooLargeError,
    PermanentSendError,
    RejectedError,
    RetryPolicy,
    RocketChatTransport,
    TransportError,
)
from tests.fakes.rocketchat import FakeFile, FakeRocketChat, FakeRoom, FakeUser

SEND = "/api/v1/chat.sendMessage"
GET = "/api/v1/chat.getMessage"


class ManualClock:
    """Epoch seconds that move only when something sleeps on it."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeSleep:
    """The transport's sleep: records each wait and moves the clock instead of waiting."""

    clock: ManualClock
    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.now += seconds


@dataclass
class World:
    rc: FakeRocketChat
    clock: ManualClock
    sleep: FakeSleep
    sales: FakeRoom
    alice: FakeUser

    def transport(
        self, user: FakeUser | None = None, *, timeout: float = 5, token: str | None = None
    ) -> RocketChatTransport:
        who = user or self.rc.bot
        return RocketChatTransport(
            self.rc.url,
            who.id,
            token or who.token,
            timeout=timeout,
            clock=self.clock,
            sleep=self.sleep,
        )

    def paths(self) -> list[str]:
        return [r.path for r in self.rc.requests]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    clock = ManualClock()
    async with FakeRocketChat(clock=clock) as rc:
        alice = rc.add_user("alice")
        sales = rc.add_room("sales", room_type="p", members=[rc.bot, alice])
        yield World(rc, clock, FakeSleep(clock), sales, alice)


@pytest.fixture
async def bot(world: World) -> AsyncIterator[RocketChatTransport]:
    async with world.transport() as transport:
        yield transport


def out(world: World, msg_id: str, text: str = "hola", thread: str = "") -> Outgoing:
    return Outgoing(msg_id=msg_id, room_id=world.sales.id, text=text, thread_id=thread)


# -- exactly once --------------------------------------------------------------------------


async def test_send_lands_with_our_id(world: World, bot: RocketChatTransport) -> None:
    await bot.send(out(world, "row-1", "PO #42", thread="parent-1"))
    await bot.send(out(world, "row-2", "sin hilo"))
    stored = world.rc.room_messages(world.sales)
    assert [(m.id, m.msg, m.tmid, m.user) for m in stored] == [
        ("row-1", "PO #42", "parent-1", world.rc.bot),
        ("row-2", "sin hilo", None, world.rc.bot),  # no `tmid` key at all without a thread
    ]
    assert world.paths() == [SEND, SEND]  # nothing checked when nothing went wrong


@pytest.mark.parametrize("fault", ["fail", "close"])
async def test_answer_lost_after_storing_posts_once(
    world: World, bot: RocketChatTransport, fault: str
) -> None:
    # The server stored the message but the client saw a 500 / a dropped connection (§2.4).
    if fault == "fail":
        world.rc.fail_next(1, status=500, path=SEND, when="after")
    else:
        world.rc.close_next(1, path=SEND, when="after")
    await bot.send(out(world, "row-1"))
    assert [m.id for m in world.rc.messages] == ["row-1"]
    assert world.paths() == [SEND, GET]  # asked, found it, did not resend
    assert world.sleep.delays == [0.5]


async def test_hang_until_timeout_posts_once(world: World) -> None:
    world.rc.hang_next(1, path=SEND, when="after")
    async with world.transport(timeout=0.2) as transport:
        await transport.send(out(world, "row-1"))
    assert [m.id for m in world.rc.messages] == ["row-1"]
    assert world.paths()[-1] == GET
    assert SEND not in world.paths()[1:]  # the hung request was never repeated


async def test_failure_before_storing_is_resent_after_checking(
    world: World, bot: RocketChatTransport
) -> None:
    world.rc.fail_next(2, status=503, path=SEND)
    await bot.send(out(world, "row-1"))
    assert [m.id for m in world.rc.messages] == ["row-1"]
    assert world.paths() == [SEND, GET, SEND, GET, SEND]
    assert world.sleep.delays == [0.5, 1.0]  # exponential back-off


@pytest.mark.parametrize(
    "duplicate_error",
    [
        "Cannot read properties of undefined (reading 'starred')",  # §2.4, derived
        "E11000 duplicate key error collection: rocketchat_message index: _id_",  # the race
        "some other wording",  # unconfirmed text: chat.getMessage settles it
    ],
)
async def test_resending_a_delivered_row_is_a_no_op(
    world: World, bot: RocketChatTransport, duplicate_error: str
) -> None:
    # An earlier pass (or a process killed before marking the row sent) delivered it.
    world.rc.state.duplicate_id_error = duplicate_error
    await bot.send(out(world, "row-1", "first"))
    await bot.send(out(world, "row-1", "first"))
    assert world.rc.texts(world.sales) == ["first"]


async def test_server_errors_give_up_after_bounded_attempts(
    world: World, bot: RocketChatTransport
) -> None:
    world.rc.fail_next(10, status=502, path=SEND)
    with pytest.raises(TransportError, match="502"):
        await bot.send(out(world, "row-1"))
    assert world.paths().count(SEND) == RetryPolicy().attempts
    assert world.sleep.delays == [0.5, 1.0, 2.0]
    assert world.rc.messages == []


@pytest.mark.parametrize("mode", ["proxy", "refused"])
async def test_outage_raises_transport_error(
    world: World, bot: RocketChatTransport, mode: str
) -> None:
    await bot.send(out(world, "row-1"))  # leaves a keep-alive connection to be cut
    async with world.rc.outage("refused" if mode == "refused" else "proxy"):
        with pytest.raises(TransportError):
            await bot.send(out(world, "row-2"))
    await bot.send(out(world, "row-2"))  # Rocket.Chat is back
    assert [m.id for m in world.rc.messages] == ["row-1", "row-2"]


# -- rate limits ---------------------------------------------------------------------------


async def test_429_waits_until_the_reset(world: World) -> None:
    # A user without the `bot` role is rate limited (§2.3).
    sender = world.rc.add_user("sender")
    world.rc.add_member(world.sales, sender)
    world.rc.set_rate_limit(2, 60_000, route=SEND)
    reset_ms = int(world.clock.now * 1000) + 60_000
    async with world.transport(sender) as transport:
        for n in range(3):
            await transport.send(out(world, f"row-{n}", f"m{n}"))
    assert world.rc.texts(world.sales) == ["m0", "m1", "m2"]
    assert [r.status for r in world.rc.requests] == [200, 200, 429, 200]
    assert len(world.sleep.delays) == 1
    assert world.clock.now * 1000 >= reset_ms  # waited for the window, on the fake clock
    assert world.sleep.delays[0] == pytest.approx(60, abs=0.1)


async def test_endless_429_is_handed_back(world: World) -> None:
    sender = world.rc.add_user("sender")
    world.rc.add_member(world.sales, sender)
    world.rc.set_rate_limit(0, 60_000, route=SEND)  # nothing ever gets through
    async with world.transport(sender) as transport:
        with pytest.raises(TransportError, match="rate limited"):
            await transport.send(out(world, "row-1"))
    assert len(world.sleep.delays) == RetryPolicy().rate_limit_waits
    assert world.rc.messages == []


# -- refusals ------------------------------------------------------------------------------


async def test_unknown_room_is_permanent(world: World, bot: RocketChatTransport) -> None:
    with pytest.raises(PermanentSendError) as caught:
        await bot.send(Outgoing("row-1", "no-such-room", "hola"))
    assert (caught.value.status, caught.value.error) == (400, "error-invalid-room")
    assert world.paths() == [SEND, GET]  # §2.4: a 400 is checked before giving up


async def test_too_long_is_permanent(world: World, bot: RocketChatTransport) -> None:
    with pytest.raises(PermanentSendError) as caught:
        await bot.send(out(world, "row-1", "x" * 6000))
    assert caught.value.error_type == "error-message-size-exceeded"


async def test_wrong_token_is_not_the_message_fault(world: World) -> None:
    async with world.transport(token="revoked") as transport:
        with pytest.raises(AuthenticationError):  # a TransportError: the row stays queued
            await transport.send(out(world, "row-1"))


# -- files ---------------------------------------------------------------------------------


async def test_send_file_lands_as_a_file_message(world: World, bot: RocketChatTransport) -> None:
    msg_id = await bot.send_file(
        world.sales.id,
        "cotización 7.pdf",
        b"%PDF-1.4 quote",
        "application/pdf",
        thread_id="parent-1",
        caption="COT-7",
    )
    message = world.rc.message(msg_id)
    assert (message.via, message.msg, message.tmid) == ("rooms.mediaConfirm", "COT-7", "parent-1")
    assert message.file is not None
    assert (message.file["name"], message.file["type"]) == ("cotización 7.pdf", "application/pdf")
    assert world.rc.uploads[0].content == b"%PDF-1.4 quote"
    assert await bot.download(world.rc.uploads[0].path) == b"%PDF-1.4 quote"


async def test_send_file_keeps_a_hostile_name_on_one_line(
    world: World, bot: RocketChatTransport
) -> None:
    msg_id = await bot.send_file(world.sales.id, 'a"b\r\nX-Evil: 1.txt', b"hi", "text/plain")
    file = world.rc.message(msg_id).file
    assert file is not None
    assert file["name"] == 'a"b__X-Evil: 1.txt'


async def test_send_file_upload_is_retried(world: World, bot: RocketChatTransport) -> None:
    world.rc.fail_next(1, status=503, path=f"/api/v1/rooms.media/{world.sales.id}")
    await bot.send_file(world.sales.id, "a.txt", b"a", "text/plain")
    assert len(world.rc.messages) == 1


async def test_lost_confirm_is_not_resent(world: World, bot: RocketChatTransport) -> None:
    # Hold the upload so that the next fault, for any path, is taken by the confirm.
    world.rc.hang_next(1, path=f"/api/v1/rooms.media/{world.sales.id}")
    world.rc.close_next(1, when="after")  # the confirm is stored, its answer lost
    sending = asyncio.create_task(bot.send_file(world.sales.id, "a.txt", b"a", "text/plain"))
    await world.rc.wait_for_hung(1)
    world.rc.release_hung()
    with pytest.raises(DeliveryUnknownError):
        await sending
    assert len(world.rc.messages) == 1  # posted once; a resend would have made two
    assert world.paths()[-1].startswith("/api/v1/rooms.mediaConfirm/")


async def test_send_file_to_a_foreign_room_is_permanent(
    world: World, bot: RocketChatTransport
) -> None:
    secret = world.rc.add_room("secret", room_type="p", members=[world.alice])
    with pytest.raises(PermanentSendError) as caught:
        await bot.send_file(secret.id, "a.txt", b"a", "text/plain")
    assert caught.value.status == 403


async def test_download_needs_auth_and_a_limit(world: World, bot: RocketChatTransport) -> None:
    pdf = FakeFile("factura 7.pdf", b"%PDF" + b"0" * 996, "application/pdf")
    emitted = await world.rc.emit_message(world.sales, world.alice, "", file=pdf)
    assert emitted.message.attachments is not None
    link = str(emitted.message.attachments[0]["title_link"])  # relative (§5)
    assert await bot.download(link) == pdf.content
    assert await bot.download(f"{world.rc.url}{link}", max_bytes=1000) == pdf.content
    with pytest.raises(FileTooLargeError):
        await bot.download(link, max_bytes=999)
    async with world.transport(token="wrong") as stranger:
        with pytest.raises(RejectedError) as caught:
            await stranger.download(link)
    assert caught.value.status == 403  # §5: FileUpload_ProtectFiles


async def test_download_refuses_other_hosts(bot: RocketChatTransport) -> None:
    with pytest.raises(ValueError, match=r"not a Rocket\.Chat file URL"):
        await bot.download("http://169.254.169.254/latest/meta-data")


@dataclass
class Storage:
    """A file store on another origin (S3-like) and a Rocket.Chat that redirects to it."""

    bucket_url: str = ""
    chat_url: str = ""
    seen_headers: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
async def storage() -> AsyncIterator[Storage]:
    target = Storage()

    async def bucket(request: web.Request) -> web.StreamResponse:
        target.seen_headers.append(dict(request.headers))
        response = web.StreamResponse()  # chunked: no Content-Length to trust
        await response.prepare(request)
        for _ in range(4):
            await response.write(b"x" * 1000)
        await response.write_eof()
        return response

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{target.bucket_url}/bucket/{request.match_info['name']}")

    runners = []
    for route, handler in (("/bucket/{name}", bucket), ("/file-upload/{id}/{name}", redirect)):
        app = web.Application()
        app.router.add_get(route, handler)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
    target.bucket_url = f"http://127.0.0.1:{runners[0].addresses[0][1]}"
    target.chat_url = f"http://127.0.0.1:{runners[1].addresses[0][1]}"
    yield target
    for runner in runners:
        await runner.cleanup()


async def test_download_follows_a_store_redirect_without_the_token(storage: Storage) -> None:
    async with RocketChatTransport(storage.chat_url, "bot-id", "secret-token") as transport:
        assert await transport.download("/file-upload/f1/a.bin") == b"x" * 4000
        with pytest.raises(FileTooLargeError):  # stops reading a stream that runs over
            await transport.download("/file-upload/f1/a.bin", max_bytes=2500)
    assert all("X-Auth-Token" not in headers for headers in storage.seen_headers)
