"""Checks that FakeRocketChat behaves as /work/shared/ROCKETCHAT.md says Rocket.Chat does,
over real HTTP on loopback (section numbers refer to ROCKETCHAT.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDictProxy

from tests.fakes.rocketchat import FakeFile, FakeRocketChat, FakeRoom, FakeUser

JsonObj = dict[str, object]


class ManualClock:
    """Epoch seconds that move only when the test says so."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Receiver:
    """A tiny webhook endpoint: answers from `replies` (the last one repeats), records bodies."""

    replies: list[web.Response]
    bodies: list[JsonObj] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        self.headers.append(dict(request.headers))
        reply = self.replies[min(len(self.bodies), len(self.replies)) - 1]
        return web.Response(
            status=reply.status, body=reply.body, headers={"Content-Type": reply.content_type}
        )


@dataclass
class World:
    rc: FakeRocketChat
    http: aiohttp.ClientSession
    clock: ManualClock
    delays: list[float]
    alice: FakeUser
    sales: FakeRoom

    def api(self, route: str) -> str:
        return f"{self.rc.url}/api/v1/{route}"


@pytest.fixture
async def world() -> AsyncIterator[World]:
    clock, delays = ManualClock(), []

    async def no_sleep(seconds: float) -> None:  # retries must not wait for real
        delays.append(seconds)

    async with (
        FakeRocketChat(clock=clock, webhook_sleep=no_sleep) as rc,
        aiohttp.ClientSession() as http,
    ):
        alice = rc.add_user("alice", name="Alice", email="alice@example.com", password="pw")
        sales = rc.add_room("sales", members=[rc.bot, alice])
        yield World(rc, http, clock, delays, alice, sales)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    target = Receiver(replies=[web.json_response({})])
    app = web.Application()
    app.router.add_post("/hook", target.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    target.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield target
    await runner.cleanup()


async def call(
    w: World,
    method: str,
    route: str,
    user: FakeUser | None,
    body: Mapping[str, object] | None = None,
) -> tuple[int, JsonObj, CIMultiDictProxy[str]]:
    headers = user.auth_headers if user else {}
    async with w.http.request(method, w.api(route), json=body, headers=headers) as resp:
        return resp.status, await resp.json(), resp.headers


# -- messages ------------------------------------------------------------------------------


async def test_send_then_get_message_keeps_client_id(world: World) -> None:
    msg = {"_id": "notif-000001", "rid": world.sales.id, "msg": "PO #42 created", "tmid": "p1"}
    status, body, headers = await call(
        world, "POST", "chat.sendMessage", world.rc.bot, {"message": msg}
    )
    # §2.4: a client-chosen _id is kept; 200 {message, success:true}
    assert status == 200
    assert body["success"] is True
    sent = body["message"]
    assert isinstance(sent, dict)
    assert (sent["_id"], sent["rid"], sent["msg"], sent["tmid"]) == (
        "notif-000001",
        world.sales.id,
        "PO #42 created",
        "p1",
    )
    assert sent["u"] == {"_id": world.rc.bot.id, "username": "crmbot", "name": "CRM Bot"}
    assert str(sent["ts"]).endswith("Z")  # §2.4: REST dates are ISO strings
    # §2.2: JSON responses carry these three headers
    assert headers["Content-Type"] == "application/json"
    assert (headers["Cache-Control"], headers["Pragma"]) == ("no-store", "no-cache")
    status, body, _ = await call(world, "GET", "chat.getMessage?msgId=notif-000001", world.rc.bot)
    assert status == 200
    assert body == {"message": sent, "success": True}  # §2.4 chat.getMessage
    recorded = world.rc.room_messages(world.sales)
    assert [(m.id, m.msg, m.tmid, m.user) for m in recorded] == [
        ("notif-000001", "PO #42 created", "p1", world.rc.bot)
    ]


async def test_duplicate_id_is_rejected_and_not_stored(world: World) -> None:
    msg = {"_id": "notif-1", "rid": world.sales.id, "msg": "once"}
    await call(world, "POST", "chat.sendMessage", world.rc.bot, {"message": msg})
    again = {"message": {**msg, "msg": "twice"}}
    status, body, _ = await call(world, "POST", "chat.sendMessage", world.rc.bot, again)
    # §2.4 duplicate _id: no insert, 400 with the TypeError text and no errorType
    assert status == 400
    assert body == {
        "success": False,
        "error": "Cannot read properties of undefined (reading 'starred')",
    }
    assert world.rc.texts(world.sales) == ["once"]


async def test_get_unknown_message_is_bare_failure(world: World) -> None:
    status, body, _ = await call(world, "GET", "chat.getMessage?msgId=nope", world.rc.bot)
    assert (status, body) == (400, {"success": False})  # §2.4 chat.getMessage


async def test_send_message_validation(world: World) -> None:
    status, body, _ = await call(
        world, "POST", "chat.sendMessage", world.rc.bot, {"message": {"msg": "x"}}
    )
    # §2.4: missing rid is a plain Error, so no errorType
    assert (status, body) == (
        400,
        {"success": False, "error": "The 'rid' property on the message object is missing."},
    )
    extra = {"message": {"rid": world.sales.id, "msg": "hi"}, "extra": 1}
    status, body, _ = await call(world, "POST", "chat.sendMessage", world.rc.bot, extra)
    # §2.2/§7: typed-route ajv failure, errorType invalid-params, no " [invalid-params]" suffix
    assert status == 400
    assert body["errorType"] == "invalid-params"
    assert "must NOT have additional properties" in str(body["error"])
    assert not str(body["error"]).endswith("[invalid-params]")


async def test_post_message_rejects_id_and_answers_numeric_ts(world: World) -> None:
    bad = {"roomId": world.sales.id, "_id": "client-chosen-id", "text": "hi"}
    status, body, _ = await call(world, "POST", "chat.postMessage", world.rc.bot, bad)
    assert (status, body["errorType"]) == (400, "invalid-params")  # §2.4: no _id on postMessage
    status, body, _ = await call(
        world, "POST", "chat.postMessage", world.rc.bot, {"channel": "#sales", "text": "hi"}
    )
    # §2.4: 200 {ts:<epoch ms number>, channel:"<as given>", message, success:true}
    assert status == 200
    assert body["ts"] == int(world.clock.now * 1000)
    assert (body["channel"], body["success"]) == ("#sales", True)
    assert world.rc.texts(world.sales) == ["hi"]


# -- auth ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-User-Id": "nobody", "X-Auth-Token": "x"}, {"X-Auth-Token": "only-a-token"}],
)
async def test_missing_or_bad_auth_is_401(world: World, headers: dict[str, str]) -> None:
    async with world.http.get(world.api("me"), headers=headers) as resp:
        # §2.1: 401 {success:false, error:"You must be logged in to do this."} (8.x)
        assert resp.status == 401
        assert await resp.json() == {"success": False, "error": "You must be logged in to do this."}


async def test_me_and_login(world: World) -> None:
    status, body, _ = await call(world, "GET", "me", world.rc.bot)
    assert (status, body["_id"], body["username"], body["success"]) == (
        200,
        world.rc.bot.id,
        "crmbot",
        True,
    )
    assert body["roles"] == ["user", "bot"]
    status, body, _ = await call(world, "POST", "login", None, {"user": "alice", "password": "pw"})
    # §2.1 login: both status:"success" and success:true
    assert (status, body["status"], body["success"]) == (200, "success", True)
    data = body["data"]
    assert isinstance(data, dict)
    assert data["userId"] == world.alice.id
    session = {"X-User-Id": str(data["userId"]), "X-Auth-Token": str(data["authToken"])}
    async with world.http.get(world.api("me"), headers=session) as resp:
        assert resp.status == 200
    status, body, _ = await call(world, "POST", "login", None, {"user": "alice", "password": "no"})
    assert (status, body) == (401, {"success": False, "error": "unauthorized"})


# -- rate limiting -------------------------------------------------------------------------


async def test_rate_limit_429_headers_and_reset_by_clock(world: World) -> None:
    world.rc.set_rate_limit(2, 60_000, route="/api/v1/me")
    now_ms = int(world.clock.now * 1000)
    for remaining in ("1", "0"):
        status, _, headers = await call(world, "GET", "me", world.alice)
        assert status == 200
        # §2.3: headers on every checked response; Reset is an absolute epoch in ms
        assert headers["X-RateLimit-Limit"] == "2"
        assert headers["X-RateLimit-Remaining"] == remaining
        assert headers["X-RateLimit-Reset"] == str(now_ms + 60_000)
    world.clock.now += 1
    status, body, headers = await call(world, "GET", "me", world.alice)
    # §2.3: 429, the documented text with the wait in seconds, no errorType, no Retry-After
    assert status == 429
    assert body == {
        "success": False,
        "error": "Error, too many requests. Please slow down. You must wait 59 seconds "
        "before trying this endpoint again. [error-too-many-requests]",
    }
    assert headers["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in headers
    world.clock.now += 59  # the window ends: no real waiting
    status, _, headers = await call(world, "GET", "me", world.alice)
    assert (status, headers["X-RateLimit-Remaining"]) == (200, "1")


async def test_bot_role_bypasses_rate_limit(world: World) -> None:
    world.rc.set_rate_limit(1, 60_000)
    for _ in range(3):
        status, _, headers = await call(world, "GET", "me", world.rc.bot)
        assert status == 200  # §2.3: roles admin/bot/app hold api-bypass-rate-limit
        assert "X-RateLimit-Limit" not in headers


# -- fault knobs ---------------------------------------------------------------------------


async def test_fail_next_uses_documented_error_bodies(world: World) -> None:
    world.rc.fail_next(1, status=503)
    world.rc.fail_next(1, status=500, path="/api/v1/me")
    status, body, _ = await call(world, "GET", "me", world.rc.bot)
    assert (status, body) == (503, {"success": False, "error": "Service Unavailable"})  # §2.2
    status, body, _ = await call(world, "GET", "me", world.rc.bot)
    assert (status, body) == (500, {"success": False, "error": "Internal server error"})  # §2.2
    status, _, _ = await call(world, "GET", "me", world.rc.bot)
    assert status == 200  # only n requests fail
    assert [r.fault for r in world.rc.requests] == ["fail-before", "fail-before", None]


async def test_fail_after_stores_the_message_but_loses_the_answer(world: World) -> None:
    # The ambiguous case behind §2.4's exactly-once recipe: sent, but the client saw a 500.
    world.rc.fail_next(1, status=500, path="/api/v1/chat.sendMessage", when="after")
    msg = {"message": {"_id": "n-7", "rid": world.sales.id, "msg": "hello"}}
    status, _, _ = await call(world, "POST", "chat.sendMessage", world.rc.bot, msg)
    assert status == 500
    status, body, _ = await call(world, "GET", "chat.getMessage?msgId=n-7", world.rc.bot)
    assert (status, body["success"]) == (200, True)  # §2.4 recipe: found → delivered
    status, _, _ = await call(world, "POST", "chat.sendMessage", world.rc.bot, msg)
    assert status == 400  # a blind resend is the duplicate-_id error
    assert world.rc.texts(world.sales) == ["hello"]


async def test_close_next_drops_the_connection(world: World) -> None:
    # A POST: aiohttp silently retries an idempotent GET once on a dropped connection.
    world.rc.close_next(1, path="/api/v1/chat.sendMessage", when="after")
    msg = {"message": {"_id": "n-2", "rid": world.sales.id, "msg": "hi"}}
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(world, "POST", "chat.sendMessage", world.rc.bot, msg)
    assert world.rc.texts(world.sales) == ["hi"]  # stored; only the answer was lost
    world.rc.close_next(1)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(world, "POST", "chat.sendMessage", world.rc.bot, msg)
    assert [r.status for r in world.rc.requests] == [None, None]


async def test_hang_next_waits_until_released(world: World) -> None:
    world.rc.hang_next(1)
    pending = asyncio.create_task(call(world, "GET", "me", world.rc.bot))
    await world.rc.wait_for_hung(1)
    assert not pending.done()
    world.rc.release_hung()
    status, body, _ = await pending
    assert (status, body["username"]) == (200, "crmbot")


async def test_hung_request_is_dropped_when_the_fake_closes() -> None:
    async with FakeRocketChat() as rc, aiohttp.ClientSession() as http:
        room = rc.add_room("sales", members=[rc.bot])
        rc.hang_next(1, when="after")
        body = {"message": {"rid": room.id, "msg": "hi"}}
        request = http.post(
            f"{rc.url}/api/v1/chat.sendMessage", json=body, headers=rc.bot.auth_headers
        )
        pending = asyncio.create_task(request.__aenter__())
        await rc.wait_for_hung(1)
        await rc.close()
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await pending


async def test_proxy_outage_serves_html_503(world: World) -> None:
    headers = world.rc.bot.auth_headers
    async with world.rc.outage(), world.http.get(world.api("me"), headers=headers) as resp:
        # Not Rocket.Chat JSON: the proxy's page (§6: rocketchat-API's bad-status case)
        assert resp.status == 503
        assert resp.content_type == "text/html"
        assert "503 Service Unavailable" in await resp.text()
    status, _, _ = await call(world, "GET", "me", world.rc.bot)
    assert status == 200


async def test_refused_outage_refuses_connections(world: World) -> None:
    await call(world, "GET", "me", world.rc.bot)  # leaves a keep-alive connection open
    async with world.rc.outage("refused"):
        with pytest.raises(aiohttp.ClientConnectionError):
            await call(world, "GET", "me", world.rc.bot)
    status, _, _ = await call(world, "GET", "me", world.rc.bot)
    assert status == 200


# -- files ---------------------------------------------------------------------------------


async def test_user_file_message_shape(world: World) -> None:
    pdf = FakeFile("factura 7.pdf", b"%PDF-1.4 ...", "application/pdf", description="Invoice")
    emitted = await world.rc.emit_message(world.sales, world.alice, "see attached", file=pdf)
    status, body, _ = await call(
        world, "GET", f"chat.getMessage?msgId={emitted.message.id}", world.rc.bot
    )
    message = body["message"]
    assert isinstance(message, dict)
    # §5: caption in msg, file = files[0], one type:'file' attachment with a relative link
    file_id = world.rc.uploads[0].id
    entry = {
        "_id": file_id,
        "name": "factura 7.pdf",
        "type": "application/pdf",
        "size": 12,
        "format": "",
        "typeGroup": "application",
    }
    assert (status, message["msg"], message["groupable"]) == (200, "see attached", False)
    assert (message["file"], message["files"]) == (entry, [entry])
    link = f"/file-upload/{file_id}/factura%207.pdf"
    assert message["attachments"] == [
        {
            "title": "factura 7.pdf",
            "type": "file",
            "description": "Invoice",
            "title_link": link,
            "title_link_download": True,
            "fileId": file_id,
            "format": "pdf",
            "size": 12,
        }
    ]


async def test_file_download_needs_auth(world: World) -> None:
    pdf = FakeFile("factura 7.pdf", b"%PDF-1.4 ...", "application/pdf")
    emitted = await world.rc.emit_message(world.sales, world.alice, file=pdf)
    assert emitted.message.attachments is not None
    url = world.rc.url + str(emitted.message.attachments[0]["title_link"])
    async with world.http.get(url) as resp:
        assert (resp.status, await resp.read()) == (403, b"")  # §5: 403, empty body
    bot = world.rc.bot
    cookie = {"Cookie": f"rc_uid={bot.id}; rc_token={bot.token}"}
    query = {"rc_uid": bot.id, "rc_token": bot.token}
    for headers, params in ((bot.auth_headers, {}), ({}, query), (cookie, {})):
        async with world.http.get(url, headers=headers, params=params) as resp:
            # §5: headers, rc_uid/rc_token query or cookies; CSP and a long cache
            assert (resp.status, await resp.read()) == (200, b"%PDF-1.4 ...")
            assert resp.headers["Content-Type"] == "application/pdf"
            assert resp.headers["Content-Security-Policy"] == "default-src 'none'"
            assert resp.headers["Cache-Control"] == "max-age=31536000"
    async with world.http.get(
        f"{world.rc.url}/file-upload/nope/x.pdf", headers=bot.auth_headers
    ) as resp:
        assert resp.status == 404  # §5: unknown file
    outsider = world.rc.add_user("mallory")
    async with world.http.get(url, headers=outsider.auth_headers) as resp:
        assert resp.status == 403  # §5: FileUpload_Restrict_to_room_members


async def upload(
    w: World, user: FakeUser, room_id: str, name: str, data: bytes, mime: str
) -> tuple[int, JsonObj]:
    form = aiohttp.FormData(quote_fields=False)  # else aiohttp sends "PO%2042.png" as the name
    form.add_field("file", data, filename=name, content_type=mime)
    form.add_field("msg", "ignored")  # §2.4: msg/description on rooms.media are ignored
    async with w.http.post(
        w.api(f"rooms.media/{room_id}"), data=form, headers=user.auth_headers
    ) as resp:
        return resp.status, await resp.json()


async def test_rooms_media_then_confirm_makes_a_file_message(world: World) -> None:
    status, body = await upload(
        world, world.rc.bot, world.sales.id, "PO 42.png", b"\x89PNG...", "image/png"
    )
    file = body["file"]
    assert isinstance(file, dict)
    # §2.4 rooms.media: {file:{_id, url:"/file-upload/<id>/<encoded name>"}, success:true}
    assert (status, body["success"], file["url"]) == (
        200,
        True,
        f"/file-upload/{file['_id']}/PO%2042.png",
    )
    assert world.rc.messages == []  # temporary upload: no message yet
    confirm = {"msg": "PO #42", "description": "purchase order", "tmid": "t1"}
    status, body, _ = await call(
        world, "POST", f"rooms.mediaConfirm/{world.sales.id}/{file['_id']}", world.rc.bot, confirm
    )
    message = body["message"]
    assert isinstance(message, dict)
    assert (status, message["msg"], message["tmid"]) == (200, "PO #42", "t1")
    files = message["files"]
    assert isinstance(files, list)
    # §5: an image gets a thumb-<name> entry with typeGroup 'thumb', image_url on the thumb
    assert [(f["name"], f["typeGroup"]) for f in files] == [
        ("PO 42.png", "image"),
        ("thumb-PO 42.png", "thumb"),
    ]
    [attachment] = message["attachments"]
    assert attachment["title_link"] == f"/file-upload/{file['_id']}/PO%2042.png"
    assert attachment["description"] == "purchase order"
    assert attachment["image_url"] == f"/file-upload/{files[1]['_id']}/thumb-PO%2042.png"
    async with world.http.get(
        world.rc.url + str(file["url"]), headers=world.rc.bot.auth_headers
    ) as resp:
        assert await resp.read() == b"\x89PNG..."


async def test_rooms_media_confirm_errors(world: World) -> None:
    status, body = await upload(world, world.rc.bot, world.sales.id, "a.txt", b"a", "text/plain")
    file = body["file"]
    assert isinstance(file, dict)
    route = f"rooms.mediaConfirm/{world.sales.id}/{file['_id']}"
    status, body, _ = await call(world, "POST", route, world.rc.bot, {"msg": "x", "bogus": 1})
    assert (status, body["errorType"]) == (400, "Match.Error")  # §2.4: unknown keys → Match error
    status, body, _ = await call(world, "POST", route, world.alice, {})
    # §2.4: the upload must belong to this user → invalid-file (Meteor shape, §2.2)
    assert (status, body) == (
        400,
        {"success": False, "error": "[invalid-file]", "errorType": "invalid-file"},
    )
    private = world.rc.add_room("board", room_type="p", members=[world.alice])
    status, body = await upload(world, world.rc.bot, private.id, "a.txt", b"a", "text/plain")
    assert (status, body) == (403, {"success": False, "error": "forbidden"})  # §2.4 no access
    async with world.http.post(
        world.api(f"rooms.media/{world.sales.id}"), data=b"", headers=world.rc.bot.auth_headers
    ) as resp:
        assert (resp.status, (await resp.json())["errorType"]) == (400, "error-no-file-uploaded")


# -- outgoing webhooks ---------------------------------------------------------------------

SEND_MESSAGE_FIELDS = {
    "token",
    "bot",
    "channel_id",
    "channel_name",
    "message_id",
    "timestamp",
    "user_id",
    "user_name",
    "text",
    "siteUrl",
}


async def test_emitter_sends_the_exact_send_message_body(world: World, receiver: Receiver) -> None:
    world.rc.add_outgoing_webhook(receiver.url, "tok-1")
    result = await world.rc.emit_message(world.sales, world.alice, "!po new", tmid="parent1")
    [body] = receiver.bodies
    # §1.3: exactly these fields (tmid because it is threaded; no alias, isEdited, trigger_word)
    assert set(body) == SEND_MESSAGE_FIELDS | {"tmid"}
    assert body == {
        "token": "tok-1",
        "bot": False,
        "channel_id": world.sales.id,
        "channel_name": "sales",
        "message_id": result.message.id,
        "timestamp": "2025-06-15T15:06:40.000Z",
        "user_id": world.alice.id,
        "user_name": "alice",
        "text": "!po new",
        "siteUrl": world.rc.url,
        "tmid": "parent1",
    }
    # §1.2: JSON POST with Rocket.Chat's fixed browser User-Agent, no auth header
    assert receiver.headers[0]["Content-Type"] == "application/json"
    assert receiver.headers[0]["User-Agent"].startswith("Mozilla/5.0 (X11; Linux x86_64)")
    assert "Authorization" not in receiver.headers[0]


async def test_emitter_direct_message_has_no_channel_name(world: World, receiver: Receiver) -> None:
    world.rc.add_outgoing_webhook(receiver.url, "tok")
    dm = world.rc.add_dm(world.rc.bot, world.alice)
    await world.rc.emit_message(dm, world.alice, "hola")
    assert "channel_name" not in receiver.bodies[0]  # §1.3: DMs have no name
    assert receiver.bodies[0]["channel_id"] == dm.id


async def test_emitter_file_message_fires_send_message_then_file_uploaded(
    world: World, receiver: Receiver
) -> None:
    world.rc.add_outgoing_webhook(receiver.url, "tok")
    world.rc.add_outgoing_webhook(receiver.url, "tok", event="fileUploaded")
    pdf = FakeFile("a.pdf", b"%PDF", "application/pdf")
    result = await world.rc.emit_message(world.sales, world.alice, "", file=pdf)
    first, second = receiver.bodies
    # §1.1: file messages also fire sendMessage, with no file data and text ""
    assert set(first) == SEND_MESSAGE_FIELDS
    assert first["text"] == ""
    # §1.4: fileUploaded adds user/room/message, lacks siteUrl/tmid/isEdited/trigger_word
    assert set(second) == (SEND_MESSAGE_FIELDS - {"siteUrl"}) | {"user", "room", "message"}
    message = second["message"]
    assert isinstance(message, dict)
    assert message["_id"] == result.message.id
    assert message["file"] == result.message.file
    user = second["user"]
    assert isinstance(user, dict)
    assert "services" not in user


async def test_emitter_retries_an_empty_200_body(world: World, receiver: Receiver) -> None:
    receiver.replies = [web.Response(status=200, body=b"", content_type="application/json")]
    world.rc.add_outgoing_webhook(receiver.url, "tok", retry_count=0)  # → 4 (§1.7 validation)
    result = await world.rc.emit_message(world.sales, world.alice, "hello")
    # §1.7: an empty 2xx body is a failure; up to retryCount (4) retries after the first try,
    # powers-of-ten waits 100 ms, 1 s, 10 s, 100 s; every retry resends the same payload
    assert len(receiver.bodies) == 5
    assert all(b == receiver.bodies[0] for b in receiver.bodies)
    assert world.delays == [0.1, 1, 10, 100]
    assert [a.status for a in result.attempts] == [200] * 5
    assert result.deliveries[0].outcome == "too-many-retries"


async def test_emitter_does_not_retry_a_json_200(world: World, receiver: Receiver) -> None:
    world.rc.add_outgoing_webhook(receiver.url, "tok")
    result = await world.rc.emit_message(world.sales, world.alice, "hello")
    assert len(receiver.bodies) == 1  # §1.7: 200 with a non-empty body ({}) is success
    assert (result.deliveries[0].outcome, world.delays) == ("success", [])
    assert world.rc.texts(world.sales) == ["hello"]  # §1.6: {} has no text → no reply


@pytest.mark.parametrize(
    ("status", "body", "attempts", "outcome"),
    [
        (500, b'{"error":"boom"}', 1, "not-retrying"),  # §1.7: 500 with a body
        (500, b"", 5, "too-many-retries"),  # §1.7: 500 empty → retried
        (410, b"gone", 1, "integration-disabled"),  # §1.7: 410 disables
        (204, b"", 5, "too-many-retries"),  # §1.7: 204 is a failure
        (404, b"nope", 5, "too-many-retries"),
    ],
)
async def test_emitter_retry_table(
    world: World, receiver: Receiver, status: int, body: bytes, attempts: int, outcome: str
) -> None:
    receiver.replies = [web.Response(status=status, body=body)]
    integration = world.rc.add_outgoing_webhook(receiver.url, "tok")
    result = await world.rc.emit_message(world.sales, world.alice, "hello")
    assert (len(result.attempts), result.deliveries[0].outcome) == (attempts, outcome)
    assert integration.enabled is (status != 410)


async def test_emitter_does_not_retry_a_refused_connection(world: World) -> None:
    world.rc.add_outgoing_webhook("http://127.0.0.1:9/hook", "tok")  # nothing listens there
    result = await world.rc.emit_message(world.sales, world.alice, "hello")
    [attempt] = result.attempts  # §1.7: network error → logged only, no retry
    assert attempt.status is None
    assert attempt.error
    assert result.deliveries[0].outcome == "http-error"


async def test_emitter_posts_a_json_reply_as_the_integration(
    world: World, receiver: Receiver
) -> None:
    receiver.replies = [web.json_response({"text": "pong", "tmid": "t9"})]
    integration = world.rc.add_outgoing_webhook(
        receiver.url, "tok", channels=["#sales"], trigger_words=["!ping"]
    )
    await world.rc.emit_message(world.sales, world.alice, "ping")  # no trigger word → not sent
    result = await world.rc.emit_message(world.sales, world.alice, "!ping now")
    assert receiver.bodies[0]["trigger_word"] == "!ping"  # §1.5: case-sensitive prefix
    [reply] = result.deliveries[0].replies
    # §1.6: posted as the integration's user, bot:{i}, tmid echoed, in the same room
    assert (reply.user, reply.bot, reply.tmid, reply.rid) == (
        world.rc.bot,
        {"i": integration.id},
        "t9",
        world.sales.id,
    )
    assert world.rc.texts(world.sales) == ["ping", "!ping now", "pong"]
    await world.rc.webhooks_idle()  # the reply itself does not start with !ping: no echo
    assert len(receiver.bodies) == 1


async def test_bot_rest_messages_reach_the_webhook_without_self_filter(
    world: World, receiver: Receiver
) -> None:
    world.rc.add_outgoing_webhook(receiver.url, "tok")
    msg = {"message": {"_id": "n-1", "rid": world.sales.id, "msg": "from the bot"}}
    await call(world, "POST", "chat.sendMessage", world.rc.bot, msg)
    await world.rc.webhooks_idle()
    # §1.5: no self-filter; REST posts carry no bot field, so bot is false
    [body] = receiver.bodies
    assert (body["user_id"], body["bot"], body["message_id"]) == (world.rc.bot.id, False, "n-1")


async def test_edits_fire_only_with_run_on_edits(world: World, receiver: Receiver) -> None:
    world.rc.add_outgoing_webhook(receiver.url, "tok")
    world.rc.add_outgoing_webhook(receiver.url, "tok2", run_on_edits=True)
    sent = await world.rc.emit_message(world.sales, world.alice, "draft")
    await world.rc.emit_edit(sent.message.id, "final")
    # §1.5: edits only reach runOnEdits integrations, with isEdited:true (§1.3)
    assert [(b["token"], b["text"], b.get("isEdited")) for b in receiver.bodies] == [
        ("tok", "draft", None),
        ("tok2", "draft", None),
        ("tok2", "final", True),
    ]


async def test_channel_selection(world: World, receiver: Receiver) -> None:
    private = world.rc.add_room("board", room_type="p", members=[world.alice])
    world.rc.add_outgoing_webhook(receiver.url, "tok", channels=[])  # empty → public only
    await world.rc.emit_message(private, world.alice, "secret")
    await world.rc.emit_message(world.sales, world.alice, "public")
    assert [b["text"] for b in receiver.bodies] == ["public"]  # §1.5
