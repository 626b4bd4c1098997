"""Shared catalogues (vendors, products, services, taxes) and their links to contacts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, created_at, pk
from store.types import ExactDecimal, sort_key_string


class Tax(Base):
    """A tax rate of the catalogue (IVA 21 %, IVA 10 %, …)."""

    __tablename__ = "taxes"

    id: Mapped[int] = pk()
    name: Mapped[str] = mapped_column(String(60), unique=True)
    rate: Mapped[Decimal] = mapped_column(ExactDecimal(7, 3))
    created_at: Mapped[datetime] = created_at()


class Vendor(Base):
    """A supplier; only the name is required. ``name_key`` is the folded name, unique."""

    __tablename__ = "vendors"

    id: Mapped[int] = pk()
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(sort_key_string(200), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = created_at()


class _CatalogueItem:
    """Columns products and services share (SKU, name, price, default tax)."""

    id: Mapped[int] = pk()
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    sku_key: Mapped[str] = mapped_column(sort_key_string(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(sort_key_string(200), index=True)
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal(14, 4))
    tax_id: Mapped[int | None] = mapped_column(ForeignKey("taxes.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at()


class Product(_CatalogueItem, Base):
    """A stock item of the catalogue ("Inventariables")."""

    __tablename__ = "products"

    stock: Mapped[Decimal] = mapped_column(ExactDecimal(12, 3), default=Decimal(0))


class Service(_CatalogueItem, Base):
    """A non-stock item of the catalogue ("No inventariables")."""

    __tablename__ = "services"


class ProductContact(Base):
    """A product linked to a contact with the kind of relation (interest, purchase, assignment)."""

    __tablename__ = "product_contacts"

    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    relation: Mapped[str] = mapped_column(String(20))
    warranty_end: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (Index("ix_product_contacts_contact_created", "contact_id", "created_at"),)


class ServiceContact(Base):
    """A service provided to, or considered for, a contact (proposed, contracted, provided)."""

    __tablename__ = "service_contacts"

    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (Index("ix_service_contacts_contact_created", "contact_id", "created_at"),)
