"""Record numbers stay gap-free and unique when many creators race (CONTRACT §5)."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.models import Document
from store.numbering import Series, current_value, format_number, next_number
from store.services.catalogue import VendorData, upsert_vendor
from store.services.contacts import ContactData, upsert_contact
from store.services.documents import DocumentDraft, LineDraft, create_document
from store.vocab import DocumentKind
from tests.databases import TestDatabase

CREATORS = 200


def test_format_number_pads_to_five_digits() -> None:
    assert format_number(Series.PURCHASE_ORDER, 12) == "OC-00012"
    assert format_number(Series.CASE, 123456) == "CAS-123456"


async def _seed(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessions.begin() as session:
        contact, _ = await upsert_contact(session, ContactData("Ana", "Gómez", "ana@example.com"))
        vendor, _ = await upsert_vendor(session, VendorData("Suministros Norte"))
        return contact.id, vendor.id


async def _create_po(
    sessions: async_sessionmaker[AsyncSession], contact_id: int, vendor_id: int, n: int
) -> str:
    line = LineDraft("Tornillos", Decimal(n % 7 + 1), Decimal("0.35"), tax_rate=Decimal(21))
    draft = DocumentDraft(
        kind=DocumentKind.PURCHASE_ORDER,
        contact_id=contact_id,
        title=f"Pedido {n}",
        date=dt.date(2026, 11, 28),
        lines=[line],
        vendor_id=vendor_id,
    )
    async with sessions.begin() as session:
        document, _ = await create_document(session, draft)
        return document.number


async def test_concurrent_creators_get_gap_free_unique_numbers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    contact_id, vendor_id = await _seed(sessions)
    numbers = await asyncio.gather(
        *(_create_po(sessions, contact_id, vendor_id, n) for n in range(CREATORS))
    )
    expected = {format_number(Series.PURCHASE_ORDER, n) for n in range(1, CREATORS + 1)}
    assert sorted(numbers) == sorted(expected)
    async with sessions() as session:
        stored = set(await session.scalars(select(Document.number)))
    assert stored == expected


async def test_rolled_back_creation_returns_its_number(database: TestDatabase) -> None:
    sessions = async_sessionmaker(database.engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        assert await next_number(session, Series.CASE) == "CAS-00001"
        await session.rollback()
    async with sessions.begin() as session:
        assert await current_value(session, Series.CASE) == 0
        assert await next_number(session, Series.CASE) == "CAS-00001"
    async with sessions.begin() as session:
        assert await next_number(session, Series.CASE) == "CAS-00002"
        assert await next_number(session, Series.QUOTE) == "COT-00001"
