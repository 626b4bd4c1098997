"""The outbox relay: claims committed outbox rows, renders them and hands them to the transport."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Mapping

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import ChatTransport, Outgoing, Param, decode_params
from store.models import Outbox
from store.outbox import claim_pending, mark_sent, release

log = logging.getLogger(__name__)

Render = Callable[[str, Mapping[str, Param], str], str]
POLL_SECONDS = 2.0
FALLBACK_KEY = "error_internal"
FALLBACK_TEXT = "⚠️ crmbot: internal error / error interno"


class Notifier:
    """Delivers outbox rows in order per room; wakes on commit and polls as a fallback."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        transport: ChatTransport,
        render: Render,
        *,
        batch: int = 100,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._transport = transport
        self._render = render
        self._batch = batch
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.worker = f"notifier-{secrets.token_hex(4)}"
        self.sent = 0

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

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)
            self._wake.clear()
            try:
                await self.drain()
            except Exception:
                log.exception("notifier pass failed")

    async def drain(self) -> int:
        """Send everything pending now; returns how many messages went out."""
        total = 0
        while True:
            async with self._sessions.begin() as session:
                rows = await claim_pending(session, self.worker, self._batch)
            if not rows:
                return total
            sent = await self._deliver(rows)
            total += sent
            if sent < len(rows):
                return total  # a room is failing: its rows wait for the next pass

    async def _deliver(self, rows: list[Outbox]) -> int:
        blocked: set[str] = set()
        delivered: list[int] = []
        for row in rows:
            if row.room_id in blocked:
                # Keep the room's order: nothing after a failed message may overtake it.
                await self._give_back(row.seq, "an earlier message of this room is pending")
                continue
            try:
                await self._transport.send(self._outgoing(row))
            except Exception as exc:
                log.warning("sending outbox row %s failed: %s", row.seq, exc)
                blocked.add(row.room_id)
                await self._give_back(row.seq, str(exc) or type(exc).__name__)
                continue
            delivered.append(row.seq)
        async with self._sessions.begin() as session:
            await mark_sent(session, delivered)
        self.sent += len(delivered)
        return len(delivered)

    def _outgoing(self, row: Outbox) -> Outgoing:
        return Outgoing(
            msg_id=row.msg_id, room_id=row.room_id, text=self._text(row), thread_id=row.thread_id
        )

    def _text(self, row: Outbox) -> str:
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

    async def _give_back(self, seq: int, error: str) -> None:
        async with self._sessions.begin() as session:
            await release(session, seq, error)
