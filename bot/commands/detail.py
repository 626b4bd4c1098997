"""`ver <número>` / `show <number>`: one record in full, by its number or its place in a list."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from sqlalchemy import bindparam, func, select

from bot.chat import Param
from bot.commands.base import Ctx
from bot.commands.listing_details import DETAIL_LOADERS, detail_key
from bot.commands.listing_memory import ListMemory, recall_list
from bot.commands.listing_rows import DOCUMENT_MODULES
from bot.routing import Module, Route
from store import direct, vocab
from store.direct import DirectStatement
from store.models import (
    Case,
    Contact,
    Document,
    DocumentLine,
    Email,
    EmailFile,
    EmailRecord,
    Vendor,
)
from store.money import CENT
from store.numbering import Series, format_number
from store.records import Page, count_by_module, read_records

# `OC-00012`, `oc 12`, `OC12`, `oc-12`: the prefix, any spaces or dashes, then the digits.
_RECORD: Final = re.compile(r"(OC|COT|OV|CAS)[\s-]*0*([0-9]{1,9})", re.IGNORECASE)
_INDEX: Final = re.compile(r"0*[0-9]{1,9}")
_TRAILING: Final = ".,;:!?¿¡ "
_DESCRIPTION_MAX: Final = 1500
_EDITED_AFTER: Final = dt.timedelta(minutes=1)

# Built once, bound per call: SQLAlchemy then finds the compiled form in its cache.
_CASE_BY_NUMBER: Final = select(Case).where(Case.number == bindparam("number"))
_DOCUMENT_BY_NUMBER: Final = select(Document).where(Document.number == bindparam("number"))
# Read for every document shown (a wizard's save shows one): straight to the driver.
_CONTACT_NAME: Final = DirectStatement(
    select(Contact.first_name, Contact.last_name).where(Contact.id == bindparam("id"))
)
_VENDOR_NAME: Final = DirectStatement(select(Vendor.name).where(Vendor.id == bindparam("id")))
_ATTACHMENTS: Final = (
    select(func.count()).where(EmailFile.email_id == Email.id).correlate(Email).scalar_subquery()
)
_CASE_EMAILS: Final = (
    select(Email, _ATTACHMENTS)
    .join(EmailRecord, EmailRecord.email_id == Email.id)
    .where(EmailRecord.record_number == bindparam("number"))
    .order_by(Email.date, Email.id)
)


def contact_name(contact: Contact) -> str:
    """How a contact is named in replies."""
    return f"{contact.first_name} {contact.last_name}".strip()


def parse_record_number(text: str) -> str | None:
    """The canonical number (``OC-00012``) of what the user typed, or None."""
    found = _RECORD.fullmatch(text.strip(_TRAILING))
    if found is None:
        return None
    return format_number(Series(found[1].upper()), int(found[2]))


async def show(ctx: Ctx, route: Route) -> None:
    """Answer `ver <número>` or `ver <n>` (item n of the last list shown here)."""
    args = route.args.strip(_TRAILING)
    if not args:
        ctx.reply("detail_usage", given=None)
    elif _INDEX.fullmatch(args):
        await _show_index(ctx, int(args))
    elif (number := parse_record_number(args)) is None:
        ctx.reply("detail_usage", given=args)
    elif not await show_number(ctx, number):
        ctx.reply("detail_not_found", number=number)


async def show_number(ctx: Ctx, number: str) -> bool:
    """Show the document or case with this canonical number; False when there is none."""
    if number.startswith(f"{Series.CASE.value}-"):
        case = await ctx.session.scalar(_CASE_BY_NUMBER, {"number": number})
        if case is not None:
            await _reply_case(ctx, case, by_number=True)
        return case is not None
    document = await ctx.session.scalar(_DOCUMENT_BY_NUMBER, {"number": number})
    if document is not None:
        await _reply_document(ctx, document, by_number=True)
    return document is not None


async def show_saved(ctx: Ctx, kind: str, record_id: int) -> bool:
    """Show what a wizard has just saved, as ``ver <número>`` would; False if it is gone.

    The record is still in the message's session, so it is taken from there by id rather
    than looked up again by its number.
    """
    if kind == "case":
        case = await ctx.session.get(Case, record_id)
        if case is not None:
            await _reply_case(ctx, case, by_number=True)
        return case is not None
    document = await ctx.session.get(Document, record_id)
    if document is not None:
        await _reply_document(ctx, document, by_number=True)
    return document is not None


async def _show_index(ctx: Ctx, number: int) -> None:
    memory = await recall_list(ctx)
    if memory is None:
        ctx.reply("detail_no_list", number=number)
        return
    record_id = memory.id_at(number) or await _id_by_position(memory, ctx, number)
    if record_id is None:
        total = (await count_by_module(ctx.session, memory.contact_id))[memory.module]
        ctx.reply(
            "detail_index_out_of_range", number=number, module=memory.module.value, total=total
        )
        return
    if not await _show_record(ctx, memory.module, memory.contact_id, record_id):
        ctx.reply("detail_gone", number=number, module=memory.module.value)


async def _id_by_position(memory: ListMemory, ctx: Ctx, number: int) -> int | None:
    # An item of another page than the one shown: read it where it is now.
    if number < 1:
        return None
    rows = await read_records(
        ctx.session, memory.module.value, memory.contact_id, Page(1, number - 1)
    )
    record_id = rows[0]["id"] if rows else None
    return record_id if isinstance(record_id, int) else None


async def _show_record(ctx: Ctx, module: Module, contact_id: int, record_id: int) -> bool:
    if module in DOCUMENT_MODULES:
        document = await ctx.session.get(Document, record_id)
        if document is not None:
            await _reply_document(ctx, document, by_number=False)
        return document is not None
    if module is Module.CASES:
        case = await ctx.session.get(Case, record_id)
        if case is not None:
            await _reply_case(ctx, case, by_number=False)
        return case is not None
    params = await DETAIL_LOADERS[module](ctx.session, contact_id, record_id, ctx.locale)
    if params is not None:
        ctx.reply(detail_key(module), **params)
    return params is not None


async def _owner(ctx: Ctx, contact_id: int, by_number: bool) -> dict[str, Param]:
    """The record's contact, and the room's contact when that is someone else."""
    found = await direct.fetch(ctx.session, _CONTACT_NAME, {"id": contact_id})
    linked = await ctx.linked_contact() if by_number else None
    other = linked is not None and linked.id != contact_id
    return {
        "contact": f"{found[0][0]} {found[0][1]}".strip() if found else None,
        "room_contact": contact_name(linked) if other and linked is not None else None,
    }


async def _reply_document(ctx: Ctx, doc: Document, *, by_number: bool) -> None:
    vendor = (
        await direct.fetch(ctx.session, _VENDOR_NAME, {"id": doc.vendor_id})
        if doc.vendor_id
        else []
    )
    lines = await direct.fetch(ctx.session, _LINES, {"document_id": doc.id})
    labels = vocab.DOCUMENT_STATUS[vocab.DocumentKind(doc.kind)]
    params: dict[str, Param] = {
        "kind": doc.kind,
        "number": doc.number,
        "title": doc.title,
        "status": vocab.label(labels, doc.status, ctx.locale),
        "vendor": vendor[0][0] if vendor else None,
        "date": doc.date,
        "valid_until": doc.valid_until,
        "created_by": doc.created_by or None,
        "currency": doc.currency,
        "lines": [_line(_DetailLine(*line)) for line in lines],
        "subtotal": doc.subtotal,
        "discount_total": doc.discount_total,
        "tax_total": doc.tax_total,
        "total": doc.total,
        "terms": doc.terms or None,
        "delivery_address": doc.delivery_address or None,
        "billing_address": doc.billing_address or None,
        **await _owner(ctx, doc.contact_id, by_number),
    }
    ctx.reply("detail_document", **params)


@dataclass(frozen=True, slots=True)
class _DetailLine:
    """What a document's detail shows of one line (read straight, no entity)."""

    position: int
    item_name: str
    sku: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal | None
    discount_percent: Decimal | None
    discount_amount: Decimal | None
    discount: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal


_LINES: Final = DirectStatement(
    select(*(getattr(DocumentLine, field.name) for field in dataclasses.fields(_DetailLine)))
    .where(DocumentLine.document_id == bindparam("document_id"))
    .order_by(DocumentLine.position)
)


def _line(line: _DetailLine) -> dict[str, Param]:
    return {
        "n": line.position,
        "item": line.item_name,
        "sku": line.sku or None,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        # A sub-cent unit price is shown in full rather than rounded by the money format.
        "price_in_cents": line.unit_price == line.unit_price.quantize(CENT),
        "tax_rate": line.tax_rate,
        "discount_percent": line.discount_percent if line.discount else None,
        "discount_amount": line.discount_amount if line.discount else None,
        "net": line.net,
        "tax": line.tax,
        "total": line.total,
    }


async def _reply_case(ctx: Ctx, case: Case, *, by_number: bool) -> None:
    params: dict[str, Param] = {
        "number": case.number,
        "title": case.title,
        "status": vocab.label(vocab.CASE_STATUS, case.status, ctx.locale),
        "priority": vocab.label(vocab.CASE_PRIORITY, case.priority, ctx.locale),
        "severity": vocab.label(vocab.CASE_SEVERITY, case.severity, ctx.locale),
        "category": case.category or None,
        "description": case.description.strip() or None,
        "description_max": _DESCRIPTION_MAX,
        "created_at": case.created_at,
        "updated_at": _later(case.created_at, case.updated_at),
        "created_by": case.created_by or None,
        "emails": await _case_emails(ctx, case.number),
        **await _owner(ctx, case.contact_id, by_number),
    }
    ctx.reply("detail_case", **params)


async def _case_emails(ctx: Ctx, number: str) -> list[Param]:
    """The emails whose subject carried the case number, oldest first."""
    found = await ctx.session.execute(_CASE_EMAILS, {"number": number})
    return [
        {"at": email.date, "from": email.from_addr, "subject": email.subject, "attachments": n}
        for email, n in found
    ]


def _later(created: dt.datetime, updated: dt.datetime) -> dt.datetime | None:
    # Both stamps are set on insert a few microseconds apart: only a real edit is shown.
    return updated if updated - created > _EDITED_AFTER else None
