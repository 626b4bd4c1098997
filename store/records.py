"""Reading a contact's records of one module as plain JSON-ready rows, newest first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Select, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from store import models as m
from store.money import money_str, plain_decimal_str

Row = dict[str, object]
SelectT = TypeVar("SelectT", bound="Select[*tuple[Any, ...]]")


class ModuleName(StrEnum):
    """The 17 related modules by their English command word (CONTRACT §4)."""

    ASSETS = "assets"
    PROJECTS = "projects"
    ADDRESSES = "addresses"
    SERVICES = "services"
    CONTRACTS = "contracts"
    SALES_ORDERS = "sales-orders"
    QUOTES = "quotes"
    PURCHASES = "purchases"
    PRODUCTS = "products"
    CALENDAR = "calendar"
    OPPORTUNITIES = "opportunities"
    COMMENTS = "comments"
    CASES = "cases"
    EMAILS = "emails"
    FILES = "files"
    CAMPAIGNS = "campaigns"
    CHANNELS = "channels"


DOCUMENT_KIND = {
    ModuleName.SALES_ORDERS: "sales_order",
    ModuleName.QUOTES: "quote",
    ModuleName.PURCHASES: "purchase_order",
}


def jsonable(value: object) -> object:
    """Dates as ISO 8601, amounts as exact strings; everything else unchanged."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return plain_decimal_str(value)
    return value


def _pick(row: Any, *names: str) -> Row:
    return {name: jsonable(getattr(row, name)) for name in names}


@dataclass(frozen=True, slots=True)
class Page:
    """Which slice of a list to read; ``limit=None`` reads everything."""

    limit: int | None = None
    offset: int = 0

    def apply(self, query: SelectT) -> SelectT:
        """The query restricted to this page."""
        query = query.offset(self.offset) if self.offset else query
        return query.limit(self.limit) if self.limit is not None else query


Reader = Callable[[AsyncSession, int | None, Page], Awaitable[list[Row]]]


def _owned(model: Any, contact_id: int | None, page: Page) -> Select[Any]:
    query = select(model).order_by(model.created_at.desc(), model.id.desc())
    if contact_id is not None:
        query = query.where(model.contact_id == contact_id)
    return page.apply(query)


def _simple(model: Any, *fields: str) -> Reader:
    async def read(session: AsyncSession, contact_id: int | None, page: Page) -> list[Row]:
        rows = await session.scalars(_owned(model, contact_id, page))
        return [_pick(row, "id", "contact_id", "created_at", *fields) for row in rows]

    return read


def _linked(link: Any, target: Any, key: str, attr: str, *fields: str) -> Reader:
    """Many-to-many modules print one row per link, with the link's role or status."""

    async def read(session: AsyncSession, contact_id: int | None, page: Page) -> list[Row]:
        query = (
            select(link, target)
            .join(target, getattr(link, key) == target.id)
            .order_by(link.created_at.desc(), target.id.desc())
        )
        if contact_id is not None:
            query = query.where(link.contact_id == contact_id)
        result = await session.execute(page.apply(query))
        return [
            {
                "id": owned.id,
                "contact_id": row.contact_id,
                "created_at": jsonable(row.created_at),
                attr: getattr(row, attr),
                **_pick(owned, *fields),
            }
            for row, owned in result
        ]

    return read


def line_row(line: m.DocumentLine) -> Row:
    """A document line as CONTRACT §6 prints it."""
    return {
        "item": line.item_name,
        "sku": line.sku,
        "quantity": plain_decimal_str(line.quantity),
        "unit_price": plain_decimal_str(line.unit_price),
        "tax_rate": plain_decimal_str(line.tax_rate) if line.tax_rate is not None else "0",
        "discount_percent": plain_decimal_str(line.discount_percent or Decimal(0)),
        "discount_amount": money_str(line.discount_amount or Decimal(0)),
        "net": money_str(line.net),
        "tax": money_str(line.tax),
        "total": money_str(line.total),
    }


def document_row(doc: m.Document, vendor: str | None, lines: Sequence[m.DocumentLine]) -> Row:
    """An inventory document with its lines and totals, as CONTRACT §6 prints it."""
    row: Row = _pick(doc, "id", "number", "contact_id", "created_at", "title")
    if doc.kind == "purchase_order":
        row["vendor"] = vendor
    if doc.kind == "quote":
        row["valid_until"] = jsonable(doc.valid_until)
    row |= {
        "date": doc.date.isoformat(),
        "status": doc.status,
        "items": [line_row(line) for line in lines],
        "subtotal": money_str(doc.subtotal),
        "discount_total": money_str(doc.discount_total),
        "tax_total": money_str(doc.tax_total),
        "total": money_str(doc.total),
        "terms": doc.terms,
        "delivery_address": doc.delivery_address,
        "billing_address": doc.billing_address,
    }
    return row


async def document_lines(
    session: AsyncSession, document_ids: Sequence[int]
) -> dict[int, list[m.DocumentLine]]:
    """The lines of several documents in one query, in position order."""
    by_document: dict[int, list[m.DocumentLine]] = {doc_id: [] for doc_id in document_ids}
    if document_ids:
        lines = await session.scalars(
            select(m.DocumentLine)
            .where(m.DocumentLine.document_id.in_(document_ids))
            .order_by(m.DocumentLine.document_id, m.DocumentLine.position)
        )
        for line in lines:
            by_document[line.document_id].append(line)
    return by_document


def _documents(kind: str) -> Reader:
    async def read(session: AsyncSession, contact_id: int | None, page: Page) -> list[Row]:
        query = (
            select(m.Document, m.Vendor.name)
            .outerjoin(m.Vendor, m.Vendor.id == m.Document.vendor_id)
            .where(m.Document.kind == kind)
            .order_by(m.Document.created_at.desc(), m.Document.id.desc())
        )
        if contact_id is not None:
            query = query.where(m.Document.contact_id == contact_id)
        found = list(await session.execute(page.apply(query)))
        lines = await document_lines(session, [doc.id for doc, _ in found])
        return [document_row(doc, vendor, lines[doc.id]) for doc, vendor in found]

    return read


async def _emails(session: AsyncSession, contact_id: int | None, page: Page) -> list[Row]:
    query = (
        select(m.Email, m.EmailContact.contact_id)
        .outerjoin(m.EmailContact, m.EmailContact.email_id == m.Email.id)
        .order_by(m.Email.date.desc(), m.Email.id.desc())
    )
    if contact_id is not None:
        query = query.where(m.EmailContact.contact_id == contact_id)
    found = list(await session.execute(page.apply(query)))
    return await _email_rows(session, found)


async def unmatched_emails(session: AsyncSession, page: Page = Page()) -> list[Row]:
    """Emails that belong to no contact yet (``records emails --unmatched``)."""
    linked = select(m.EmailContact.email_id)
    query = (
        select(m.Email, literal(None))
        .where(m.Email.id.not_in(linked))
        .order_by(m.Email.date.desc(), m.Email.id.desc())
    )
    found = list(await session.execute(page.apply(query)))
    return await _email_rows(session, found)


async def _email_rows(
    session: AsyncSession, found: Sequence[tuple[m.Email, int | None]]
) -> list[Row]:
    ids = [email.id for email, _ in found]
    files: dict[int, list[int]] = {email_id: [] for email_id in ids}
    if ids:
        links = await session.execute(
            select(m.EmailFile.email_id, m.EmailFile.file_id)
            .where(m.EmailFile.email_id.in_(ids))
            .order_by(m.EmailFile.file_id)
        )
        for email_id, file_id in links:
            files[email_id].append(file_id)
    return [
        {
            "id": email.id,
            "contact_id": contact_id,
            "created_at": jsonable(email.created_at),
            "message_id": email.message_id,
            "subject": email.subject,
            "from": email.from_addr,
            "to": email.to_addrs,
            "cc": email.cc_addrs,
            "date": jsonable(email.date),
            "direction": email.direction,
            "attachments": files[email.id],
        }
        for email, contact_id in found
    ]


async def _contacts(session: AsyncSession, contact_id: int | None, page: Page) -> list[Row]:
    query = select(m.Contact).order_by(m.Contact.last_name, m.Contact.first_name, m.Contact.id)
    if contact_id is not None:
        query = query.where(m.Contact.id == contact_id)
    rows = await session.scalars(page.apply(query))
    fields = ("id", "created_at", "first_name", "last_name", "email", "phone", "account")
    return [_pick(row, *fields) for row in rows]


async def _vendors(session: AsyncSession, _contact: int | None, page: Page) -> list[Row]:
    rows = await session.scalars(page.apply(select(m.Vendor).order_by(m.Vendor.name_key)))
    return [_pick(row, "id", "created_at", "name", "email", "phone") for row in rows]


READERS: Mapping[str, Reader] = {
    ModuleName.ASSETS: _simple(m.Asset, "name", "serial", "status", "date_assigned"),
    ModuleName.PROJECTS: _linked(
        m.ProjectContact,
        m.Project,
        "project_id",
        "role",
        "name",
        "status",
        "start_date",
        "target_end_date",
    ),
    ModuleName.ADDRESSES: _simple(
        m.Address,
        "label",
        "street",
        "city",
        "state",
        "postal_code",
        "country",
        "is_primary",
        "is_fiscal",
    ),
    ModuleName.SERVICES: _linked(
        m.ServiceContact, m.Service, "service_id", "status", "sku", "name", "unit_price"
    ),
    ModuleName.CONTRACTS: _simple(
        m.Contract,
        "subject",
        "type",
        "status",
        "start_date",
        "end_date",
        "renewal_date",
        "sla_level",
    ),
    ModuleName.SALES_ORDERS: _documents("sales_order"),
    ModuleName.QUOTES: _documents("quote"),
    ModuleName.PURCHASES: _documents("purchase_order"),
    ModuleName.PRODUCTS: _linked(
        m.ProductContact, m.Product, "product_id", "relation", "sku", "name", "unit_price"
    ),
    ModuleName.CALENDAR: _simple(
        m.CalendarEvent, "title", "type", "starts_at", "ends_at", "location", "status"
    ),
    ModuleName.OPPORTUNITIES: _simple(
        m.Opportunity, "name", "amount", "stage", "expected_close", "probability"
    ),
    ModuleName.COMMENTS: _simple(m.Comment, "text", "author"),
    ModuleName.CASES: _simple(
        m.Case, "number", "title", "description", "status", "priority", "severity", "category"
    ),
    ModuleName.EMAILS: _emails,
    ModuleName.FILES: _simple(m.StoredFile, "name", "size", "sha256", "mime_type", "source"),
    ModuleName.CAMPAIGNS: _linked(
        m.CampaignContact,
        m.Campaign,
        "campaign_id",
        "status",
        "name",
        "type",
        "start_date",
        "end_date",
    ),
    ModuleName.CHANNELS: _simple(m.ChatChannel, "room_id", "room_name", "linked_by"),
    "contacts": _contacts,
    "vendors": _vendors,
}


async def read_records(
    session: AsyncSession, module: str, contact_id: int | None = None, page: Page = Page()
) -> list[Row]:
    """Rows of ``module`` (a key of ``READERS``), optionally of one contact, newest first."""
    return await READERS[module](session, contact_id, page)


_COUNTED: Mapping[ModuleName, tuple[Any, Any]] = {
    ModuleName.ASSETS: (m.Asset, None),
    ModuleName.PROJECTS: (m.ProjectContact, None),
    ModuleName.ADDRESSES: (m.Address, None),
    ModuleName.SERVICES: (m.ServiceContact, None),
    ModuleName.CONTRACTS: (m.Contract, None),
    ModuleName.SALES_ORDERS: (m.Document, "sales_order"),
    ModuleName.QUOTES: (m.Document, "quote"),
    ModuleName.PURCHASES: (m.Document, "purchase_order"),
    ModuleName.PRODUCTS: (m.ProductContact, None),
    ModuleName.CALENDAR: (m.CalendarEvent, None),
    ModuleName.OPPORTUNITIES: (m.Opportunity, None),
    ModuleName.COMMENTS: (m.Comment, None),
    ModuleName.CASES: (m.Case, None),
    ModuleName.EMAILS: (m.EmailContact, None),
    ModuleName.FILES: (m.StoredFile, None),
    ModuleName.CAMPAIGNS: (m.CampaignContact, None),
    ModuleName.CHANNELS: (m.ChatChannel, None),
}


async def count_by_module(session: AsyncSession, contact_id: int) -> dict[ModuleName, int]:
    """How many records the contact has in each of the 17 modules, in one statement."""
    parts = []
    for module, (model, kind) in _COUNTED.items():
        query = select(literal(module.value).label("module"), func.count().label("n")).where(
            model.contact_id == contact_id
        )
        if kind is not None:
            query = query.where(model.kind == kind)
        parts.append(query)
    result = await session.execute(union_all(*parts))
    counts = {ModuleName(module): int(n) for module, n in result}
    return {module: counts.get(module, 0) for module in ModuleName}
