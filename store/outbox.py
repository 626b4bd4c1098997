"""The outbox and processed-message tables as bulk operations (the hot path uses Core)."""

from __future__ import annotations

import datetime as dt
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Outbox, ProcessedMessage
from store.types import utcnow

_ID_ALPHABET = string.ascii_letters + string.digits
CLAIM_SECONDS = 60


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
    """Record ``message_ids`` as processed; returns the ones that were new."""
    unique = list(dict.fromkeys(message_ids))
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


async def claim_pending(
    session: AsyncSession, worker: str, limit: int = 100, now: dt.datetime | None = None
) -> list[Outbox]:
    """Claim up to ``limit`` unsent rows, oldest first, for ``worker``.

    A claim expires after CLAIM_SECONDS, so rows held by a process that died go out
    through another. PostgreSQL skips rows another worker holds locked right now.
    """
    now = now or utcnow()
    query = (
        select(Outbox)
        .where(
            Outbox.sent_at.is_(None),
            or_(Outbox.claimed_until.is_(None), Outbox.claimed_until < now),
        )
        .order_by(Outbox.seq)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(await session.scalars(query))
    if rows:
        await session.execute(
            update(Outbox)
            .where(Outbox.seq.in_([row.seq for row in rows]))
            .values(claimed_by=worker, claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS))
        )
    return rows


async def mark_sent(session: AsyncSession, seqs: Sequence[int]) -> None:
    """Mark rows delivered."""
    if seqs:
        await session.execute(
            update(Outbox).where(Outbox.seq.in_(list(seqs))).values(sent_at=utcnow())
        )


async def release(session: AsyncSession, seq: int, error: str) -> None:
    """Give a failed row back for a later attempt, remembering why it failed."""
    await session.execute(
        update(Outbox)
        .where(Outbox.seq == seq)
        .values(
            claimed_by=None,
            claimed_until=None,
            attempts=Outbox.attempts + 1,
            last_error=error[:500],
        )
    )
