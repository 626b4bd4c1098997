"""The one ingest pipeline every mail transport feeds: parse, store once, link, notify.

Per mail: the size check, then ``parse_mail`` in a worker thread (refused mail stops
here); a quick look for the Message-ID key (a known mail stops here, as a duplicate);
the raw bytes and each attachment into the FileStore (outside any transaction, so no
database lock waits on disk I/O; content-addressed, so a retry writes nothing twice);
then one transaction: match, insert the email (``ON CONFLICT DO NOTHING``: a copy
stored meanwhile makes this one a duplicate), link contacts and records, turn the
attachments into files of every matched contact, and queue one notification per linked
room in the outbox. Commit, then ``on_commit`` wakes the notifier.

Unmatched mail keeps its raw bytes and attachments as blobs only (a file needs a
contact); ``link`` later re-reads the raw message and makes them that contact's files.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import Param, encode_params
from bot.mail.match import MatchKeys, first_case, match_keys
from bot.mail.parse import TOO_LARGE, Limits, MailRefused, ParsedMail, parse_mail
from store.filestore import FileStore, StoredBlob, record_blobs
from store.outbox import OutboxItem, enqueue
from store.services import emails
from store.services.emails import NewEmail, NewFile, ThreadHit
from store.types import utcnow

log = logging.getLogger(__name__)

NOTIFY_KEY = "notify_email"
NOTIFY_CASE_KEY = "notify_email_case"
# A Date header further ahead than this is a wrong clock: the mail is dated on arrival.
MAX_CLOCK_SKEW = dt.timedelta(days=1)
# Parsing a 25 MiB mail takes about 290 MB of memory (EMAIL.md §3): however many transports
# deliver at once, only this many mails are parsed at a time.
PARSE_SLOTS = 2


@dataclass(frozen=True)
class IngestResult:
    """What became of one mail: stored (or already stored), and to whom; or refused why."""

    email_id: int | None
    duplicate: bool
    contact_ids: tuple[int, ...]
    refused: str | None  # "too_large" | "too_complex" | None


@dataclass(frozen=True, slots=True)
class _Match:
    thread: ThreadHit | None
    contact_ids: tuple[int, ...]
    record_numbers: tuple[str, ...]


class _Duplicate(Exception):
    """The email row was already there: roll the transaction back."""


class MailIngest:
    """Stores raw mail once, linked to its contacts, records, files and rooms."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        files: FileStore,
        *,
        max_bytes: int,
        mail_domain: str,
        locale: str = "es",
        on_commit: Callable[[], None] | None = None,
        limits: Limits | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._files = files
        self._domain = mail_domain
        self._locale = locale
        self._on_commit = on_commit or (lambda: None)
        self._limits = dataclasses.replace(limits or Limits(), max_bytes=max_bytes)
        self._clock = clock
        self._parse_slots = asyncio.Semaphore(PARSE_SLOTS)

    async def ingest(
        self, raw: bytes, *, envelope_to: Sequence[str] = (), notify: bool = True
    ) -> IngestResult:
        """Store ``raw`` once; never raises for bad mail, only for infrastructure errors.

        ``envelope_to`` are the SMTP envelope recipients (they carry a BCC'd plus-address);
        ``notify=False`` stores without telling the rooms (for mail the bot sent itself).
        """
        if len(raw) > self._limits.max_bytes:
            log.info("mail refused: %d bytes is over the limit", len(raw))
            return IngestResult(None, False, (), TOO_LARGE)
        try:
            mail = await self._parse(raw)
        except MailRefused as refused:
            log.info("mail refused: %s", refused)
            return IngestResult(None, False, (), refused.reason)
        known = await self._known(mail.message_id)
        if known is not None:
            return known
        blobs = await self._put_blobs(raw, mail)
        try:
            return await self._store(mail, blobs, envelope_to, notify)
        except IntegrityError:
            # A matched contact or thread email deleted meanwhile: match again, once.
            log.warning("mail %s: store conflict, retrying", mail.message_id, exc_info=True)
            return await self._store(mail, blobs, envelope_to, notify)

    async def link(self, email_id: int, contact_id: int) -> int:
        """Link a stored email to a contact later; its attachments become that contact's files.

        Returns how many files were added: 0 when the two were already linked or the raw
        message is not in the FileStore (demo data). LookupError when either is unknown.
        """
        async with self._sessions() as session, session.begin():
            email = await emails.email_row(session, email_id)
            if email is None or not await emails.existing_contacts(session, [contact_id]):
                raise LookupError(f"no email {email_id} or contact {contact_id}")
            if contact_id in await emails.contact_ids_of(session, email_id):
                return 0
            raw_sha256 = email.raw_sha256
        files = await self._reread_attachments(raw_sha256)
        async with self._sessions() as session, session.begin():
            if contact_id in await emails.contact_ids_of(session, email_id):
                return 0  # linked meanwhile by another caller
            await emails.link_contacts(session, email_id, [contact_id])
            await record_blobs(session, sorted((file.blob for file in files), key=_digest))
            return len(await emails.add_files(session, email_id, [contact_id], files))

    async def _reread_attachments(self, raw_sha256: str) -> list[NewFile]:
        try:
            raw = await asyncio.to_thread(self._files.read_bytes, raw_sha256)
            mail = await self._parse(raw)
        except (FileNotFoundError, ValueError, MailRefused):
            return []
        return (await self._put_blobs(raw, mail))[1]

    async def _parse(self, raw: bytes) -> ParsedMail:
        async with self._parse_slots:
            return await asyncio.to_thread(parse_mail, raw, self._limits)

    async def _known(self, message_id: str) -> IngestResult | None:
        async with self._sessions() as session, session.begin():
            email_id = await emails.email_id_for(session, message_id)
            if email_id is None:
                return None
            contacts = await emails.contact_ids_of(session, email_id)
        return IngestResult(email_id, True, tuple(contacts), None)

    async def _put_blobs(self, raw: bytes, mail: ParsedMail) -> tuple[StoredBlob, list[NewFile]]:
        """The raw message and each attachment into the FileStore.

        Each ``put`` fsyncs in a worker thread; run side by side, their waits overlap.
        """
        raw_blob, *blobs = await asyncio.gather(
            self._files.put(raw), *(self._files.put(item.data) for item in mail.attachments)
        )
        files = [
            NewFile(item.name, item.mime_type, blob)
            for item, blob in zip(mail.attachments, blobs, strict=True)
        ]
        return raw_blob, files

    async def _store(
        self,
        mail: ParsedMail,
        blobs: tuple[StoredBlob, list[NewFile]],
        envelope_to: Sequence[str],
        notify: bool,
    ) -> IngestResult:
        raw_blob, files = blobs
        keys = match_keys(mail, envelope_to, self._domain)
        try:
            async with self._sessions() as session, session.begin():
                found = await _resolve(session, keys)
                email_id = await emails.insert_email(session, self._row(mail, keys, found))
                if email_id is None:
                    raise _Duplicate
                await emails.link_contacts(session, email_id, found.contact_ids)
                await emails.link_records(session, email_id, found.record_numbers)
                # In digest order: two mails carrying the same files lock their Blob rows
                # in the same order on PostgreSQL, so they never deadlock.
                blobs_in_order = sorted([raw_blob, *(f.blob for f in files)], key=_digest)
                await record_blobs(session, blobs_in_order)
                await emails.add_files(session, email_id, found.contact_ids, files)
                queued = await self._notify(session, mail, found) if notify else 0
        except _Duplicate:
            return await self._known(mail.message_id) or IngestResult(None, True, (), None)
        if mail.dropped_attachments:
            log.warning("mail %s: %d attachments over the limit were not kept",
                        mail.message_id, mail.dropped_attachments)  # fmt: skip
        if queued:
            self._on_commit()
        return IngestResult(email_id, False, found.contact_ids, None)

    def _row(self, mail: ParsedMail, keys: MatchKeys, found: _Match) -> NewEmail:
        now = self._clock()
        date = mail.date if mail.date is not None and mail.date <= now + MAX_CLOCK_SKEW else now
        return NewEmail(
            message_id=mail.message_id,
            raw_sha256=mail.raw_sha256,
            subject=mail.subject,
            from_addr=", ".join(address.shown for address in mail.sender),
            to_addrs=", ".join(address.shown for address in mail.to),
            cc_addrs=", ".join(address.shown for address in mail.cc),
            body=mail.body,
            date=date,
            direction=keys.direction,
            in_reply_to=mail.in_reply_to[0] if mail.in_reply_to else "",
            references=" ".join(mail.references),
            thread_root_id=found.thread.root_id if found.thread else None,
        )

    async def _notify(self, session: AsyncSession, mail: ParsedMail, found: _Match) -> int:
        """One line per room linked to a matched contact; naming the case for case mail."""
        rooms = await emails.linked_rooms(session, found.contact_ids)
        if not rooms:
            return 0
        case = first_case(found.record_numbers)
        sender = mail.sender[0].shown if mail.sender else ""
        items = []
        for room in rooms:
            params: dict[str, Param] = {
                "sender": sender,
                "subject": mail.subject,
                "attachments": len(mail.attachments),
                "contact": room.contact_name,
            }
            key = NOTIFY_KEY if case is None else NOTIFY_CASE_KEY
            if case is not None:
                params["case"] = case
            items.append(OutboxItem(room.room_id, key, encode_params(params), self._locale))
        await enqueue(session, items)
        return len(items)


def _digest(blob: StoredBlob) -> str:
    return blob.sha256


async def _resolve(session: AsyncSession, keys: MatchKeys) -> _Match:
    """Look the keys up, in the order of the matching rules (``bot.mail.match``)."""
    thread = await emails.find_thread(session, keys.thread_ids)
    plus = await emails.existing_contacts(session, keys.plus_contact_ids)
    records = await emails.find_records(session, keys.record_numbers)
    by_address = await emails.contacts_with_addresses(session, keys.addresses)
    contacts = [
        *(thread.contact_ids if thread else ()),
        *plus,
        *(record.contact_id for record in records),
        *by_address,
    ]
    numbers = [*(thread.record_numbers if thread else ()), *(r.number for r in records)]
    return _Match(thread, tuple(dict.fromkeys(contacts)), tuple(dict.fromkeys(numbers)))
