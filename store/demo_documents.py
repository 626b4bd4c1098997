"""Demo purchase orders, quotes, sales orders and cases, created through the numbering services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from store import demo_data as data
from store.demo_base import Demo, DemoContact, address_text
from store.models import Case, Product, Service, Tax
from store.money import round_money
from store.services.documents import (
    CaseDraft,
    DocumentDraft,
    LineDraft,
    create_case,
    create_document,
)
from store.vocab import DocumentKind

Item = Product | Service
DOCS_PER_PERSON: dict[DocumentKind, tuple[int, int]] = {
    DocumentKind.PURCHASE_ORDER: (1, 3),
    DocumentKind.QUOTE: (1, 2),
    DocumentKind.SALES_ORDER: (1, 2),
}
TOPICS = {
    DocumentKind.PURCHASE_ORDER: data.PURCHASE_TOPICS,
    DocumentKind.QUOTE: data.QUOTE_TOPICS,
    DocumentKind.SALES_ORDER: data.SALES_TOPICS,
}
HOURLY_QUANTITIES = ("1", "2", "2.5", "4", "7.5", "12")
PERCENT_DISCOUNTS = ("5", "10", "12.5")
QUOTE_VALID_DAYS = 30
RECENT_SHARE = 0.3  # of documents and cases dated in the last weeks: pending work to act on


async def add_documents(demo: Demo) -> None:
    """Every full contact's documents, saved oldest first so numbers follow dates."""
    drafts = [
        _document(demo, person, kind)
        for person in demo.full_people
        for kind, (low, high) in DOCS_PER_PERSON.items()
        for _ in range(demo.rng.randint(low, high))
    ]
    drafts.sort(key=_created_at)
    for draft in drafts:
        await create_document(demo.session, draft)


def _created_at(draft: DocumentDraft | CaseDraft) -> dt.datetime:
    assert draft.created_at is not None
    return draft.created_at


def _document(demo: Demo, person: DemoContact, kind: DocumentKind) -> DocumentDraft:
    created = person.recent(demo.clock, RECENT_SHARE)
    day = created.date()
    topic = demo.pick(TOPICS[kind])
    fiscal = address_text(person.addresses[0])
    is_po = kind is DocumentKind.PURCHASE_ORDER
    is_quote = kind is DocumentKind.QUOTE
    return DocumentDraft(
        kind=kind,
        contact_id=person.id,
        title=topic.title,
        date=day,
        lines=_lines(demo, topic.sku_prefixes),
        status=_STATUS_BY_KIND[kind](demo, (demo.clock.today - day).days),
        vendor_id=_vendor(demo, topic.vendor_prefixes) if is_po else None,
        valid_until=day + dt.timedelta(days=QUOTE_VALID_DAYS) if is_quote else None,
        terms=demo.pick(data.TERMS),
        delivery_address=address_text(demo.pick(person.addresses)),
        billing_address=demo.company_address if is_po and demo.rng.random() < 0.25 else fiscal,
        created_by=demo.pick(data.OWNERS),
        created_at=created,
    )


def _vendor(demo: Demo, prefixes: tuple[str, ...]) -> int:
    """A vendor that sells what the order is about."""
    sellers = [vendor for vendor in demo.vendors if vendor.name.startswith(prefixes)]
    return demo.pick(sellers or demo.vendors).id


def _po_status(demo: Demo, age: int) -> str:
    if age > 90:
        return demo.pick(("received", "received", "received", "sent", "cancelled"))
    if age > 45:
        return demo.pick(("approved", "sent", "received"))
    return demo.pick(("created", "created", "approved", "sent"))


def _quote_status(demo: Demo, age: int) -> str:
    if age > QUOTE_VALID_DAYS:
        return demo.pick(("accepted", "accepted", "rejected", "reviewed"))
    return demo.pick(("created", "delivered", "reviewed"))


def _sales_status(demo: Demo, age: int) -> str:
    if age > 60:
        return demo.pick(("delivered", "delivered", "delivered", "cancelled"))
    return demo.pick(("created", "approved", "approved", "delivered"))


_STATUS_BY_KIND: dict[DocumentKind, Callable[[Demo, int], str]] = {
    DocumentKind.PURCHASE_ORDER: _po_status,
    DocumentKind.QUOTE: _quote_status,
    DocumentKind.SALES_ORDER: _sales_status,
}


def _lines(demo: Demo, prefixes: tuple[str, ...]) -> list[LineDraft]:
    catalogue: list[Item] = [*demo.products, *demo.services]
    candidates = [item for item in catalogue if item.sku.startswith(prefixes)]
    picked = demo.some(candidates, 1, 4)
    return [_line(demo, item, demo.taxes.get(item.tax_id or 0)) for item in picked]


def _line(demo: Demo, item: Item, tax: Tax | None) -> LineDraft:
    quantity = _quantity(demo, item)
    price = item.unit_price
    if demo.rng.random() < 0.2:  # a negotiated price, still exact to the cent
        price = round_money(price * Decimal("0.95"))
    percent = amount = None
    roll = demo.rng.random()
    if roll < 0.15:
        percent = Decimal(demo.pick(PERCENT_DISCOUNTS))
    elif roll < 0.25:
        amount = min(Decimal(demo.rng.randint(1, 40)), round_money(quantity * price))
    return LineDraft(
        item_name=item.name,
        quantity=quantity,
        unit_price=price,
        sku=item.sku,
        product_id=item.id if isinstance(item, Product) else None,
        service_id=item.id if isinstance(item, Service) else None,
        tax_name=tax.name if tax else None,
        tax_rate=tax.rate if tax else None,
        discount_percent=percent,
        discount_amount=amount,
    )


def _quantity(demo: Demo, item: Item) -> Decimal:
    if isinstance(item, Service):
        if "hora" in item.name or "persona" in item.name:
            return Decimal(demo.pick(HOURLY_QUANTITIES))
        return Decimal(demo.rng.randint(1, 3))
    if item.unit_price < 1:  # envelopes and stamps come by the hundred
        return Decimal(demo.rng.randint(1, 10) * 100)
    return Decimal(demo.rng.randint(1, 12))


async def add_cases(demo: Demo) -> list[Case]:
    """One or two support cases per full contact, opened oldest first."""
    drafts = [
        _case(demo, person) for person in demo.full_people for _ in range(demo.rng.randint(1, 2))
    ]
    drafts.sort(key=_created_at)
    return [(await create_case(demo.session, draft))[0] for draft in drafts]


def _case(demo: Demo, person: DemoContact) -> CaseDraft:
    created = person.recent(demo.clock, RECENT_SHARE)
    title, category = demo.pick(data.CASES)
    age = (demo.clock.today - created.date()).days
    if age > 45:
        status = demo.pick(("closed", "closed", "closed", "waiting"))
    else:
        status = demo.pick(("open", "in_progress", "waiting", "closed"))
    description = (
        f"{title}.\n"
        f"Lo comunica {person.name} ({person.email}).\n"
        f"Afecta a: {person.contact.account or 'uso particular'}."
    )
    return CaseDraft(
        contact_id=person.id,
        title=title,
        description=description,
        priority=demo.pick(("low", "normal", "normal", "normal", "high", "urgent")),
        severity=demo.pick(("minor", "minor", "major", "feature", "critical")),
        category=category,
        status=status,
        created_by=demo.pick(data.OWNERS),
        created_at=created,
    )
