"""Emails in the store: stored once per Message-ID key, linked to contacts, records and files.

Every function works inside the caller's transaction. ``insert_email`` is the only place
an email row is created: ``INSERT … ON CONFLICT (message_id) DO NOTHING``, so of two
copies of one mail stored at once (a BCC and a CC copy, a redelivery) exactly one row
wins and the other learns it is a duplicate, on both databases, without an aborted
transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.filestore import StoredBlob
from store.models import (
    Case,
    ChatChannel,
    Contact,
    Document,
    Email,
    EmailContact,
    EmailFile,
    EmailRecord,
    StoredFile,
)
from store.vocab import FileSource

# Contact ids are 32-bit integers on PostgreSQL: a larger plus-address id matches nothing.
MAX_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class NewEmail:
    """The fields of an email row as the ingest pipeline fills them."""

    message_id: str
    raw_sha256: str
    subject: str
    from_addr: str
    to_addrs: str
    cc_addrs: str
    body: str
    date: dt.datetime
    direction: str
    in_reply_to: str = ""
    references: str = ""
    thread_root_id: int | None = None


@dataclass(frozen=True, slots=True)
class NewFile:
    """An attachment already in the FileStore, to become a file of each linked contact."""

    name: str
    mime_type: str
    blob: StoredBlob


@dataclass(frozen=True, slots=True)
class ThreadHit:
    """The stored email a new one answers, with what the new one inherits from it."""

    email_id: int
    root_id: int
    contact_ids: tuple[int, ...]
    record_numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LinkedRoom:
    """A chat room linked to a contact, with the contact's name for the message."""

    room_id: str
    contact_id: int
    contact_name: str


@dataclass(frozen=True, slots=True)
class RecordHit:
    """A record named in a subject that exists: its number and its contact."""

    number: str
    contact_id: int


async def email_id_for(session: AsyncSession, message_id: str) -> int | None:
    """The id of the email stored under ``message_id`` (a normalised key), if any."""
    found = await session.scalar(select(Email.id).where(Email.message_id == message_id))
    return int(found) if found is not None else None


async def contact_ids_of(session: AsyncSession, email_id: int) -> list[int]:
    """The contacts an email is linked to, in the order they were linked."""
    rows = await session.scalars(
        select(EmailContact.contact_id)
        .where(EmailContact.email_id == email_id)
        .order_by(EmailContact.created_at, EmailContact.contact_id)
    )
    return list(rows)


async def find_thread(session: AsyncSession, message_ids: Sequence[str]) -> ThreadHit | None:
    """The stored email among ``message_ids`` that comes first in that (preference) order."""
    if not message_ids:
        return None
    rows = await session.execute(
        select(Email.id, Email.message_id, Email.thread_root_id).where(
            Email.message_id.in_(list(message_ids))
        )
    )
    by_key = {key: (email_id, root) for email_id, key, root in rows}
    for key in message_ids:
        if key in by_key:
            email_id, root = by_key[key]
            records = await session.scalars(
                select(EmailRecord.record_number)
                .where(EmailRecord.email_id == email_id)
                .order_by(EmailRecord.position, EmailRecord.record_number)
            )
            contacts = await contact_ids_of(session, email_id)
            return ThreadHit(email_id, root or email_id, tuple(contacts), tuple(records))
    return None


async def find_records(session: AsyncSession, numbers: Sequence[str]) -> list[RecordHit]:
    """The cases and documents with these numbers that exist, in the order given."""
    if not numbers:
        return []
    wanted = list(numbers)
    found: dict[str, int] = {}
    for model in (Case, Document):
        rows = await session.execute(
            select(model.number, model.contact_id).where(model.number.in_(wanted))
        )
        found |= {str(number): int(contact_id) for number, contact_id in rows}
    return [RecordHit(number, found[number]) for number in wanted if number in found]


async def existing_contacts(session: AsyncSession, contact_ids: Sequence[int]) -> list[int]:
    """The ids among ``contact_ids`` that belong to a contact, in the order given."""
    wanted = [cid for cid in contact_ids if 0 < cid <= MAX_ID]
    if not wanted:
        return []
    found = set(await session.scalars(select(Contact.id).where(Contact.id.in_(wanted))))
    return [cid for cid in wanted if cid in found]


async def contacts_with_addresses(session: AsyncSession, addresses: Sequence[str]) -> list[int]:
    """Contacts whose email or secondary email is one of ``addresses`` (case-insensitive).

    One address may belong to several contacts (a shared secondary email): all of them
    are returned, oldest first.
    """
    lowered = sorted({address.lower() for address in addresses})
    if not lowered:
        return []
    rows = await session.scalars(
        select(Contact.id)
        .where(
            or_(
                func.lower(Contact.email).in_(lowered),
                func.lower(Contact.secondary_email).in_(lowered),
            )
        )
        .order_by(Contact.id)
    )
    return list(rows)


async def insert_email(session: AsyncSession, email: NewEmail) -> int | None:
    """Insert the email row; None when one with its ``message_id`` is already stored."""
    values = {field: getattr(email, field) for field in NewEmail.__dataclass_fields__}
    factory = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        factory(Email)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["message_id"])
        .returning(Email.id)
    )
    found = (await session.execute(statement)).scalar()
    return int(found) if found is not None else None


async def link_contacts(session: AsyncSession, email_id: int, contact_ids: Sequence[int]) -> None:
    """Link the email to each contact (a link that already exists is kept as it is)."""
    rows = [{"email_id": email_id, "contact_id": cid} for cid in dict.fromkeys(contact_ids)]
    if not rows:
        return
    factory = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(factory(EmailContact).values(rows).on_conflict_do_nothing())


async def link_records(session: AsyncSession, email_id: int, numbers: Sequence[str]) -> None:
    """Link a new email to records by number, in order (``position``)."""
    rows = [
        {"email_id": email_id, "record_number": number, "position": position}
        for position, number in enumerate(dict.fromkeys(numbers))
    ]
    if rows:
        await session.execute(insert(EmailRecord), rows)


async def add_files(
    session: AsyncSession, email_id: int, contact_ids: Sequence[int], files: Sequence[NewFile]
) -> list[int]:
    """Each attachment as a file (source ``email``) of each contact, linked to the email.

    The Blob rows must already be recorded (``store.filestore.record_blobs``). Returns
    the new file ids, contact by contact, attachments in message order.
    """
    rows = [
        {
            "contact_id": contact_id,
            "name": file.name[:255],
            "size": file.blob.size,
            "sha256": file.blob.sha256,
            "mime_type": file.mime_type[:127],
            "source": FileSource.EMAIL.value,
            "note": "",
            "created_by": "",
        }
        for contact_id in dict.fromkeys(contact_ids)
        for file in files
    ]
    if not rows:
        return []
    result = await session.scalars(
        insert(StoredFile).returning(StoredFile.id, sort_by_parameter_order=True), rows
    )
    file_ids = [int(file_id) for file_id in result]
    await session.execute(
        insert(EmailFile), [{"email_id": email_id, "file_id": fid} for fid in file_ids]
    )
    return file_ids


async def linked_rooms(session: AsyncSession, contact_ids: Sequence[int]) -> list[LinkedRoom]:
    """Every room linked to these contacts: contact by contact, then in the order linked."""
    if not contact_ids:
        return []
    rows = await session.execute(
        select(ChatChannel.room_id, Contact.id, Contact.first_name, Contact.last_name)
        .join(Contact, Contact.id == ChatChannel.contact_id)
        .where(ChatChannel.contact_id.in_(list(contact_ids)))
        .order_by(ChatChannel.created_at, ChatChannel.id)
    )
    order = {cid: n for n, cid in enumerate(contact_ids)}
    rooms = [
        LinkedRoom(str(room), int(cid), f"{first} {last}".strip())
        for room, cid, first, last in rows
    ]
    return sorted(rooms, key=lambda room: order[room.contact_id])


async def email_row(session: AsyncSession, email_id: int) -> Email | None:
    """The stored email with this id."""
    return await session.get(Email, email_id)
