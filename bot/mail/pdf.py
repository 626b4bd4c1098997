"""Owns what a purchase order's or a quote's PDF shows (EMAIL.md §6), and where it is drawn.

The document is loaded once into these plain values, so drawing it needs no database.
Drawing lives in ``bot.mail.pdf_render``, imported at the first PDF: fpdf2 and fontTools
(with Pillow) take most of a second to import, which `crmbot serve` and every command
would otherwise pay at start for documents most runs never draw.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

PURCHASE_ORDER, QUOTE = "purchase_order", "quote"


@dataclass(frozen=True, slots=True)
class Party:
    """A vendor or a contact as the document names them: a name and a few detail lines."""

    name: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PdfLine:
    """One line item with its computed amounts (DOMAIN §2)."""

    item: str
    sku: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    net: Decimal
    tax_name: str | None
    tax_rate: Decimal | None
    tax: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class PdfDocument:
    """Everything the PDF shows, loaded once so drawing needs no database."""

    kind: str
    number: str
    title: str
    date: dt.date
    currency: str
    contact: Party
    lines: tuple[PdfLine, ...]
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal
    vendor: Party | None = None
    valid_until: dt.date | None = None
    billing_address: str = ""
    delivery_address: str = ""
    terms: str = ""


def file_name(document: PdfDocument) -> str:
    """The attachment's name: ``OC-00012.pdf``."""
    return f"{document.number}.pdf"


def render_pdf(document: PdfDocument, locale: str) -> bytes:
    """The document as PDF bytes, labelled in ``locale`` (``es`` or ``en``); CPU-bound."""
    from bot.mail.pdf_render import render

    return render(document, locale)
