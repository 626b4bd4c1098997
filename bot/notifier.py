"""The outbox relay: claims committed rows, renders them, hands them to the transport in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import ChatTransport, Outgoing, Param, decode_params
from bot.transport.rocketchat.errors import PermanentSendError
from store.outbox import (
    CLAIM_SECONDS,
    ClaimedRow,
    claim_pending,
    mark_failed,
    mark_sent,
    release,
    unclaim,
)

log = logging.getLogger(__name__)

Render = Callable[[str, Mapping[str, Param], str], str]
Sleep = Callable[[float], Awaitable[None]]
POLL_SECONDS = 2.0
FALLBACK_KEY = "error_internal"
FALLBACK_TEXT = "⚠️ crmbot: internal error / error interno"
# Stop sending a batch well before its claim expires: past that, another worker may take
# the same rows, and order in their rooms would no longer be ours to keep.
CLAIM_USE = 0.8


@dataclass(slots=True)
class PassResult:
    """What one pass over the outbox did."""

    sent: int = 0
    dead: int = 0
    failed: int = 0  # rows given back for a later pass

    def add(self, batch: _Batch) -> None:
        self.sent += len(batch.sent)
        self.dead += len(batch.dead)
        self.failed += len(batch.failed)


@dataclass(slots=True)
class _Batch:
    """The fate of each claimed row, settled in one transaction."""

    sent: list[int] = field(default_factory=list)
    dead: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    untried: list[int] = field(default_factory=list)
    tripped: bool = False  # too many failures in a row: Rocket.Chat itself is down

    def unsettled(self, rows: list[ClaimedRow]) -> list[int]:
        """The claimed rows with no outcome yet (the one in flight included)."""
        done = {*self.sent, *self.untried, *(seq for seq, _ in self.dead + self.failed)}
        return [row.seq for row in rows if row.seq not in done]


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class Notifier:
    """Delivers outbox rows in order per room; wakes on commit and polls as a fallback.

    A room whose message failed gets nothing later until it succeeds; other rooms go on.
    Rooms are served side by side (a few at once), each in its own order.
    A message the chat refuses for good is dead-lettered so its room is not held forever.
    After a pass with failures the next one waits, longer each time (no hot loop in an
    outage). Several notifiers may share one database: claims keep each row to one.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        transport: ChatTransport,
        render: Render,
        *,
        batch: int = 100,
        poll_seconds: float = POLL_SECONDS,
        sleep: Sleep = asyncio.sleep,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        claim_seconds: float = CLAIM_SECONDS,
        failures_per_pass: int = 3,
        rooms_in_flight: int = 8,
    ) -> None:
        self._sessions = sessions
        self._transport = transport
        self._render = render
        self._batch = batch
        self._poll = poll_seconds
        self._sleep = sleep
        self._backoff = (backoff_base, backoff_cap)
        self._claim_seconds = claim_seconds
        self._failures_per_pass = failures_per_pass
        self._rooms_in_flight = rooms_in_flight
        self._wake = asyncio.Event()
        # One pass at a time (drain() beside the background task, say): claims of this worker
        # outside a pass are then always stale, which store.outbox relies on.
        self._pass_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.worker = f"notifier-{secrets.token_hex(4)}"
        self.sent = 0
        self.dead = 0
        self.failures = 0

    def wake(self) -> None:
        """Called after a commit that queued messages."""
        self._wake.set()

    def start(self) -> None:
        """Run the relay in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="notifier")

    async def stop(self) -> None:
        """Stop the relay (unsent rows stay queued for the next start)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def backoff(self, failed_passes: int) -> float:
        """Seconds to wait after ``failed_passes`` failing passes in a row."""
        base, cap = self._backoff
        return float(min(cap, base * 2 ** max(failed_passes - 1, 0)))

    async def _run(self) -> None:
        failed_passes = 0
        while True:
            if failed_passes:
                # A commit meanwhile leaves the wake flag set: nothing is missed by waiting.
                await self._sleep(self.backoff(failed_passes))
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll)
            self._wake.clear()
            try:
                result = await self.run_pass()
            except Exception:
                log.exception("notifier pass failed")
                failed_passes += 1
                continue
            failed_passes = failed_passes + 1 if result.failed else 0

    async def drain(self) -> int:
        """Send everything pending now; returns how many messages went out."""
        return (await self.run_pass()).sent

    async def run_pass(self) -> PassResult:
        """Claim and deliver batches until nothing is left that may go out now."""
        async with self._pass_lock:
            return await self._pass()

    async def _pass(self) -> PassResult:
        result = PassResult()
        blocked: set[str] = set()
        while True:
            async with self._sessions.begin() as session:
                rows = await claim_pending(
                    session,
                    self.worker,
                    self._batch,
                    exclude_rooms=blocked,
                    claim_seconds=self._claim_seconds,
                )
            if not rows:
                return result
            batch = _Batch()
            try:
                await self._deliver(rows, blocked, batch)
            except asyncio.CancelledError:
                # Stopping: record what went out and hand the rest back now rather than
                # leave it claimed until the claim expires.
                batch.untried += batch.unsettled(rows)
                await self._settle(batch)
                raise
            await self._settle(batch)
            result.add(batch)
            if batch.tripped:
                return result

    async def _deliver(self, rows: list[ClaimedRow], blocked: set[str], batch: _Batch) -> None:
        """Each room's rows one after another, in order; up to ``rooms_in_flight`` rooms at
        once, so one Rocket.Chat round trip per reply does not cap the whole bot's rate."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._claim_seconds * CLAIM_USE
        by_room: dict[str, list[ClaimedRow]] = {}
        for row in rows:
            by_room.setdefault(row.room_id, []).append(row)
        streak = 0  # failures in a row, across rooms: past a few, Rocket.Chat itself is down
        slots = asyncio.Semaphore(self._rooms_in_flight)

        async def deliver_room(room_rows: list[ClaimedRow]) -> None:
            nonlocal streak
            async with slots:
                for row in room_rows:
                    # Keep the room's order: nothing may overtake a failed message of its room.
                    if batch.tripped or row.room_id in blocked or loop.time() >= deadline:
                        batch.untried.append(row.seq)
                        continue
                    error = await self._send(row, deadline)
                    if error is None:
                        batch.sent.append(row.seq)
                        streak = 0
                    elif isinstance(error, PermanentSendError):
                        log.error(
                            "outbox row %s for room %s dead-lettered: %s",
                            row.seq, row.room_id, error,
                        )  # fmt: skip
                        batch.dead.append((row.seq, _reason(error)))
                    else:
                        log.warning(
                            "outbox row %s for room %s kept queued: %s",
                            row.seq, row.room_id, error,
                        )  # fmt: skip
                        batch.failed.append((row.seq, _reason(error)))
                        blocked.add(row.room_id)
                        streak += 1
                        batch.tripped = batch.tripped or streak >= self._failures_per_pass

        await asyncio.gather(*(deliver_room(room_rows) for room_rows in by_room.values()))

    async def _send(self, row: ClaimedRow, deadline: float) -> Exception | None:
        try:
            async with asyncio.timeout_at(deadline):
                await self._transport.send(self._outgoing(row))
        except Exception as exc:  # any failure of one message must not stop the others
            return exc
        return None

    async def _settle(self, batch: _Batch) -> None:
        async with self._sessions.begin() as session:
            await mark_sent(session, batch.sent)
            for seq, error in batch.dead:
                await mark_failed(session, seq, error)
            for seq, error in batch.failed:
                await release(session, seq, error, self.worker)
            await unclaim(session, batch.untried, self.worker)
        self.sent += len(batch.sent)
        self.dead += len(batch.dead)
        self.failures += len(batch.failed)

    def _outgoing(self, row: ClaimedRow) -> Outgoing:
        return Outgoing(
            msg_id=row.msg_id, room_id=row.room_id, text=self._text(row), thread_id=row.thread_id
        )

    def _text(self, row: ClaimedRow) -> str:
        # A row that cannot be rendered never will be: retrying it would block its room
        # forever, so the user gets an apology instead and the fault goes to the log.
        try:
            return self._render(row.key, decode_params(row.params), row.locale)
        except Exception:
            log.exception("outbox row %s (%s) cannot be rendered", row.seq, row.key)
        try:
            return self._render(FALLBACK_KEY, {}, row.locale)
        except Exception:
            log.exception("the fallback reply cannot be rendered either")
            return FALLBACK_TEXT
