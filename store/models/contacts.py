"""Contacts, their addresses, search keys, linked chat rooms and the chat users' roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, contact_fk, created_at, pk
from store.types import UTCDateTime, sort_key_string, utcnow


class Contact(Base):
    """A person the company deals with; everything else hangs off this row."""

    __tablename__ = "contacts"

    id: Mapped[int] = pk()
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    secondary_email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    mobile: Mapped[str | None] = mapped_column(String(40))
    account: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ContactKey(Base):
    """One folded search key (name word, full name, email, phone digits, account) per row.

    A single indexed column answers every prefix search with one range scan, on both
    databases, instead of an OR over five LIKE patterns that no index serves.
    """

    __tablename__ = "contact_keys"

    key: Mapped[str] = mapped_column(sort_key_string(254), primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )

    __table_args__ = (Index("ix_contact_keys_contact", "contact_id"),)


class Address(Base):
    """A postal address of a contact; services keep one primary and one fiscal at most."""

    __tablename__ = "addresses"

    id: Mapped[int] = pk()
    contact_id: Mapped[int] = contact_fk()
    label: Mapped[str] = mapped_column(String(100), default="")
    street: Mapped[str] = mapped_column(String(255), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(100), default="")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    is_fiscal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (Index("ix_addresses_contact_created", "contact_id", "created_at", "id"),)


class ChatChannel(Base):
    """A chat room linked to a contact (the seed's "Canales Chat"); a room links one contact."""

    __tablename__ = "chat_channels"

    id: Mapped[int] = pk()
    contact_id: Mapped[int] = contact_fk()
    room_id: Mapped[str] = mapped_column(String(64), unique=True)
    room_name: Mapped[str] = mapped_column(String(255), default="")
    linked_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (Index("ix_chat_channels_contact_created", "contact_id", "created_at", "id"),)


class ChatUser(Base):
    """A chat username mapped to a CRM role (CONTRACT §7)."""

    __tablename__ = "chat_users"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = created_at()
