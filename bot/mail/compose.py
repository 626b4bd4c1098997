"""Owns what a sent document says: its PDF content read from the store, and the email's words."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.chatfmt import format_date, format_money
from bot.mail.pdf import PURCHASE_ORDER, Party, PdfDocument, PdfLine
from store.models import Contact, Document, DocumentLine, Vendor

_WORDS: Final = MappingProxyType(
    {
        "es": MappingProxyType(
            {
                PURCHASE_ORDER: "la orden de compra",
                "quote": "la cotización",
                "subject_purchase_order": "Orden de compra",
                "subject_quote": "Cotización",
                "from_purchase_order": "Compras",
                "from_quote": "Ventas",
                "greeting": "Hola:",
                "attached": "Adjuntamos {what} {number} («{title}»), por un total de {total}.",
                "valid": "Es válida hasta el {date}.",
                "reply": "Para cualquier consulta, responda a este correo indicando {number}.",
                "bye": "Un saludo.",
                "note": "Enviado por email a {to}",
            }
        ),
        "en": MappingProxyType(
            {
                PURCHASE_ORDER: "purchase order",
                "quote": "quote",
                "subject_purchase_order": "Purchase order",
                "subject_quote": "Quote",
                "from_purchase_order": "Purchasing",
                "from_quote": "Sales",
                "greeting": "Hello,",
                "attached": (
                    "Please find attached {what} {number} (“{title}”), for a total of {total}."
                ),
                "valid": "It is valid until {date}.",
                "reply": "If you have any questions, reply to this email quoting {number}.",
                "bye": "Kind regards.",
                "note": "Emailed to {to}",
            }
        ),
    }
)


def words(locale: str) -> MappingProxyType[str, str]:
    """The email's phrases in ``locale`` (Spanish for anything else)."""
    return _WORDS.get(locale, _WORDS["es"])


@dataclass(frozen=True, slots=True)
class Loaded:
    """A document ready to send: what the PDF shows and whose history it joins."""

    pdf: PdfDocument
    contact_id: int
    contact_name: str


def full_name(contact: Contact) -> str:
    """``First Last`` as the chat shows it."""
    return f"{contact.first_name} {contact.last_name}".strip()


async def load_document(session: AsyncSession, document_id: int) -> Loaded | None:
    """The purchase order or quote with its lines, contact and vendor; None if it is gone."""
    document = await session.get(Document, document_id)
    if document is None:
        return None
    contact = await session.get(Contact, document.contact_id)
    if contact is None:
        return None
    vendor = await session.get(Vendor, document.vendor_id) if document.vendor_id else None
    rows = await session.scalars(
        select(DocumentLine)
        .where(DocumentLine.document_id == document.id)
        .order_by(DocumentLine.position)
    )
    lines = tuple(_line(row) for row in rows)
    pdf = PdfDocument(
        kind=document.kind,
        number=document.number,
        title=document.title,
        date=document.date,
        currency=document.currency,
        contact=_contact_party(contact),
        lines=lines,
        subtotal=document.subtotal,
        discount_total=document.discount_total,
        tax_total=document.tax_total,
        total=document.total,
        vendor=_vendor_party(vendor) if vendor is not None else None,
        valid_until=document.valid_until,
        billing_address=document.billing_address,
        delivery_address=document.delivery_address,
        terms=document.terms,
    )
    return Loaded(pdf, contact.id, full_name(contact))


def _line(row: DocumentLine) -> PdfLine:
    return PdfLine(
        item=row.item_name,
        sku=row.sku,
        quantity=row.quantity,
        unit_price=row.unit_price,
        discount=row.discount,
        net=row.net,
        tax_name=row.tax_name,
        tax_rate=row.tax_rate,
        tax=row.tax,
        total=row.total,
    )


def _contact_party(contact: Contact) -> Party:
    details = (contact.account or "", contact.email or "", contact.phone or contact.mobile or "")
    return Party(full_name(contact), tuple(d for d in details if d))


def _vendor_party(vendor: Vendor) -> Party:
    return Party(vendor.name, tuple(d for d in (vendor.email or "", vendor.phone or "") if d))


@dataclass(frozen=True, slots=True)
class MailText:
    """The email's sender name, subject and plain-text body."""

    from_name: str
    subject: str
    body: str


def mail_text(document: PdfDocument, locale: str) -> MailText:
    """What the email around the PDF says, in ``locale``."""
    said = words(locale)
    title = " ".join(document.title.split())
    subject = f"{said['subject_' + document.kind]} {document.number}"
    if title:
        subject += f" · {title}"
    total = format_money(document.total, document.currency, locale)
    what = said[document.kind]
    paragraphs = [
        said["greeting"],
        said["attached"].format(what=what, number=document.number, title=title, total=total),
    ]
    if document.valid_until is not None:
        paragraphs.append(said["valid"].format(date=format_date(document.valid_until, locale)))
    paragraphs += [said["reply"].format(number=document.number), said["bye"]]
    return MailText(said["from_" + document.kind], subject, "\n\n".join(paragraphs) + "\n")
