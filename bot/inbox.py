"""The one inbound pipeline: a group-commit writer that dedupes, handles and queues replies.

Callers ``submit`` a message and await its outcome. One writer task takes whatever is
queued (up to ``max_batch``), handles each message in arrival order inside a single
transaction, inserts every reply into the outbox, commits once, and only then answers the
callers; a message that fails is rolled back alone (the batch is rerun with a savepoint
per message). Per-message transactions would cap a durable bot at a few hundred messages
a second; one commit per batch is worth ten times that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import Incoming, Param, Reply, encode_params
from store import batch as batch_writes
from store.outbox import OutboxItem, claim_message_ids, enqueue

log = logging.getLogger(__name__)

MAX_BATCH = 256
# ``session.info`` key holding the batch's fresh messages, so a handler may read ahead for
# all of them in one query (the dialog engine's rows, the senders' roles).
BATCH_INFO = batch_writes.BATCH_INFO


class Outcome(StrEnum):
    """What became of a submitted message."""

    HANDLED = "handled"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    FAILED = "failed"


@dataclass(slots=True)
class Turn:
    """One message being handled inside the batch's transaction.

    Handlers write domain rows through ``session`` and say things through ``reply`` and
    ``notify``; nothing reaches the chat until the batch has committed.
    """

    session: AsyncSession
    incoming: Incoming
    locale: str
    outbox: list[OutboxItem] = field(default_factory=list)
    ignored: bool = False

    def reply(self, key: str, **params: Param) -> None:
        """Answer in the message's room (and thread)."""
        self.say(self.incoming.room.id, Reply(key, params), thread_id=self.incoming.thread_id)

    def say(self, room_id: str, reply: Reply, *, thread_id: str = "", locale: str = "") -> None:
        """Queue ``reply`` for any room."""
        self.outbox.append(
            OutboxItem(
                room_id=room_id,
                key=reply.key,
                params=encode_params(reply.params),
                locale=locale or self.locale,
                thread_id=thread_id,
            )
        )


MessageHandler = Callable[[Turn], Awaitable[None]]
ERROR_KEY = "error_internal"


@dataclass(slots=True)
class _Job:
    incoming: Incoming
    future: asyncio.Future[Outcome]


class Inbox:
    """The group-commit writer; exactly one runs per process."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        handler: MessageHandler,
        *,
        locale: str = "es",
        max_batch: int = MAX_BATCH,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._handler = handler
        self._locale = locale
        self._max_batch = max_batch
        self._on_commit = on_commit or (lambda: None)
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.messages = 0
        self.reruns = 0  # batches run again, a savepoint per message, after a failure

    async def submit(self, incoming: Incoming) -> Outcome:
        """Queue a message and wait until it is durably handled (or found a duplicate)."""
        if self._task is None:
            raise RuntimeError("the inbox is not running")
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(incoming, future))
        return await future

    def start(self) -> None:
        """Start the writer task."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="inbox-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop the writer."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            batch, stopping = self._take_batch(first)
            if batch:
                await self._commit_batch(batch)
            if stopping:
                return

    def _take_batch(self, first: _Job | None) -> tuple[list[_Job], bool]:
        if first is None:
            return [], True
        batch = [first]
        while len(batch) < self._max_batch and not self._queue.empty():
            job = self._queue.get_nowait()
            if job is None:
                return batch, True
            batch.append(job)
        return batch, False

    async def _commit_batch(self, batch: Sequence[_Job]) -> None:
        try:
            outcomes = await self._process(batch)
        except Exception as exc:  # the whole transaction rolled back: every caller hears it
            log.exception("inbox batch of %d failed", len(batch))
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        self.batches += 1
        self.messages += len(batch)
        for job, outcome in zip(batch, outcomes, strict=True):
            if not job.future.done():
                job.future.set_result(outcome)
        self._on_commit()

    async def _process(self, batch: Sequence[_Job]) -> list[Outcome]:
        try:
            return await self._attempt(batch, isolated=False)
        except _Retry:
            # Some message failed: its writes are mixed with the others', so the whole
            # transaction was rolled back and the batch runs again, a savepoint per message.
            self.reruns += 1
            return await self._attempt(batch, isolated=True)

    async def _attempt(self, batch: Sequence[_Job], *, isolated: bool) -> list[Outcome]:
        """One transaction over ``batch``; without ``isolated`` a failing message raises _Retry.

        A SAVEPOINT and its RELEASE per message cost two round trips, a third of a dialog
        step's statements, yet matter only when a message fails, which is rare; so a batch
        first runs without them. Handlers keep every effect in the session and the turn (a
        failed batch is retried by the chat anyway), so running them again is safe.
        """
        async with self._sessions() as session, session.begin():
            fresh = await claim_message_ids(session, [job.incoming.message_id for job in batch])
            session.info[BATCH_INFO] = [j.incoming for j in batch if j.incoming.message_id in fresh]
            outbox: list[OutboxItem] = []
            outcomes = []
            for job in batch:
                message_id = job.incoming.message_id
                if message_id not in fresh:
                    outcomes.append(Outcome.DUPLICATE)
                    continue
                fresh.discard(message_id)  # a copy later in this batch is a duplicate
                handle = self._handle_one if isolated else self._handle_optimistic
                outcomes.append(await handle(session, job.incoming, outbox))
            if not isolated:
                await _flush_or_retry(session)
            await enqueue(session, outbox)
        return outcomes

    async def _handle_optimistic(
        self, session: AsyncSession, incoming: Incoming, outbox: list[OutboxItem]
    ) -> Outcome:
        turn = Turn(session, incoming, self._locale)
        try:
            await self._handler(turn)
        except Exception as exc:
            raise _Retry from exc
        outbox.extend(turn.outbox)
        return Outcome.IGNORED if turn.ignored else Outcome.HANDLED

    async def _handle_one(
        self, session: AsyncSession, incoming: Incoming, outbox: list[OutboxItem]
    ) -> Outcome:
        turn = Turn(session, incoming, self._locale)
        try:
            async with session.begin_nested():
                await self._handler(turn)
        except Exception:
            # Only this message's savepoint rolled back; it is answered, not retried forever.
            log.exception("handling message %s failed", incoming.message_id)
            failed = Turn(session, incoming, self._locale)
            failed.reply(ERROR_KEY)
            outbox.extend(failed.outbox)
            return Outcome.FAILED
        outbox.extend(turn.outbox)
        return Outcome.IGNORED if turn.ignored else Outcome.HANDLED


class _Retry(Exception):
    """A message failed in a batch run without savepoints: run it again with them."""


async def _flush_or_retry(session: AsyncSession) -> None:
    """Write what the batch's messages left pending: deferred writes, then one flush.

    One flush per batch, not one per message: the unit of work costs about as much for one
    row as for a hundred, and was a tenth of a dialog step's CPU. A write error here cannot
    say which message caused it, and need not: the rerun with a savepoint per message
    finds it, and answers the others.
    """
    try:
        await batch_writes.write_deferred(session)  # the dialog rows, in one go
        await session.flush()
    except Exception as exc:
        raise _Retry from exc
