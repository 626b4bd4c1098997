"""Durable background jobs: a document to email (``enviar OC-00012``), claimed and finished once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, created_at, pk
from store.types import UTCDateTime, utcnow


class SendJob(Base):
    """One request to email a purchase order or quote as PDF, and how far it got.

    ``pending`` → (the relay accepted the mail, stored with the PO's new status)
    ``mailed`` → (the PDF was posted to the room, or that was given up) ``done``;
    any step may end in ``failed``. ``token`` makes the email's Message-ID, fixed when
    the job is recorded, so a resend after a crash carries the same id and the
    recipient's mail system can drop the copy.
    """

    __tablename__ = "send_jobs"

    id: Mapped[int] = pk()
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(255), default="")
    token: Mapped[str] = mapped_column(String(40), unique=True)
    room_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str] = mapped_column(String(64), default="")
    requested_by: Mapped[str] = mapped_column(String(100), default="")
    locale: Mapped[str] = mapped_column(String(5), default="es")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    email_id: Mapped[int | None] = mapped_column(ForeignKey("emails.id", ondelete="SET NULL"))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'mailed', 'done', 'failed')", name="status"),
        Index("ix_send_jobs_status_due", "status", "due_at"),
        Index("ix_send_jobs_document_status", "document_id", "status"),
    )
