"""The outbox and processed-message tables as bulk operations (the hot path uses Core).

Every statement here is built once, at import, with bind parameters (expanding ones for IN
lists): a call only binds values, the statement's cache key is memoized on the object, and
the engine's compiled cache hits every time. Building them per call, through the ORM, cost
the notifier a quarter of its CPU.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import (
    Integer,
    String,
    Text,
    Update,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from store import direct
from store.direct import DirectStatement
from store.models import Outbox, ProcessedMessage
from store.models.base import table_of
from store.types import UTCDateTime, utcnow

_ID_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTH = 17
CLAIM_SECONDS = 60
DEAD_PREFIX = "dead: "
# pg_advisory_xact_lock key serialising outbox claims across processes ("crmbot" in ASCII).
CLAIM_LOCK_KEY = 0x63726D626F74

_OUTBOX = table_of(Outbox)
_PROCESSED = table_of(ProcessedMessage)


# -- message ids -----------------------------------------------------------------------------

# Random bytes to id characters, unbiased: 248 = 4 * 62, so a byte below 248 taken modulo 62
# is uniform over the alphabet; the 8 bytes above are dropped (rejection sampling) by
# bytes.translate in C, one urandom call for a whole batch of ids.
_USABLE_BYTES = 256 - 256 % len(_ID_ALPHABET)
_BYTE_TO_CHAR = bytes(
    ord(_ID_ALPHABET[b % len(_ID_ALPHABET)]) if b < _USABLE_BYTES else 0 for b in range(256)
)
_REJECTED_BYTES = bytes(range(_USABLE_BYTES, 256))


def new_message_ids(count: int) -> list[str]:
    """``count`` 17-character random ids in the chat's own style, fixed before the first send."""
    need = count * _ID_LENGTH
    chars = b""
    while len(chars) < need:
        # About 3% of bytes are rejected: ask for a little more than needed, so one read
        # almost always suffices.
        short = need - len(chars)
        drawn = secrets.token_bytes(short + short // 16 + 8)
        chars += drawn.translate(_BYTE_TO_CHAR, _REJECTED_BYTES)
    text = chars[:need].decode("ascii")
    return [text[i : i + _ID_LENGTH] for i in range(0, need, _ID_LENGTH)]


def new_message_id() -> str:
    """A 17-character random id in the chat's own style, fixed before the first send."""
    return new_message_ids(1)[0]


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One message to post, as the inbox or a service queues it."""

    room_id: str
    key: str
    params: str
    locale: str
    thread_id: str = ""


# -- processed messages ----------------------------------------------------------------------


# One row's VALUES executed as executemany: SQLAlchemy's "insertmanyvalues" turns it into
# multi-row INSERTs from the one compiled form, in the parameters' order, and gathers what
# each RETURNING gave: exactly the rows inserted, since DO NOTHING returns none for a
# conflict. (A .values(rows) statement was compiled anew for each batch size.)
_CLAIM_IDS: dict[str, Executable] = {
    "postgresql": pg_insert(_PROCESSED)
    .on_conflict_do_nothing(index_elements=["message_id"])
    .returning(_PROCESSED.c.message_id),
    "sqlite": sqlite_insert(_PROCESSED)
    .on_conflict_do_nothing(index_elements=["message_id"])
    .returning(_PROCESSED.c.message_id),
}


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
    if await direct.straight(session):
        # One short statement per id on the driver beats one multi-row statement through
        # SQLAlchemy for any batch the inbox makes (store.direct).
        return {row[0] for row in await direct.fetch_each(session, _CLAIM_ONE_ID, rows)}
    return set(await session.scalars(_CLAIM_IDS[session.get_bind().dialect.name], rows))


_CLAIM_ONE_ID = DirectStatement(_CLAIM_IDS["sqlite"])


# -- queueing --------------------------------------------------------------------------------

_ENQUEUED_COLUMNS = (
    "msg_id",
    "room_id",
    "thread_id",
    "key",
    "params",
    "locale",
    "created_at",
    "attempts",
    "last_error",
)
_ENQUEUE = DirectStatement(insert(_OUTBOX), columns=_ENQUEUED_COLUMNS)


async def enqueue(session: AsyncSession, items: Sequence[OutboxItem]) -> list[str]:
    """Insert outbox rows in one executemany; returns their message ids in order."""
    if not items:
        return []
    now = utcnow()
    ids = new_message_ids(len(items))
    await direct.run_many(
        session,
        _ENQUEUE,
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


# -- claims ----------------------------------------------------------------------------------


class ClaimedRow(NamedTuple):
    """One claimed outbox row: what the notifier needs to send it and settle it.

    A plain tuple rather than an ORM object: loading ``Outbox`` instances was most of a
    claim's cost, and nothing here is written back through the session.
    """

    seq: int
    msg_id: str
    room_id: str
    thread_id: str
    key: str
    params: str
    locale: str
    attempts: int


_NOW = bindparam("now", type_=UTCDateTime())
_WORKER = bindparam("worker", type_=String())
# BIGINT on PostgreSQL: typed as the column, so a bound seq is never cast to INTEGER.
_SEQS = bindparam("seqs", type_=_OUTBOX.c.seq.type, expanding=True)
_SEQ = bindparam("one_seq", type_=_OUTBOX.c.seq.type)
_ERROR = bindparam("error", type_=Text())


def _claimable(*, exclude_rooms: bool, postgres: bool) -> Update:
    """Claim the unsent rows, oldest first, that are unclaimed or left claimed by ``worker``
    and whose room has no earlier row claimed by another worker; returns them.

    A worker holds claims only inside one of its passes, and its passes never overlap, so a
    claim of its own seen at the start of a claim is stale: its pass could not record the
    outcome (the database went away after the send). Taking it back now, instead of when it
    expires, keeps that room from waiting out the claim; a resend keeps the row's ``_id``.

    One UPDATE … WHERE seq IN (the claimable rows, LIMIT n) RETURNING: on SQLite the
    transaction's write lock, on PostgreSQL the advisory lock plus FOR UPDATE SKIP LOCKED of
    the candidates, make it the same as selecting the rows and then claiming them.
    """
    # Aliases, not the table itself: the UPDATE's own table would be correlated into the
    # subquery and leave it without a FROM.
    candidate = _OUTBOX.alias("candidate")
    earlier = _OUTBOX.alias("earlier")
    room_busy = (
        select(earlier.c.seq)
        .where(
            earlier.c.room_id == candidate.c.room_id,
            earlier.c.seq < candidate.c.seq,
            earlier.c.sent_at.is_(None),
            earlier.c.claimed_until >= _NOW,
            earlier.c.claimed_by != _WORKER,
        )
        .exists()
    )
    query = select(candidate.c.seq).where(
        candidate.c.sent_at.is_(None),
        or_(
            candidate.c.claimed_until.is_(None),
            candidate.c.claimed_until < _NOW,
            candidate.c.claimed_by == _WORKER,
        ),
        ~room_busy,
    )
    if exclude_rooms:
        query = query.where(
            candidate.c.room_id.not_in(bindparam("exclude", type_=String(), expanding=True))
        )
    query = query.order_by(candidate.c.seq).limit(bindparam("limit", type_=Integer()))
    if postgres:
        query = query.with_for_update(skip_locked=True, of=candidate)
    return (
        update(_OUTBOX)
        .where(_OUTBOX.c.seq.in_(query.scalar_subquery()))
        .values(claimed_by=_WORKER, claimed_until=bindparam("until", type_=UTCDateTime()))
        .returning(*(_OUTBOX.c[name] for name in ClaimedRow._fields))
    )


_CLAIM = {
    (postgres, exclude): _claimable(exclude_rooms=exclude, postgres=postgres)
    for postgres in (False, True)
    for exclude in (False, True)
}
_CLAIM_LOCK = select(func.pg_advisory_xact_lock(CLAIM_LOCK_KEY))
_BY_SEQ = attrgetter("seq")


async def claim_pending(
    session: AsyncSession,
    worker: str,
    limit: int = 100,
    now: dt.datetime | None = None,
    *,
    exclude_rooms: Collection[str] = (),
    claim_seconds: float = CLAIM_SECONDS,
) -> list[ClaimedRow]:
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
        await session.execute(_CLAIM_LOCK)
    values: dict[str, Any] = {
        "now": now,
        "worker": worker,
        "limit": limit,
        "until": now + dt.timedelta(seconds=claim_seconds),
    }
    if exclude_rooms:
        values["exclude"] = list(exclude_rooms)
    result = await session.execute(_CLAIM[postgres, bool(exclude_rooms)], values)
    # RETURNING comes in no promised order; the notifier sends each room's rows by seq.
    return sorted(map(ClaimedRow._make, result), key=_BY_SEQ)


# -- settling --------------------------------------------------------------------------------

_MARK_SENT = update(_OUTBOX).where(_OUTBOX.c.seq.in_(_SEQS)).values(sent_at=_NOW)


async def mark_sent(session: AsyncSession, seqs: Sequence[int]) -> None:
    """Mark rows delivered."""
    if seqs:
        await session.execute(_MARK_SENT, {"seqs": list(seqs), "now": utcnow()})


def _release_statement(*, own_only: bool) -> Update:
    statement = update(_OUTBOX).where(_OUTBOX.c.seq == _SEQ)
    if own_only:
        # A claim that expired may belong to another worker by now: never touch theirs.
        statement = statement.where(_OUTBOX.c.claimed_by == _WORKER)
    return statement.values(
        claimed_by=None,
        claimed_until=None,
        attempts=_OUTBOX.c.attempts + 1,
        last_error=_ERROR,
    )


_RELEASE = {own_only: _release_statement(own_only=own_only) for own_only in (False, True)}


async def release(session: AsyncSession, seq: int, error: str, worker: str | None = None) -> None:
    """Give a failed row back for a later attempt, remembering why it failed."""
    values: dict[str, Any] = {"one_seq": seq, "error": error[:500]}
    if worker is not None:
        values["worker"] = worker
    await session.execute(_RELEASE[worker is not None], values)


_UNCLAIM = (
    update(_OUTBOX)
    .where(_OUTBOX.c.seq.in_(_SEQS), _OUTBOX.c.claimed_by == _WORKER)  # only our own claims
    .values(claimed_by=None, claimed_until=None)
)


async def unclaim(session: AsyncSession, seqs: Sequence[int], worker: str) -> None:
    """Give back rows that were not tried (their room is waiting), without counting it."""
    if seqs:
        await session.execute(_UNCLAIM, {"seqs": list(seqs), "worker": worker})


_MARK_FAILED = (
    update(_OUTBOX)
    .where(_OUTBOX.c.seq == _SEQ)
    .values(
        sent_at=_NOW,
        claimed_until=None,
        attempts=_OUTBOX.c.attempts + 1,
        last_error=_ERROR,
    )
)


async def mark_failed(session: AsyncSession, seq: int, error: str) -> None:
    """Dead-letter a row the chat will never accept: it leaves the queue, the reason stays.

    Dead rows are ``sent_at`` set with ``last_error`` starting with DEAD_PREFIX (no column
    of their own yet), so the room's later messages are no longer held behind them.
    """
    await session.execute(
        _MARK_FAILED,
        {"one_seq": seq, "now": utcnow(), "error": (DEAD_PREFIX + error)[:500]},
    )


def is_dead(row: Outbox) -> bool:
    """Whether ``row`` was dead-lettered rather than delivered."""
    return row.sent_at is not None and row.last_error.startswith(DEAD_PREFIX)


# -- metrics ---------------------------------------------------------------------------------

_DEPTH = select(func.count()).select_from(_OUTBOX).where(_OUTBOX.c.sent_at.is_(None))
_OLDEST = select(func.min(_OUTBOX.c.created_at)).where(_OUTBOX.c.sent_at.is_(None))


async def depth(session: AsyncSession) -> int:
    """How many rows wait to be sent (for /metrics)."""
    return int(await session.scalar(_DEPTH) or 0)


async def oldest_age(session: AsyncSession, now: dt.datetime | None = None) -> float:
    """Seconds the oldest unsent row has waited; 0.0 when nothing waits (for /metrics)."""
    oldest: dt.datetime | None = await session.scalar(_OLDEST)
    if oldest is None:
        return 0.0
    return max(((now or utcnow()) - oldest).total_seconds(), 0.0)
