"""Owns the send worker: claims ``enviar`` jobs, renders and mails the PDF, records the
outcome in one transaction, then posts the PDF to the room where it was asked for.

Chat commands run inside the inbox's batch transaction, which must never wait on the
network, so ``enviar`` only records a job; this worker does the slow part after commit.

Exactly once, as far as SMTP allows: a job is claimed (with a lease) before the relay is
contacted, and the relay's acceptance is recorded together with everything it changed.
A crash between the relay accepting the mail and that commit leaves the job claimed; when
the lease runs out the mail is sent again, with the same Message-ID (fixed when the job
was recorded), so the recipient's system can tell it is the same message. On shutdown the
job in hand gets a short grace to finish first. Posting the PDF to the room is a second
step (``mailed`` → ``done``) that survives restarts too: at least once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.message import EmailMessage
from typing import Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import Param
from bot.mail.compose import Loaded, load_document, mail_text, words
from bot.mail.outbound import (
    SMTP_STEP,
    Attachment,
    OutgoingMail,
    RelayConfig,
    RelayError,
    as_bytes,
    build_message,
    deliver,
    sender_address,
)
from bot.mail.pdf import file_name, render_pdf
from bot.mail.send_record import (
    PDF_MIME,
    JobView,
    SentMail,
    backoff,
    record_failure,
    record_posted,
    record_retry,
    record_sent,
)
from bot.transport.rocketchat.errors import DeliveryUnknownError, TransportError
from store.filestore import FileStore
from store.models import SendJob, StoredFile
from store.send_jobs import JobStatus, claim_next

log = logging.getLogger(__name__)


@runtime_checkable
class FilePoster(Protocol):
    """A chat transport that can post a file message (Rocket.Chat's rooms.media)."""

    async def send_file(
        self,
        room_id: str,
        name: str,
        data: bytes,
        mime: str,
        *,
        thread_id: str = "",
        caption: str = "",
    ) -> str:
        """Post ``data`` as a file in ``room_id``; returns the message id."""


@dataclass(frozen=True, slots=True)
class SenderConfig:
    """The relay and the limits of the send worker."""

    relay: RelayConfig
    mail_domain: str
    smtp_step_seconds: float = SMTP_STEP
    # Longer than a whole SMTP exchange may take (three steps' time), so a live worker
    # never loses a job it is still sending.
    lease_seconds: float = 600.0
    poll_seconds: float = 30.0
    max_attempts: int = 5
    stop_grace_seconds: float = 15.0
    backoff_base: float = 30.0
    backoff_cap: float = 1800.0


def message_id(token: str, mail_domain: str) -> str:
    """The job's Message-ID; the same on every attempt."""
    return f"<send-{token}@{mail_domain}>"


class DocumentSender:
    """The background worker; woken after each commit, polling as a fallback."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        files: FileStore,
        config: SenderConfig,
        *,
        poster: FilePoster | None = None,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._files = files
        self._config = config
        self._poster = poster
        self._on_queued = on_queued
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.worker = f"sender-{secrets.token_hex(4)}"
        self.sent = 0

    def wake(self) -> None:
        """Called after a commit that may have recorded a job."""
        self._wake.set()

    def start(self) -> None:
        """Run the worker in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="document-sender")

    async def stop(self) -> None:
        """Let the job in hand finish (for ``stop_grace_seconds`` at most), then stop.

        A job cut short after the grace is taken again when its lease runs out.
        """
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), self._config.stop_grace_seconds)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def drain(self) -> int:
        """Work through every job due now (the shell calls this after each line); a
        failure is logged, not raised, and its job is taken again when its lease ends."""
        try:
            return await self.run_pass()
        except Exception:
            log.exception("send worker pass failed")
            return 0

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._config.poll_seconds)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.run_pass()
            except Exception:  # the database is away: the next wake or poll tries again
                log.exception("send worker pass failed")

    async def run_pass(self) -> int:
        """Claim and work due jobs one at a time until none is left; returns how many."""
        handled = 0
        while not self._stopping and (job := await self._claim()) is not None:
            await self._work(job)
            handled += 1
        return handled

    async def _claim(self) -> JobView | None:
        async with self._sessions.begin() as session:
            row = await claim_next(session, self.worker, lease=self._config.lease_seconds)
            return None if row is None else _view(row)

    async def _work(self, job: JobView) -> None:
        if job.status == JobStatus.PENDING:
            file_id = await self._mail(job)
            if file_id is None:
                return
            job = _mailed(job, file_id)
        await self._post(job)

    async def _mail(self, job: JobView) -> int | None:
        """Send the mail and record it; the stored PDF's file id, or None if not sent."""
        async with self._sessions() as session:
            loaded = await load_document(session, job.document_id)
        if loaded is None:
            await self._finish_failed(job, "send_gone")
            return None
        try:
            pdf = await asyncio.to_thread(render_pdf, loaded.pdf, job.locale)
            mail = self._compose(job, loaded, pdf)
            message = build_message(mail)
            raw = as_bytes(message)
        except Exception:  # data the PDF or the message cannot take: retrying cannot help
            log.exception("send job %s (%s): the mail could not be built", job.id, job.number)
            await self._finish_failed(job, "send_error")
            return None
        try:
            await deliver(
                self._config.relay, mail.from_addr, job.recipient, raw,
                step_seconds=self._config.smtp_step_seconds,
            )  # fmt: skip
        except RelayError as exc:
            await self._relay_failed(job, exc)
            return None
        sent = await self._sent(job, loaded, message, raw, pdf)
        async with self._sessions.begin() as session:
            file_id = await record_sent(session, self.worker, job, sent)
        if file_id is None:
            log.warning("send job %s was taken over before its mail was recorded", job.id)
            return None
        self.sent += 1
        self._on_queued()
        return file_id

    def _compose(self, job: JobView, loaded: Loaded, pdf: bytes) -> OutgoingMail:
        domain = self._config.mail_domain
        text = mail_text(loaded.pdf, job.locale)
        return OutgoingMail(
            message_id=message_id(job.token, domain),
            from_addr=sender_address(self._config.relay, domain),
            from_name=text.from_name,
            to_addr=job.recipient,
            to_name=job.recipient_name,
            # Replies come back through the dropbox, straight to this contact (DOMAIN §5).
            reply_to=f"crm+{loaded.contact_id}@{domain}",
            subject=text.subject,
            text=text.body,
            attachments=(Attachment(file_name(loaded.pdf), PDF_MIME, pdf),),
        )

    async def _sent(
        self, job: JobView, loaded: Loaded, message: EmailMessage, raw: bytes, pdf: bytes
    ) -> SentMail:
        """What the accepted mail is stored as; the bytes go to the file store first."""
        raw_blob, pdf_blob = await self._files.put(raw), await self._files.put(pdf)
        return SentMail(
            message_id=str(message["Message-ID"]),
            subject=str(message["Subject"]),
            from_addr=str(message["From"]),
            to_addr=str(message["To"]),
            body=message_body(message),
            raw=raw_blob,
            pdf=pdf_blob,
            file_name=file_name(loaded.pdf),
            file_note=words(job.locale)["note"].format(to=job.recipient),
            contact_id=loaded.contact_id,
            contact_name=loaded.contact_name,
            title=loaded.pdf.title,
            kind=loaded.pdf.kind,
        )

    async def _relay_failed(self, job: JobView, exc: RelayError) -> None:
        log.warning("send job %s (%s): relay said %s", job.id, job.number, exc.reason)
        if exc.permanent or job.attempts >= self._config.max_attempts:
            await self._finish_failed(job, "send_failed", reason=exc.reason)
            return
        tell = job.attempts == 1  # said once, not on every retry
        async with self._sessions.begin() as session:
            await record_retry(session, self.worker, job, exc.reason, self._delay(job), tell=tell)
        if tell:
            self._on_queued()

    def _delay(self, job: JobView) -> float:
        return backoff(job.attempts, self._config.backoff_base, self._config.backoff_cap)

    async def _finish_failed(self, job: JobView, key: str, **params: Param) -> None:
        async with self._sessions.begin() as session:
            told = await record_failure(session, self.worker, job, key, **params)
        if told:
            self._on_queued()

    async def _post(self, job: JobView) -> None:
        """Post the PDF to the room; transient chat failures are retried a few times."""
        if self._poster is not None and job.file_id is not None:
            try:
                await self._post_file(job, self._poster)
            except TransportError as exc:
                if job.attempts < self._config.max_attempts:
                    async with self._sessions.begin() as session:
                        await record_retry(
                            session, self.worker, job, str(exc), self._delay(job), tell=False
                        )
                    return
                log.error("send job %s: PDF not posted to %s: %s", job.id, job.room_id, exc)
            except DeliveryUnknownError as exc:  # may have landed: posting again could double it
                log.warning("send job %s: PDF post unconfirmed: %s", job.id, exc)
            except Exception:  # refused for good (room gone, no permission): the mail went out
                log.exception("send job %s: PDF not posted to %s", job.id, job.room_id)
        async with self._sessions.begin() as session:
            await record_posted(session, self.worker, job)

    async def _post_file(self, job: JobView, poster: FilePoster) -> None:
        async with self._sessions() as session:
            stored = await session.get(StoredFile, job.file_id)
        if stored is None:  # the contact's file was deleted meanwhile: nothing to post
            return
        data = await asyncio.to_thread(self._files.read_bytes, stored.sha256)
        await poster.send_file(
            job.room_id, stored.name, data, stored.mime_type, thread_id=job.thread_id
        )


def message_body(message: EmailMessage) -> str:
    """The plain-text body as stored in the history."""
    part = message.get_body(preferencelist=("plain",))
    return str(part.get_content()) if isinstance(part, EmailMessage) else ""


def _view(row: SendJob) -> JobView:
    return JobView(
        id=row.id,
        status=row.status,
        document_id=row.document_id,
        number=row.number,
        recipient=row.recipient,
        recipient_name=row.recipient_name,
        token=row.token,
        room_id=row.room_id,
        thread_id=row.thread_id,
        requested_by=row.requested_by,
        locale=row.locale,
        attempts=row.attempts,
        file_id=row.file_id,
    )


def _mailed(job: JobView, file_id: int) -> JobView:
    """The job as it stands after ``record_sent``: mailed, its claim kept for posting."""
    return replace(job, status=JobStatus.MAILED.value, file_id=file_id, attempts=1)
