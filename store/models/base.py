"""Declarative base, naming convention and the column shorthands every model shares."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import ForeignKey, Integer, MetaData, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from store.types import ExactDecimal, UTCDateTime, utcnow

# Stable constraint names make Alembic migrations reproducible on both databases.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every crmbot table."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), Decimal: ExactDecimal()}  # noqa: RUF012


def pk() -> Mapped[int]:
    """An integer surrogate key."""
    return mapped_column(Integer, primary_key=True, autoincrement=True)


def created_at() -> Mapped[datetime]:
    """Creation time, set by Python so it is timezone-aware on every database."""
    return mapped_column(UTCDateTime(), default=utcnow, nullable=False)


def contact_fk(*, nullable: bool = False) -> Mapped[int]:
    """The owning contact; records go when their contact goes."""
    return mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), nullable=nullable, index=False
    )


def money(*, nullable: bool = False) -> Mapped[Decimal]:
    """An amount in currency units, exact to the cent."""
    return mapped_column(ExactDecimal(14, 2), nullable=nullable)


def table_of(model: type[Base]) -> Table:
    """``model``'s table, for Core statements: the ORM declares ``__table__`` as any
    FromClause, though a mapped class of ours always has a plain Table."""
    return cast(Table, model.__table__)
