"""Creating inventory documents and cases: numbers, computed lines and totals, idempotent saves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from store import direct
from store.direct import DirectStatement
from store.models import Case, Document, DocumentLine
from store.models.base import table_of
from store.money import LineAmounts, LineInput, compute_totals
from store.numbering import Series, next_number
from store.types import utcnow
from store.vocab import DOCUMENT_STATUS, DocumentKind

SERIES = {
    DocumentKind.PURCHASE_ORDER: Series.PURCHASE_ORDER,
    DocumentKind.QUOTE: Series.QUOTE,
    DocumentKind.SALES_ORDER: Series.SALES_ORDER,
}

# Built once, bound per call: SQLAlchemy then finds the compiled form in its cache.
_DOCUMENT_BY_KEY: Final = DirectStatement(
    select(Document.id).where(Document.idempotency_key == bindparam("key"))
)
_DOCUMENTS: Final = table_of(Document)
_DOCUMENT_COLUMNS: Final = tuple(c.key for c in _DOCUMENTS.columns if c.key != "id")
_INSERT_DOCUMENT: Final = DirectStatement(
    insert(_DOCUMENTS).returning(_DOCUMENTS.c.id), columns=_DOCUMENT_COLUMNS
)
_LINES: Final = table_of(DocumentLine)
_INSERT_LINES: Final = DirectStatement(
    insert(_LINES), columns=tuple(c.key for c in _LINES.columns if c.key != "id")
)
_CASE_BY_KEY: Final = DirectStatement(
    select(Case.id).where(Case.idempotency_key == bindparam("key"))
)


@dataclass(frozen=True, slots=True)
class LineDraft:
    """One line as a wizard or the demo data collects it."""

    item_name: str
    quantity: Decimal
    unit_price: Decimal
    sku: str = ""
    product_id: int | None = None
    service_id: int | None = None
    tax_name: str | None = None
    tax_rate: Decimal | None = None
    discount_percent: Decimal | None = None
    discount_amount: Decimal | None = None

    def money_input(self) -> LineInput:
        """The line as the money rules see it."""
        return LineInput(
            quantity=self.quantity,
            unit_price=self.unit_price,
            tax_rate=self.tax_rate,
            discount_percent=self.discount_percent,
            discount_amount=self.discount_amount,
        )


@dataclass(frozen=True, slots=True)
class DocumentDraft:
    """Everything needed to save a purchase order, quote or sales order."""

    kind: DocumentKind
    contact_id: int
    title: str
    date: dt.date
    lines: Sequence[LineDraft]
    status: str = "created"
    vendor_id: int | None = None
    valid_until: dt.date | None = None
    terms: str = ""
    delivery_address: str = ""
    billing_address: str = ""
    currency: str = "EUR"
    created_by: str = ""
    idempotency_key: str | None = None
    created_at: dt.datetime | None = field(default=None)


class DocumentError(ValueError):
    """A draft the rules do not allow (no lines, unknown status, a PO without vendor)."""


async def create_document(session: AsyncSession, draft: DocumentDraft) -> tuple[Document, bool]:
    """Save ``draft`` with the next number; returns (document, created).

    With an idempotency key already used, the first document is returned unchanged, so
    a repeated "save" never makes a second record.
    """
    if draft.idempotency_key:
        # Looked for by id first: a save almost never finds one, and then loads nothing.
        found = await direct.fetch(session, _DOCUMENT_BY_KEY, {"key": draft.idempotency_key})
        existing = await session.get(Document, found[0][0]) if found else None
        if existing is not None:
            return existing, False
    _check(draft)
    totals = compute_totals([line.money_input() for line in draft.lines])
    now = utcnow()
    values: dict[str, object] = {
        "kind": draft.kind.value,
        "number": await next_number(session, SERIES[draft.kind]),
        "contact_id": draft.contact_id,
        "title": draft.title.strip(),
        "vendor_id": draft.vendor_id,
        "date": draft.date,
        "valid_until": draft.valid_until,
        "status": draft.status,
        "terms": draft.terms,
        "delivery_address": draft.delivery_address,
        "billing_address": draft.billing_address,
        "currency": draft.currency,
        "subtotal": totals.subtotal,
        "discount_total": totals.discount_total,
        "tax_total": totals.tax_total,
        "total": totals.total,
        "created_by": draft.created_by,
        "idempotency_key": draft.idempotency_key,
        "created_at": draft.created_at or now,
        "updated_at": now,
    }
    ((document_id,),) = await direct.fetch(session, _INSERT_DOCUMENT, values)
    await direct.run_many(
        session,
        _INSERT_LINES,
        [
            _line_values(document_id, position, line, amounts)
            for position, (line, amounts) in enumerate(
                zip(draft.lines, totals.lines, strict=True), 1
            )
        ],
    )
    # The row as the session would have loaded it, without reading it back: every column
    # is known here. (Through the unit of work, the two inserts cost a quarter of a
    # purchase order's whole dialog.)
    document = Document(id=document_id, **values)
    make_transient_to_detached(document)
    session.add(document)
    return document, True


def _check(draft: DocumentDraft) -> None:
    if not draft.lines:
        raise DocumentError("a document needs at least one line")
    if not draft.title.strip():
        raise DocumentError("a document needs a title")
    if draft.status not in DOCUMENT_STATUS[draft.kind]:
        raise DocumentError(f"unknown {draft.kind} status {draft.status!r}")
    if draft.kind is DocumentKind.PURCHASE_ORDER and draft.vendor_id is None:
        raise DocumentError("a purchase order needs a vendor")


def _line_values(
    document_id: int, position: int, line: LineDraft, amounts: LineAmounts
) -> dict[str, object]:
    return {
        "document_id": document_id,
        "position": position,
        "product_id": line.product_id,
        "service_id": line.service_id,
        "item_name": line.item_name,
        "sku": line.sku,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "tax_name": line.tax_name,
        "tax_rate": line.tax_rate,
        "discount_percent": line.discount_percent,
        "discount_amount": line.discount_amount,
        "gross": amounts.gross,
        "discount": amounts.discount,
        "net": amounts.net,
        "tax": amounts.tax,
        "total": amounts.total,
    }


@dataclass(frozen=True, slots=True)
class CaseDraft:
    """Everything needed to open a support case."""

    contact_id: int
    title: str
    description: str = ""
    priority: str = "normal"
    severity: str = "minor"
    category: str = ""
    status: str = "open"
    created_by: str = ""
    idempotency_key: str | None = None
    created_at: dt.datetime | None = None


async def create_case(session: AsyncSession, draft: CaseDraft) -> tuple[Case, bool]:
    """Open a case with the next ``CAS-`` number; idempotent like ``create_document``."""
    if draft.idempotency_key:
        found = await direct.fetch(session, _CASE_BY_KEY, {"key": draft.idempotency_key})
        existing = await session.get(Case, found[0][0]) if found else None
        if existing is not None:
            return existing, False
    case = Case(
        number=await next_number(session, Series.CASE),
        contact_id=draft.contact_id,
        title=draft.title.strip(),
        description=draft.description,
        status=draft.status,
        priority=draft.priority,
        severity=draft.severity,
        category=draft.category,
        created_by=draft.created_by,
        idempotency_key=draft.idempotency_key,
    )
    if draft.created_at is not None:
        case.created_at = draft.created_at
    session.add(case)
    await session.flush()
    return case, True
