"""The notifier over a real database and FakeRocketChat: outages, order per room, dead letters,
back-off between passes, metrics, and two notifiers on one PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from bot.bootstrap import build_chat
from bot.chat import ChatUser, Incoming, Outgoing, Param, RoomRef, encode_params
from bot.commands.base import ChatConfig
from bot.notifier import Notifier
from bot.storage import Store
from bot.transport.rocketchat import RocketChatTransport, TransportError
from store import outbox as outbox_module
from store.db import create_engine, session_factory
from store.models import ChatChannel, Outbox
from store.outbox import OutboxItem, claim_pending, depth, enqueue, is_dead, oldest_age
from store.services.contacts import ContactData, upsert_contact
from tests.databases import TestDatabase
from tests.fakes.rocketchat import FakeRocketChat

ROOMS = ("room-a", "room-b", "room-c")
SEND = "/api/v1/chat.sendMessage"


def render(key: str, params: Mapping[str, Param], locale: str) -> str:
    return str(params["text"])


async def no_wait(seconds: float) -> None:
    """The transport's own back-off, instantly (its waits are tested with the transport)."""


async def queue(store: Store, replies: list[tuple[str, str]]) -> list[str]:
    """Queue (room, text) replies as the inbox would; returns their message ids."""
    items = [
        OutboxItem(room, "echo", encode_params({"text": text}), "es") for room, text in replies
    ]
    async with store.sessions.begin() as session:
        return await enqueue(session, items)


async def rows(store: Store) -> list[Outbox]:
    async with store.sessions() as session:
        return list(await session.scalars(select(Outbox).order_by(Outbox.seq)))


async def backlog(store: Store) -> int:
    async with store.sessions() as session:
        return await depth(session)


def burst(n: int, rooms: tuple[str, ...] = ROOMS, start: int = 0) -> list[tuple[str, str]]:
    """``n`` replies per room, interleaved across the rooms as a busy bot would queue them."""
    return [(room, f"{room} #{i}") for i in range(start, start + n) for room in rooms]


def expected(room: str, n: int) -> list[str]:
    return [f"{room} #{i}" for i in range(n)]


@pytest.fixture
async def rc() -> AsyncIterator[FakeRocketChat]:
    async with FakeRocketChat() as server:
        for room in ROOMS:
            server.add_room(room, room_type="p", members=[server.bot], room_id=room)
        yield server


@pytest.fixture
async def transport(rc: FakeRocketChat) -> AsyncIterator[RocketChatTransport]:
    async with RocketChatTransport(rc.url, rc.bot.id, rc.bot.token, sleep=no_wait) as client:
        yield client


@pytest.fixture
def notifier(store: Store, transport: RocketChatTransport) -> Notifier:
    return Notifier(store.sessions, transport, render, batch=10)


def sends(rc: FakeRocketChat) -> list[int | None]:
    return [r.status for r in rc.requests if r.path == SEND]


# -- outages -------------------------------------------------------------------------------


async def test_outage_during_a_burst_loses_nothing_and_posts_once_in_order(
    store: Store, rc: FakeRocketChat, notifier: Notifier
) -> None:
    ids = await queue(store, burst(3))
    assert await notifier.drain() == 9
    ids += await queue(store, burst(7, start=3))  # 30 replies in all
    async with rc.outage():
        failed = await notifier.run_pass()
        assert (failed.sent, failed.failed) == (0, 3)  # one try per room, then it stopped
    assert await backlog(store) == 21
    assert [row.attempts for row in await rows(store)][9:15] == [1, 1, 1, 0, 0, 0]
    # Back from the outage, the first answer is lost although the message was stored.
    rc.fail_next(1, status=500, path=SEND, when="after")
    assert await notifier.drain() == 21
    for room in ROOMS:
        assert rc.texts(room) == expected(room, 10)
    assert sorted(m.id for m in rc.messages) == sorted(ids)  # each of ours, none twice
    assert await backlog(store) == 0


@dataclass
class HeldSleep:
    """The notifier's sleep between passes: records each wait; the ``hold_at``-th never ends."""

    hold_at: int
    delays: list[float] = field(default_factory=list)
    held: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if len(self.delays) >= self.hold_at:
            self.held.set()
            await asyncio.Event().wait()  # until the test stops the notifier


async def test_failing_passes_back_off(
    store: Store, rc: FakeRocketChat, transport: RocketChatTransport
) -> None:
    pause = HeldSleep(hold_at=4)
    notifier = Notifier(store.sessions, transport, render, sleep=pause, poll_seconds=3600)
    await queue(store, burst(2))
    async with rc.outage("refused"):
        notifier.start()
        notifier.wake()
        await pause.held.wait()
        tries = len(sends(rc))
    await notifier.stop()
    assert pause.delays == [1.0, 2.0, 4.0, 8.0]  # no hot loop: each wait twice the last
    assert tries == 0  # refused: nothing ever reached the server
    assert notifier.failures == 4 * 3
    assert await notifier.drain() == 6
    assert all(rc.texts(room) == expected(room, 2) for room in ROOMS)


async def test_an_outage_during_a_conversation(
    store: Store, rc: FakeRocketChat, transport: RocketChatTransport
) -> None:
    async with store.sessions.begin() as session:
        ana, _ = await upsert_contact(session, ContactData("Ana", "Gil", email="ana@example.com"))
        session.add(ChatChannel(contact_id=ana.id, room_id="room-a", room_name="room-a"))
    app = build_chat(store, transport, ChatConfig(), locale="es", fixed_role="admin")
    lines = ["agregar compra", "1", "2", "cancelar", "ayuda"]
    app.start()
    try:
        async with rc.outage():
            for n, text in enumerate(lines):
                for room in ("room-a", "room-b"):
                    user = ChatUser("u-ana", "ana")
                    where = RoomRef(room, room, "d")
                    await app.inbox.submit(Incoming(f"{room}-{n}", where, user, text))
            assert await app.notifier.drain() == 0
        assert await app.notifier.drain() > 0
    finally:
        await app.stop()
    queued = await rows(store)
    assert len(queued) >= 2 * len(lines)
    for room in ("room-a", "room-b"):  # every reply, in the order it was queued, once
        assert [m.id for m in rc.room_messages(room)] == [
            row.msg_id for row in queued if row.room_id == room
        ]


async def test_stopping_mid_send_hands_the_batch_back_at_once(
    store: Store, rc: FakeRocketChat, notifier: Notifier
) -> None:
    await queue(store, [("room-a", "uno")])
    assert await notifier.drain() == 1
    await queue(store, [("room-a", "dos"), ("room-a", "tres")])
    rc.hang_next(1, path=SEND, when="after")  # stored, but the answer never comes
    notifier.start()
    notifier.wake()
    await rc.wait_for_hung(1)
    await notifier.stop()
    state = [(row.sent_at is None, row.claimed_by, row.attempts) for row in await rows(store)]
    assert state == [(False, notifier.worker, 0), (True, None, 0), (True, None, 0)]
    assert await notifier.drain() == 2  # no waiting for the claim to expire
    assert rc.texts("room-a") == ["uno", "dos", "tres"]


# -- order and dead letters ----------------------------------------------------------------


@dataclass
class SickRoom:
    """The real transport, except that one room fails until it is healed."""

    inner: RocketChatTransport
    room: str
    healed: bool = False
    tries: int = 0

    async def send(self, message: Outgoing) -> None:
        if message.room_id == self.room and not self.healed:
            self.tries += 1
            raise TransportError("HTTP 500: Internal server error")
        await self.inner.send(message)


async def test_a_failing_room_waits_while_the_others_go_on(
    store: Store, rc: FakeRocketChat, transport: RocketChatTransport
) -> None:
    sick = SickRoom(transport, "room-a")
    notifier = Notifier(store.sessions, sick, render, batch=4)
    await queue(store, burst(3))
    result = await notifier.run_pass()
    assert (result.sent, result.failed, sick.tries) == (6, 1, 1)
    assert rc.texts("room-a") == []
    assert rc.texts("room-b") == expected("room-b", 3)
    assert rc.texts("room-c") == expected("room-c", 3)
    room_a = [row for row in await rows(store) if row.room_id == "room-a"]
    assert [(row.attempts, row.claimed_by) for row in room_a] == [(1, None), (0, None), (0, None)]
    assert room_a[0].last_error == "HTTP 500: Internal server error"
    sick.healed = True
    assert await notifier.drain() == 3
    assert rc.texts("room-a") == expected("room-a", 3)


async def test_a_refused_message_is_dead_lettered_and_its_room_goes_on(
    store: Store, rc: FakeRocketChat, notifier: Notifier
) -> None:
    too_long = "x" * 6000  # over Message_MaxAllowedSize: refused for good (§2.4)
    await queue(store, [("room-a", "uno"), ("room-a", too_long), ("room-a", "tres")])
    result = await notifier.run_pass()
    assert (result.sent, result.dead, result.failed) == (2, 1, 0)
    assert rc.texts("room-a") == ["uno", "tres"]
    dead = (await rows(store))[1]
    assert is_dead(dead)
    assert dead.last_error.startswith("dead: HTTP 400: Message size exceeds")
    assert await backlog(store) == 0
    assert notifier.dead == 1


async def test_a_claimed_room_is_kept_to_its_worker(store: Store) -> None:
    await queue(store, burst(2, rooms=("room-a", "room-b")))
    async with store.sessions.begin() as session:
        first = await claim_pending(session, "w1", 1)
    async with store.sessions.begin() as session:
        second = await claim_pending(session, "w2", 10)
    assert [(r.room_id, r.seq) for r in first] == [("room-a", 1)]
    # room-a's next row must wait for w1: taking it would let it overtake the first.
    assert [(r.room_id, r.seq) for r in second] == [("room-b", 2), ("room-b", 4)]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=61)
    async with store.sessions.begin() as session:
        expired = await claim_pending(session, "w3", 10, now=later)
    assert [(r.room_id, r.seq) for r in expired] == [
        ("room-a", 1),
        ("room-b", 2),
        ("room-a", 3),
        ("room-b", 4),
    ]


async def test_a_claim_returns_what_was_queued_and_records_the_claim(store: Store) -> None:
    items = [
        OutboxItem("room-a", "echo", encode_params({"text": "uno"}), "es", thread_id="t-1"),
        OutboxItem("room-b", "help", encode_params({}), "en"),
        OutboxItem("room-c", "echo", encode_params({"text": "tres"}), "es"),
        OutboxItem("room-a", "echo", encode_params({"text": "cuatro"}), "es"),
    ]
    async with store.sessions.begin() as session:
        ids = await enqueue(session, items)
    now = dt.datetime.now(dt.UTC)
    async with store.sessions.begin() as session:
        claimed = await claim_pending(
            session, "w1", 10, now=now, exclude_rooms={"room-b"}, claim_seconds=30
        )
    # room-b was left out; the rest in queue order, each as it was queued.
    assert [
        (r.seq, r.msg_id, r.room_id, r.thread_id, r.key, r.params, r.locale, r.attempts)
        for r in claimed
    ] == [
        (n + 1, ids[n], item.room_id, item.thread_id, item.key, item.params, item.locale, 0)
        for n, item in enumerate(items)
        if item.room_id != "room-b"
    ]
    state = [(row.claimed_by, row.claimed_until) for row in await rows(store)]
    until = now + dt.timedelta(seconds=30)
    assert state == [("w1", until), (None, None), ("w1", until), ("w1", until)]


# -- metrics -------------------------------------------------------------------------------


async def test_depth_and_oldest_age(store: Store, notifier: Notifier) -> None:
    async with store.sessions() as session:
        assert (await depth(session), await oldest_age(session)) == (0, 0.0)
    await queue(store, [("room-a", "uno"), ("room-b", "dos")])
    created = (await rows(store))[0].created_at
    async with store.sessions() as session:
        assert await depth(session) == 2
        age = await oldest_age(session, now=created + dt.timedelta(seconds=5))
    assert age == pytest.approx(5.0)
    await notifier.drain()
    async with store.sessions() as session:
        assert (await depth(session), await oldest_age(session)) == (0, 0.0)


# -- several processes ---------------------------------------------------------------------


async def test_two_notifiers_on_postgresql_send_each_row_once(
    database: TestDatabase, store: Store, rc: FakeRocketChat
) -> None:
    if database.kind != "postgresql":
        pytest.skip("SKIP LOCKED claims across processes are a PostgreSQL matter")
    rooms = tuple(f"room-{n}" for n in range(12))
    for room in rooms:
        rc.add_room(room, room_type="p", members=[rc.bot], room_id=room)
    ids = await queue(store, burst(10, rooms=rooms))
    other_engine = create_engine(database.url)  # the second process has its own pool
    try:
        async with (
            RocketChatTransport(rc.url, rc.bot.id, rc.bot.token) as one,
            RocketChatTransport(rc.url, rc.bot.id, rc.bot.token) as two,
        ):
            first = Notifier(store.sessions, one, render, batch=5)
            second = Notifier(session_factory(other_engine), two, render, batch=5)
            for _ in range(50):
                await asyncio.gather(first.drain(), second.drain())
                if await backlog(store) == 0:
                    break
    finally:
        await other_engine.dispose()
    assert await backlog(store) == 0
    assert sends(rc) == [200] * len(ids)  # not one second attempt at any row
    assert first.sent + second.sent == len(ids)
    assert first.sent > 0
    assert second.sent > 0
    for room in rooms:
        assert rc.texts(room) == expected(room, 10)


@dataclass
class HeldRoomTransport:
    """Holds every send to ``held`` until released; records the others as they go out."""

    held: str
    release: asyncio.Event = field(default_factory=asyncio.Event)
    sent: list[Outgoing] = field(default_factory=list)
    other_sent: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, message: Outgoing) -> None:
        if message.room_id == self.held:
            await self.release.wait()
        else:
            self.other_sent.set()
        self.sent.append(message)


async def test_a_slow_room_does_not_hold_up_the_other_rooms(store: Store) -> None:
    await queue(store, burst(2))
    transport = HeldRoomTransport(held="room-a")
    notifier = Notifier(store.sessions, transport, render)
    delivering = asyncio.create_task(notifier.drain())
    async with asyncio.timeout(10):  # a guard: room-a's first reply is still in flight
        await transport.other_sent.wait()
    assert not delivering.done()
    transport.release.set()
    async with asyncio.timeout(10):
        assert await delivering == 6
    for room in ROOMS:
        assert [m.text for m in transport.sent if m.room_id == room] == expected(room, 2)


async def test_a_claim_looks_up_earlier_rows_through_the_unsent_index(
    store: Store, database: TestDatabase
) -> None:
    """The room check must not walk each room's sent history (migration 0005)."""
    if database.kind != "sqlite":
        pytest.skip("SQLite's plan is fixed by its schema; PostgreSQL's depends on statistics")
    statement = outbox_module._CLAIM[False, False]
    async with store.engine.connect() as connection:
        compiled = statement.compile(dialect=connection.dialect)
        names = compiled.positiontup or []
        values = tuple(10 if name == "limit" else "x" for name in names)  # only the plan matters
        result = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), values)
        plan = " ".join(str(row[-1]) for row in result)
    assert "ix_outbox_room_unsent" in plan
