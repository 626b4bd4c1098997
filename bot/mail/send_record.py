"""Owns what a send job leaves behind, in one transaction: the outbound email, the PDF as a
file of the contact, the purchase order's new status, and the messages that say so."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat import Param, encode_params
from store.filestore import StoredBlob, record_blobs
from store.models import ChatChannel, Email, EmailContact, EmailFile, EmailRecord, StoredFile
from store.outbox import OutboxItem, enqueue
from store.send_jobs import JobStatus, advance, fail, held, retry_later
from store.services.status import LABELS, StatusKind, can_change, change_status, find_record
from store.types import utcnow
from store.vocab import FileSource, label

OUTBOUND = "outbound"
SENT = "sent"
PDF_MIME = "application/pdf"


@dataclass(frozen=True, slots=True)
class JobView:
    """A claimed job as the worker needs it once its session is closed."""

    id: int
    status: str
    document_id: int
    number: str
    recipient: str
    recipient_name: str
    token: str
    room_id: str
    thread_id: str
    requested_by: str
    locale: str
    attempts: int
    file_id: int | None

    def reply(self, key: str, **params: Param) -> OutboxItem:
        """A message to the room (and thread) where the user asked."""
        return OutboxItem(self.room_id, key, encode_params(params), self.locale, self.thread_id)


@dataclass(frozen=True, slots=True)
class SentMail:
    """A mail the relay accepted, with the stored bytes of it and of its PDF."""

    message_id: str
    subject: str
    from_addr: str
    to_addr: str
    body: str
    raw: StoredBlob
    pdf: StoredBlob
    file_name: str
    file_note: str
    contact_id: int
    contact_name: str
    title: str
    kind: str


async def record_sent(
    session: AsyncSession, worker: str, job: JobView, mail: SentMail
) -> int | None:
    """Store everything the accepted mail changed; the PDF's file id, or None when
    ``worker`` lost the job. The claim is kept: the same worker posts the PDF next."""
    row = await held(session, job.id, worker, JobStatus.PENDING)
    if row is None:
        return None  # its claim expired and another worker took it over
    await record_blobs(session, [mail.raw, mail.pdf])
    file = _file(job, mail)
    session.add(file)
    email = await _email(session, mail)
    await _link(session, email, file, job.number, mail.contact_id)
    old, new = await _mark_sent(session, job.number, job.locale)
    params: dict[str, Param] = {
        "number": job.number,
        "title": mail.title,
        "kind": mail.kind,
        "recipient": job.recipient,
        "recipient_name": job.recipient_name,
        "contact": mail.contact_name,
        "file": mail.file_name,
        "old": old,
        "new": new,
    }
    items = [job.reply("send_done", **params)]
    items += await _notices(session, mail.contact_id, job, {**params, "who": job.requested_by})
    await enqueue(session, items)
    await advance(
        session, row, JobStatus.MAILED, email_id=email.id, file_id=file.id, keep_claim=True
    )
    return file.id


def _file(job: JobView, mail: SentMail) -> StoredFile:
    """The PDF as one of the contact's files, uploaded by whoever asked for the send."""
    return StoredFile(
        contact_id=mail.contact_id,
        name=mail.file_name,
        size=mail.pdf.size,
        sha256=mail.pdf.sha256,
        mime_type=PDF_MIME,
        source=FileSource.UPLOAD.value,
        note=mail.file_note,
        created_by=job.requested_by,
    )


async def _email(session: AsyncSession, mail: SentMail) -> Email:
    # The ingest may already hold this very message (our copy came back through the
    # dropbox): one Message-ID is one email, so that row is linked instead.
    existing = await session.scalar(select(Email).where(Email.message_id == mail.message_id))
    if existing is not None:
        return existing
    email = Email(
        message_id=mail.message_id,
        raw_sha256=mail.raw.sha256,
        subject=mail.subject,
        from_addr=mail.from_addr,
        to_addrs=mail.to_addr,
        body=mail.body,
        date=utcnow(),
        direction=OUTBOUND,
    )
    session.add(email)
    await session.flush()
    return email


async def _link(
    session: AsyncSession, email: Email, file: StoredFile, number: str, contact_id: int
) -> None:
    await session.flush()  # the file's id
    session.add(EmailFile(email_id=email.id, file_id=file.id))
    if await session.get(EmailContact, (email.id, contact_id)) is None:
        session.add(EmailContact(email_id=email.id, contact_id=contact_id))
    if await session.get(EmailRecord, (email.id, number)) is None:
        session.add(EmailRecord(email_id=email.id, record_number=number))
    await session.flush()


async def _mark_sent(session: AsyncSession, number: str, locale: str) -> tuple[str, str]:
    """A purchase order moves to ``sent`` when its status allows; (old, new) labels, or
    ("", "") when nothing moved (a quote, or a PO already sent, received or cancelled)."""
    record = await find_record(session, number)
    if record is None or record.kind is not StatusKind.PURCHASE_ORDER:
        return "", ""
    if not can_change(record.kind, record.status, SENT):
        return "", ""
    change = await change_status(session, record, SENT)
    labels = LABELS[record.kind]
    return label(labels, change.old, locale), label(labels, change.new, locale)


async def _notices(
    session: AsyncSession, contact_id: int, job: JobView, params: dict[str, Param]
) -> list[OutboxItem]:
    """``notify_sent`` for every other room linked to the contact (DOMAIN §5)."""
    rooms = await session.scalars(
        select(ChatChannel.room_id)
        .where(ChatChannel.contact_id == contact_id, ChatChannel.room_id != job.room_id)
        .order_by(ChatChannel.created_at, ChatChannel.id)
    )
    encoded = encode_params(params)
    return [OutboxItem(room, "notify_sent", encoded, job.locale) for room in dict.fromkeys(rooms)]


async def record_failure(
    session: AsyncSession, worker: str, job: JobView, key: str, **params: Param
) -> bool:
    """Give the job up and tell the user (``key``); False when ``worker`` lost the job."""
    status = JobStatus(job.status)
    row = await held(session, job.id, worker, status)
    if row is None:
        return False
    await fail(session, row, str(params.get("reason") or key))
    await enqueue(session, [job.reply(key, number=job.number, recipient=job.recipient, **params)])
    return True


async def record_posted(session: AsyncSession, worker: str, job: JobView) -> bool:
    """The PDF went to the room (or that was given up): the job is done."""
    row = await held(session, job.id, worker, JobStatus.MAILED)
    if row is None:
        return False
    await advance(session, row, JobStatus.DONE)
    return True


def backoff(attempts: int, base: float, cap: float) -> float:
    """Seconds before attempt ``attempts + 1``: doubling from ``base``, at most ``cap``."""
    return float(min(cap, base * 2 ** max(attempts - 1, 0)))


async def record_retry(
    session: AsyncSession, worker: str, job: JobView, reason: str, delay: float, *, tell: bool
) -> None:
    """Hand the job back for a later attempt; with ``tell`` the user hears it is delayed."""
    await retry_later(session, job.id, worker, reason, delay)
    if tell:
        await enqueue(session, [job.reply("send_retrying", number=job.number)])
