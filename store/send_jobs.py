"""The ``send_jobs`` queue: record a document to email, claim it, move it along, finish it.

A job is claimed (``claimed_by`` + a lease) before anything leaves the process, and every
later step only applies while the claim is still the caller's, so two workers never both
take one job. A worker that dies leaves its lease to expire; the job is then taken again.
"""

from __future__ import annotations

import datetime as dt
import secrets
from enum import StrEnum

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import SendJob
from store.types import utcnow

MAX_ERROR = 500
# pg_advisory_xact_lock key serialising job claims across processes ("crmsnd" in ASCII).
CLAIM_LOCK_KEY = 0x63726D736E64


class JobStatus(StrEnum):
    """Where a send job is (persisted)."""

    PENDING = "pending"  # the mail has not been accepted by the relay yet
    MAILED = "mailed"  # accepted and recorded; the PDF still goes to the room
    DONE = "done"
    FAILED = "failed"


OPEN = (JobStatus.PENDING.value, JobStatus.MAILED.value)


def new_token() -> str:
    """The random part of a job's Message-ID (short: long ids get folded, EMAIL.md §3.9)."""
    return secrets.token_hex(10)


async def open_job(session: AsyncSession, document_id: int) -> SendJob | None:
    """The job still sending ``document_id``, if any."""
    return await session.scalar(
        select(SendJob)
        .where(SendJob.document_id == document_id, SendJob.status.in_(OPEN))
        .order_by(SendJob.id)
        .limit(1)
    )


async def claim_next(
    session: AsyncSession, worker: str, *, lease: float, now: dt.datetime | None = None
) -> SendJob | None:
    """Claim the oldest due, unclaimed open job for ``worker`` (attempts counted), or None."""
    now = now or utcnow()
    query = (
        select(SendJob)
        .where(
            SendJob.status.in_(OPEN),
            SendJob.due_at <= now,
            or_(SendJob.claimed_until.is_(None), SendJob.claimed_until < now),
        )
        .order_by(SendJob.due_at, SendJob.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Serialised like the outbox's claims: one claimer at a time across processes
        # (SQLite's single writer already gives that).
        await session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK_KEY)))
        query = query.with_for_update(skip_locked=True)
    job = await session.scalar(query)
    if job is None:
        return None
    job.claimed_by = worker
    job.claimed_until = now + dt.timedelta(seconds=lease)
    job.attempts += 1
    await session.flush()
    return job


async def held(
    session: AsyncSession, job_id: int, worker: str, status: JobStatus
) -> SendJob | None:
    """The job, row-locked, if ``worker`` still holds it in ``status``; else None."""
    return await session.scalar(
        select(SendJob)
        .where(
            SendJob.id == job_id,
            SendJob.claimed_by == worker,
            SendJob.status == status.value,
        )
        .with_for_update()
    )


async def advance(
    session: AsyncSession,
    job: SendJob,
    status: JobStatus,
    *,
    email_id: int | None = None,
    file_id: int | None = None,
    keep_claim: bool = False,
    now: dt.datetime | None = None,
) -> None:
    """Move a held job on; the next step starts fresh (due now, its first attempt).

    With ``keep_claim`` the caller goes straight on with that step under the same claim
    (its attempt counted); otherwise the job waits, unclaimed, for whoever takes it next.
    """
    now = now or utcnow()
    job.status = status.value
    job.attempts = 1 if keep_claim else 0
    job.due_at = now
    if not keep_claim:
        job.claimed_by = None
        job.claimed_until = None
    if email_id is not None:
        job.email_id = email_id
    if file_id is not None:
        job.file_id = file_id
    if status in (JobStatus.DONE, JobStatus.FAILED):
        job.finished_at = now
    await session.flush()


async def fail(session: AsyncSession, job: SendJob, error: str) -> None:
    """Give a held job up for good, remembering why."""
    job.last_error = error[:MAX_ERROR]
    await advance(session, job, JobStatus.FAILED)


async def retry_later(
    session: AsyncSession, job_id: int, worker: str, error: str, delay: float
) -> None:
    """Hand a job back to be tried again after ``delay`` seconds (its attempts stay counted)."""
    await session.execute(
        update(SendJob)
        .where(SendJob.id == job_id, SendJob.claimed_by == worker)
        .values(
            claimed_by=None,
            claimed_until=None,
            due_at=utcnow() + dt.timedelta(seconds=delay),
            last_error=error[:MAX_ERROR],
        )
    )


async def open_count(session: AsyncSession) -> int:
    """How many jobs are still sending (for tests and metrics)."""
    query = select(func.count()).select_from(SendJob).where(SendJob.status.in_(OPEN))
    return int(await session.scalar(query) or 0)
