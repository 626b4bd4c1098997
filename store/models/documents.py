"""Inventory documents (purchase orders, quotes, sales orders) and their line items."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, contact_fk, created_at, money, pk
from store.types import ExactDecimal, UTCDateTime, utcnow


class Document(Base):
    """One inventory document; ``kind`` says which, ``number`` is its gap-free public number.

    The three kinds share one table because they share one line-item model and one
    totals rule (DOMAIN §2); kind-specific columns are nullable.
    """

    __tablename__ = "documents"

    id: Mapped[int] = pk()
    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(20), unique=True)
    contact_id: Mapped[int] = contact_fk()
    title: Mapped[str] = mapped_column(String(255))
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id", ondelete="RESTRICT"))
    date: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    terms: Mapped[str] = mapped_column(Text, default="")
    delivery_address: Mapped[str] = mapped_column(Text, default="")
    billing_address: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    subtotal: Mapped[Decimal] = money()
    discount_total: Mapped[Decimal] = money()
    tax_total: Mapped[Decimal] = money()
    total: Mapped[Decimal] = money()
    created_by: Mapped[str] = mapped_column(String(100), default="")
    # Set by a wizard's save: a repeated or redelivered "guardar" finds the first record.
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("kind IN ('purchase_order', 'quote', 'sales_order')", name="kind"),
        Index("ix_documents_contact_kind_created", "contact_id", "kind", "created_at", "id"),
    )


class DocumentLine(Base):
    """One line of a document, with its computed amounts stored for listing and audit."""

    __tablename__ = "document_lines"

    id: Mapped[int] = pk()
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="SET NULL"))
    # Name, SKU and tax are copied so a later catalogue change never rewrites a document.
    item_name: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(64), default="")
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal(15, 3))
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal(16, 4))
    tax_name: Mapped[str | None] = mapped_column(String(60))
    tax_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal(7, 3))
    discount_percent: Mapped[Decimal | None] = mapped_column(ExactDecimal(7, 3))
    discount_amount: Mapped[Decimal | None] = money(nullable=True)
    gross: Mapped[Decimal] = money()
    discount: Mapped[Decimal] = money()
    net: Mapped[Decimal] = money()
    tax: Mapped[Decimal] = money()
    total: Mapped[Decimal] = money()

    __table_args__ = (
        Index("ix_document_lines_document_position", "document_id", "position", unique=True),
        CheckConstraint(
            "discount_percent IS NULL OR discount_amount IS NULL", name="one_discount_kind"
        ),
    )
