"""Bot runtime state: dialog sessions, processed ids, the outbox, sequences, seen signatures."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, created_at
from store.types import UTCDateTime, utcnow


class DialogSession(Base):
    """One open wizard per (room, user, thread); ``thread_id`` is '' outside threads."""

    __tablename__ = "dialog_sessions"

    room_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    thread_id: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    wizard: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(60))
    data: Mapped[str] = mapped_column(Text, default="{}")
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProcessedMessage(Base):
    """A chat message id already handled: a redelivery is acknowledged and dropped."""

    __tablename__ = "processed_messages"

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime] = created_at()


class Outbox(Base):
    """A message to post, written in the transaction that caused it; sent after commit.

    ``msg_id`` is the chat message id we post with, so a resend after a timeout can ask
    the chat whether the first attempt landed instead of posting twice.
    """

    __tablename__ = "outbox"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    msg_id: Mapped[str] = mapped_column(String(32), unique=True)
    room_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str] = mapped_column(String(64), default="")
    key: Mapped[str] = mapped_column(String(80))
    params: Mapped[str] = mapped_column(Text, default="{}")
    locale: Mapped[str] = mapped_column(String(5), default="es")
    created_at: Mapped[dt.datetime] = created_at()
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_outbox_pending", "sent_at", "seq"),
        Index("ix_outbox_room_seq", "room_id", "seq"),
        # Each room's unsent rows only: a claim's "earlier row of this room still claimed?"
        # must not walk the room's whole sent history (migration 0005).
        Index(
            "ix_outbox_room_unsent",
            "room_id",
            "seq",
            sqlite_where=text("sent_at IS NULL"),
            postgresql_where=text("sent_at IS NULL"),
        ),
    )


class Sequence(Base):
    """The last number issued per series (``OC``, ``COT``, ``OV``, ``CAS``).

    Incremented inside the creating transaction: the row lock serialises creators and a
    rollback returns the number, so numbers are gap-free.
    """

    __tablename__ = "sequences"

    name: Mapped[str] = mapped_column(String(10), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class Meta(Base):
    """Small key/value facts about the database (e.g. that the demo data is loaded)."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class ChatMemory(Base):
    """What a user was last shown in a room (a numbered choice, a list page), to answer
    ``2`` or ``página 3`` next; one row per (room, user, thread)."""

    __tablename__ = "chat_memory"

    room_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    thread_id: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    kind: Mapped[str] = mapped_column(String(20))
    data: Mapped[str] = mapped_column(Text, default="{}")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EmailWebhookSignature(Base):
    """A signature ``POST /webhooks/email`` accepted; the same one again is a replay.

    In the database, not in memory, because several serve processes share one database and
    a replay may reach any of them. Rows older than the signature window are pruned.
    """

    __tablename__ = "email_webhook_signatures"

    signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[dt.datetime] = created_at()
