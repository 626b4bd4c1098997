"""The outbox and processed-message tables as bulk operations (the hot path uses Core)."""

from __future__ import annotations

import datetime as dt
import secrets
import string
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, insert, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from store.models import Outbox, ProcessedMessage
from store.types import utcnow

_ID_ALPHABET = string.ascii_letters + string.digits
CLAIM_SECONDS = 60
DEAD_PREFIX = "dead: "
# pg_advisory_xact_lock key serialising outbox claims across processes ("crmbot" in ASCII).
CLAIM_LOCK_KEY = 0x63726D626F74


def new_message_id() -> str:
    """A 17-character random id in the chat's own style, fixed before the first send."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One message to post, as the inbox or a service queues it."""

    room_id: str
    key: str
    params: str
    locale: str
    thread_id: str = ""


async def claim_message_ids(session: AsyncSession, message_ids: Sequence[str]) -> set[str]:
    """Record ``message_ids`` as processed; returns the ones that were new.

    Inserted in sorted order: two processes handed the same messages in different orders
    then wait for each other's uncommitted ids in one order and cannot deadlock.
    """
    unique = sorted(set(message_ids))
    if not unique:
        return set()
    now = utcnow()
    rows = [{"message_id": mid, "created_at": now} for mid in unique]
    dialect = session.get_bind().dialect.name
    factory = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        factory(ProcessedMessage)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["message_id"])
        .returning(ProcessedMessage.message_id)
    )
    return set(await session.scalars(statement))


async def enqueue(session: AsyncSession, items: Sequence[OutboxItem]) -> list[str]:
    """Insert outbox rows in one statement; returns their message ids in order."""
    if not items:
        return []
    now = utcnow()
    ids = [new_message_id() for _ in items]
    await session.execute(
        insert(Outbox),
        [
            {
                "msg_id": msg_id,
                "room_id": item.room_id,
                "thread_id": item.thread_id,
                "key": item.key,
                "params": item.params,
                "locale": item.locale,
                "created_at": now,
                "attempts": 0,
                "last_error": "",
            }
            for msg_id, item in zip(ids, items, strict=True)
        ],
    )
    return ids


def _claimable(now: dt.datetime, exclude_rooms: Collection[str], worker: str) -> Select[Outbox]:
    """Unsent rows, unclaimed or left claimed by ``worker``, whose room has no earlier row
    claimed by another worker; oldest first.

    A worker holds claims only inside one of its passes, and its passes never overlap, so a
    claim of its own seen at the start of a claim is stale: its pass could not record the
    outcome (the database went away after the send). Taking it back now, instead of when it
    expires, keeps that room from waiting out the claim; a resend keeps the row's ``_id``.
    """
    earlier = aliased(Outbox)
    room_busy = (
        select(earlier.seq)
        .where(
            earlier.room_id == Outbox.room_id,
            earlier.seq < Outbox.seq,
            earlier.sent_at.is_(None),
            earlier.claimed_until >= now,
            earlier.claimed_by != worker,
        )
        .exists()
    )
    query = select(Outbox).where(
        Outbox.sent_at.is_(None),
        or_(
            Outbox.claimed_until.is_(None),
            Outbox.claimed_until < now,
            Outbox.claimed_by == worker,
        ),
        ~room_busy,
    )
    if exclude_rooms:
        query = query.where(Outbox.room_id.not_in(list(exclude_rooms)))
    return query.order_by(Outbox.seq)


async def claim_pending(
    session: AsyncSession,
    worker: str,
    limit: int = 100,
    now: dt.datetime | None = None,
    *,
    exclude_rooms: Collection[str] = (),
    claim_seconds: float = CLAIM_SECONDS,
) -> list[Outbox]:
    """Claim up to ``limit`` unsent rows, oldest first, for ``worker``.

    A row is claimable only while no earlier unsent row of its room is claimed, so each
    room's messages go out in order even with several workers. A claim expires after
    ``claim_seconds``: rows held by a process that died go out through another.
    ``exclude_rooms`` are rooms this worker saw fail in the current pass.
    """
    now = now or utcnow()
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # Claims are serialised. SKIP LOCKED alone would let a worker skip a room's earlier
        # row while another worker is claiming it and take a later row of the same room.
        # (SQLite needs nothing: BEGIN IMMEDIATE already makes one writer at a time.)
        await session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK_KEY)))
    query = _claimable(now, exclude_rooms, worker).limit(limit)
    if postgres:
        query = query.with_for_update(skip_locked=True, of=Outbox)
    rows = list(await session.scalars(query))
    if rows:
        until = now + dt.timedelta(seconds=claim_seconds)
        await session.execute(
            update(Outbox)
            .where(Outbox.seq.in_([row.seq for row in rows]))
            .values(claimed_by=worker, claimed_until=until)
        )
    return rows


async def mark_sent(session: AsyncSession, seqs: Sequence[int]) -> None:
    """Mark rows delivered."""
    if seqs:
        await session.execute(
            update(Outbox).where(Outbox.seq.in_(list(seqs))).values(sent_at=utcnow())
        )


def _held_by(worker: str | None) -> ColumnElement[bool]:
    # A claim that expired may belong to another worker by now: never touch theirs.
    return true() if worker is None else Outbox.claimed_by == worker


async def release(session: AsyncSession, seq: int, error: str, worker: str | None = None) -> None:
    """Give a failed row back for a later attempt, remembering why it failed."""
    await session.execute(
        update(Outbox)
        .where(Outbox.seq == seq, _held_by(worker))
        .values(
            claimed_by=None,
            claimed_until=None,
            attempts=Outbox.attempts + 1,
            last_error=error[:500],
        )
    )


async def unclaim(session: AsyncSession, seqs: Sequence[int], worker: str) -> None:
    """Give back rows that were not tried (their room is waiting), without counting it."""
    if seqs:
        await session.execute(
            update(Outbox)
            .where(Outbox.seq.in_(list(seqs)), _held_by(worker))
            .values(claimed_by=None, claimed_until=None)
        )


async def mark_failed(session: AsyncSession, seq: int, error: str) -> None:
    """Dead-letter a row the chat will never accept: it leaves the queue, the reason stays.

    Dead rows are ``sent_at`` set with ``last_error`` starting with DEAD_PREFIX (no column
    of their own yet), so the room's later messages are no longer held behind them.
    """
    await session.execute(
        update(Outbox)
        .where(Outbox.seq == seq)
        .values(
            sent_at=utcnow(),
            claimed_until=None,
            attempts=Outbox.attempts + 1,
            last_error=(DEAD_PREFIX + error)[:500],
        )
    )


def is_dead(row: Outbox) -> bool:
    """Whether ``row`` was dead-lettered rather than delivered."""
    return row.sent_at is not None and row.last_error.startswith(DEAD_PREFIX)


async def depth(session: AsyncSession) -> int:
    """How many rows wait to be sent (for /metrics)."""
    query = select(func.count()).select_from(Outbox).where(Outbox.sent_at.is_(None))
    return int(await session.scalar(query) or 0)


async def oldest_age(session: AsyncSession, now: dt.datetime | None = None) -> float:
    """Seconds the oldest unsent row has waited; 0.0 when nothing waits (for /metrics)."""
    oldest = await session.scalar(
        select(func.min(Outbox.created_at)).where(Outbox.sent_at.is_(None))
    )
    if oldest is None:
        return 0.0
    return max(((now or utcnow()) - oldest).total_seconds(), 0.0)
