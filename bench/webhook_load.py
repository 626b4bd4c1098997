"""The webhook load generator: Rocket.Chat's outgoing-webhook POSTs, and the replies it gets.

Bodies are built by the fake Rocket.Chat's own ``sendMessage`` body builder (ROCKETCHAT.md
§1.3: token, bot, channel_id, message_id, timestamp, user_id, user_name, text, siteUrl;
DMs have no channel_name) with its User-Agent, each with a new message id. A participant
has at most one message in flight, as Rocket.Chat delivers one user's messages in the
order they were typed; the next is sent only once the previous one is acknowledged, so a
dialog's steps arrive in order. Replies are counted where they land: in the fake, per
room, in the order they were posted (the notifier keeps each room's order).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

from tests.fakes.rocketchat import FakeRocketChat, OutgoingIntegration, StoredMessage
from tests.fakes.rocketchat_model import FakeRoom, FakeUser
from tests.fakes.rocketchat_state import Event
from tests.fakes.rocketchat_webhooks import USER_AGENT, send_message_body

WEBHOOK_PATH = "/webhooks/rocketchat"
ACK = b"{}"
# An open-loop send later than this behind its schedule means the generator, not the
# server, could not keep the rate: it is counted so the report can say so.
LATE_SECONDS = 0.005


@dataclass(frozen=True, slots=True)
class Workload:
    """What participants type, and how many replies each message gets."""

    name: str
    texts: Callable[[int, int], str]  # (participant index, its message number from 0) -> text
    replies: Callable[[int], int]  # message number -> replies the bot posts for it
    opening: int  # messages each participant types before the clock starts
    markers: tuple[str, ...]  # every reply contains one of these (it is the expected answer)


@dataclass(eq=False, slots=True)
class Participant:
    """A chat user typing to the bot in their direct room (linked to a contact of theirs)."""

    index: int
    user: FakeUser
    room: FakeRoom
    sent: int = 0  # messages acknowledged so far


@dataclass(slots=True)
class Outcome:
    """What one load run measured."""

    messages: int
    started: float  # perf_counter
    wall: float
    ack_latencies: list[float] = field(default_factory=list)
    reply_latencies: list[float] = field(default_factory=list)
    late: int = 0  # open loop: sends more than LATE_SECONDS behind schedule


class ReplyTracker:
    """Counts the bot's replies as the fake stores them, and times each against its message.

    The k-th reply in a room belongs to the message whose replies it completes: a room's
    replies arrive in the order their messages were sent (the notifier keeps each room's
    order), and the final check holds the bot to the workload's number of replies.
    """

    def __init__(self, fake: FakeRocketChat) -> None:
        self._bot = fake.bot.id
        self._pending: dict[str, deque[tuple[float, int]]] = {}
        self._latencies: list[float] = []
        self.replies = 0
        self.expected = 0
        self._arrived = asyncio.Event()
        fake.state.listeners.append(self._on_saved)

    def _on_saved(self, message: StoredMessage, event: Event) -> None:
        if message.user.id != self._bot:
            return
        now = time.perf_counter()
        self.replies += 1
        pending = self._pending.get(message.rid)
        if pending:
            sent, replies = pending[0]
            if replies > 1:
                pending[0] = (sent, replies - 1)
            else:
                pending.popleft()
                self._latencies.append(now - sent)  # timed to the message's last reply
        self._arrived.set()

    def expect(self, replies: int) -> None:
        """Replies will arrive for messages sent before this tracker was timing them."""
        self.expected += replies

    def sending(self, room_id: str, at: float, replies: int) -> None:
        """A message is about to be posted in ``room_id`` at ``at`` and gets ``replies``."""
        self._pending.setdefault(room_id, deque()).append((at, replies))
        self.expected += replies

    def take_latencies(self) -> list[float]:
        """The reply latencies since the last call."""
        latencies, self._latencies = self._latencies, []
        return latencies

    async def all_in(self, stall: float) -> float:
        """Wait until every expected reply has arrived; returns when (perf_counter).

        Fails once no reply has arrived for ``stall`` seconds while some are still missing.
        """
        while self.replies < self.expected:
            self._arrived.clear()
            try:
                async with asyncio.timeout(stall):
                    await self._arrived.wait()
            except TimeoutError:
                missing = self.expected - self.replies
                raise RuntimeError(f"{missing} replies missing, none came for {stall} s") from None
        return time.perf_counter()


class LoadGenerator:
    """Posts webhook deliveries to ``url`` for ``participants``; use as ``async with``."""

    def __init__(
        self,
        fake: FakeRocketChat,
        url: str,
        token: str,
        workload: Workload,
        participants: Sequence[Participant],
        tracker: ReplyTracker | None = None,
    ) -> None:
        self._fake = fake
        self._url = url + WEBHOOK_PATH
        # Only used to build bodies: never registered, so the bot's replies are not echoed.
        self._integration = OutgoingIntegration(
            id="bench",
            event="sendMessage",
            urls=[self._url],
            token=token,
            username=fake.bot.username,
            channels=["all_direct_messages"],
        )
        self._workload = workload
        self._participants = participants
        self._tracker = tracker
        self._ids = itertools.count(1)
        self._tag = fake.state.new_id(5)  # message ids stay unique across generators
        self._session: aiohttp.ClientSession | None = None
        self.sent = 0

    async def __aenter__(self) -> LoadGenerator:
        connector = aiohttp.TCPConnector(limit=len(self._participants) + 1)
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"},
        )
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    def _body(self, participant: Participant, text: str) -> bytes:
        message_id = f"{self._tag}{next(self._ids):012d}"
        stored = StoredMessage(
            message_id,
            participant.room.id,
            text,
            self._fake.state.now(),
            participant.user,
            "user",
        )
        body = send_message_body(self._fake.state, self._integration, stored, None)
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()

    async def post(self, participant: Participant) -> float:
        """The participant's next message; returns its acknowledgement latency.

        Anything but 200 ``{}`` fails the run.
        """
        assert self._session is not None, "use the generator as `async with`"
        text = self._workload.texts(participant.index, participant.sent)
        data = self._body(participant, text)
        started = time.perf_counter()
        if self._tracker is not None:
            replies = self._workload.replies(participant.sent)
            self._tracker.sending(participant.room.id, started, replies)
        async with self._session.post(self._url, data=data) as response:
            answer = await response.read()
        latency = time.perf_counter() - started
        if response.status != 200 or answer != ACK:
            raise RuntimeError(f"{participant.user.username}: {text!r} got {response.status}")
        participant.sent += 1
        self.sent += 1
        return latency

    async def closed_loop(
        self, concurrency: int, *, count: int = 0, seconds: float = 0.0
    ) -> Outcome:
        """``concurrency`` deliveries always in flight, from idle participants, until ``count``
        have been sent or, with ``seconds``, until that long has passed."""
        if concurrency > len(self._participants):
            raise ValueError("more deliveries in flight than participants")
        idle: asyncio.Queue[Participant] = asyncio.Queue()
        for participant in self._participants:
            idle.put_nowait(participant)
        latencies: list[float] = []
        started = time.perf_counter()
        deadline = started + seconds
        remaining = itertools.count() if seconds else iter(range(count))

        async def worker() -> None:
            for _ in remaining:
                participant = idle.get_nowait()
                latencies.append(await self.post(participant))
                idle.put_nowait(participant)
                if seconds and time.perf_counter() >= deadline:
                    return  # checked after a send: each worker sends at least one

        async with asyncio.TaskGroup() as workers:  # one failure stops them all
            for _ in range(concurrency):
                workers.create_task(worker())
        return Outcome(len(latencies), started, time.perf_counter() - started, latencies)

    async def open_loop(self, count: int, rate: float) -> Outcome:
        """``count`` deliveries at ``rate`` per second, whatever the answers' pace.

        Each goes to an idle participant; if none is idle the send waits (and is counted as
        late), which only happens when the server falls far behind the rate.
        """
        idle: asyncio.Queue[Participant] = asyncio.Queue()
        for participant in self._participants:
            idle.put_nowait(participant)
        latencies: list[float] = []

        async def one(participant: Participant) -> None:
            latencies.append(await self.post(participant))
            idle.put_nowait(participant)

        late = 0
        started = time.perf_counter()
        # A failed delivery cancels the schedule too, instead of it waiting for a participant
        # who will never be idle again.
        async with asyncio.TaskGroup() as deliveries:
            for n in range(count):
                due = started + n / rate
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                participant = await idle.get()
                if time.perf_counter() - due > LATE_SECONDS:
                    late += 1
                deliveries.create_task(one(participant))
        return Outcome(count, started, time.perf_counter() - started, latencies, late=late)
