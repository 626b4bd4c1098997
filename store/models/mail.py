"""Emails, stored files and content-addressed blobs, and how they link to contacts and records."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, contact_fk, created_at, pk
from store.types import UTCDateTime


class Blob(Base):
    """Bytes stored once by SHA-256, however many files or emails refer to them."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = created_at()


class StoredFile(Base):
    """A document of a contact; ``name`` is display data only, never a path."""

    __tablename__ = "files"

    id: Mapped[int] = pk()
    contact_id: Mapped[int] = contact_fk()
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256", ondelete="RESTRICT"))
    mime_type: Mapped[str] = mapped_column(String(127), default="application/octet-stream")
    source: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (Index("ix_files_contact_created", "contact_id", "created_at", "id"),)


class Email(Base):
    """One email, stored once per Message-ID (or per raw-bytes hash when it has none)."""

    __tablename__ = "emails"

    id: Mapped[int] = pk()
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    raw_sha256: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    from_addr: Mapped[str] = mapped_column(Text, default="")
    to_addrs: Mapped[str] = mapped_column(Text, default="")
    cc_addrs: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    date: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    direction: Mapped[str] = mapped_column(String(10))
    in_reply_to: Mapped[str] = mapped_column(Text, default="")
    references: Mapped[str] = mapped_column(Text, default="")
    thread_root_id: Mapped[int | None] = mapped_column(ForeignKey("emails.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()


class EmailContact(Base):
    """An email belongs to every contact whose address it carries (many-to-many)."""

    __tablename__ = "email_contacts"

    email_id: Mapped[int] = mapped_column(
        ForeignKey("emails.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (Index("ix_email_contacts_contact_created", "contact_id", "created_at"),)


class EmailFile(Base):
    """An attachment of an email, as the file it became."""

    __tablename__ = "email_files"

    email_id: Mapped[int] = mapped_column(
        ForeignKey("emails.id", ondelete="CASCADE"), primary_key=True
    )
    file_id: Mapped[int] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    )


class EmailRecord(Base):
    """An email linked to a record by number (``CAS-00007``, ``OC-00012`` in its subject)."""

    __tablename__ = "email_records"

    email_id: Mapped[int] = mapped_column(
        ForeignKey("emails.id", ondelete="CASCADE"), primary_key=True
    )
    record_number: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
