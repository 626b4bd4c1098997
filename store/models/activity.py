"""Per-contact activity records: assets, projects, contracts, calendar, opportunities,
comments, cases and campaigns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, contact_fk, created_at, money, pk
from store.types import UTCDateTime, utcnow


def _by_contact(table: str) -> Index:
    """The index behind "this contact's records, newest first"."""
    return Index(f"ix_{table}_contact_created", "contact_id", "created_at", "id")


class Asset(Base):
    """Equipment or a resource assigned to a contact."""

    __tablename__ = "assets"

    id: Mapped[int] = pk()
    contact_id: Mapped[int] = contact_fk()
    name: Mapped[str] = mapped_column(String(200))
    serial: Mapped[str] = mapped_column(String(100), default="")
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="in_service")
    date_assigned: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (_by_contact("assets"),)


class Project(Base):
    """A project; contacts take part in it through ``ProjectContact`` with a role."""

    __tablename__ = "projects"

    id: Mapped[int] = pk()
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="in_progress")
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    target_end_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = created_at()


class ProjectContact(Base):
    """A contact's role in a project (many-to-many)."""

    __tablename__ = "project_contacts"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (Index("ix_project_contacts_contact_created", "contact_id", "created_at"),)


class Contract(Base):
    """A service contract ("Póliza") of a contact."""

    __tablename__ = "contracts"

    id: Mapped[int] = pk()
    contact_id: Mapped[int] = contact_fk()
    subject: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(60), default="")
    status: Mapped[str] = mapped_column(String(20), default="in_progress")
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    renewal_date: Mapped[dt.date | None] = mapped_column(Date)
    sla_level: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (_by_contact("contracts"),)


class CalendarEvent(Base):
    """A meeting, call, task or reminder with a contact."""

    __tablename__ = "calendar_events"

    id: Mapped[int] = pk()
    contact_id: Mapped[int] = contact_fk()
    title: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(20), default="meeting")
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    location: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(20), default="planned")
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (_by_contact("calendar_events"),)


class Opportunity(Base):
    """A sales opportunity of a contact (vtiger's Potentials)."""

    __tablename__ = "opportunities"

    id: Mapped[int] = pk()
    contact_id: Mapped[int] = contact_fk()
    name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = money()
    stage: Mapped[str] = mapped_column(String(30), default="prospecting")
    expected_close: Mapped[dt.date | None] = mapped_column(Date)
    probability: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (_by_contact("opportunities"),)


class Comment(Base):
    """An internal comment on a contact."""

    __tablename__ = "comments"

    id: Mapped[int] = pk()
    contact_id: Mapped[int] = contact_fk()
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (_by_contact("comments"),)


class Case(Base):
    """A support case with its gap-free number (``CAS-00001``)."""

    __tablename__ = "cases"

    id: Mapped[int] = pk()
    number: Mapped[str] = mapped_column(String(20), unique=True)
    contact_id: Mapped[int] = contact_fk()
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    severity: Mapped[str] = mapped_column(String(10), default="minor")
    category: Mapped[str] = mapped_column(String(60), default="")
    created_by: Mapped[str] = mapped_column(String(100), default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (_by_contact("cases"),)


class Campaign(Base):
    """A marketing campaign; contacts are members through ``CampaignContact``."""

    __tablename__ = "campaigns"

    id: Mapped[int] = pk()
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(20), default="planning")
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = created_at()


class CampaignContact(Base):
    """A contact's membership of a campaign, with its status."""

    __tablename__ = "campaign_contacts"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(30), default="none")
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (Index("ix_campaign_contacts_contact_created", "contact_id", "created_at"),)
