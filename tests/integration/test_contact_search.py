"""Contact search by name, email, phone and account prefix, and the catalogue's vendor and
item searches, on both databases."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Product, Service
from store.services.catalogue import (
    ItemData,
    VendorData,
    search_items,
    search_vendors,
    upsert_item,
    upsert_vendor,
)
from store.services.contacts import ContactData, search_contacts, upsert_contact

LAST = "\U0010ffff"  # the last code point: a prefix made of it has no upper bound


@pytest.fixture
async def people(session: AsyncSession) -> AsyncSession:
    for data in (
        ContactData(
            "Ana", "García Núñez", "ana.garcia@example.com", "+34 600 123 456", "Frutas Ana"
        ),
        ContactData("Ana", "Pérez", "ana.perez@example.com", "911 222 333", "Talleres Sur"),
        ContactData("José", "Álvarez", "jose@example.com", None, "Café *Estrella*"),
    ):
        await upsert_contact(session, data)
    await session.flush()
    return session


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ana", ["García Núñez", "Pérez"]),
        ("ANA gar", ["García Núñez"]),
        ("nunez", ["García Núñez"]),
        ("jose", ["Álvarez"]),
        ("álv", ["Álvarez"]),
        ("ana.perez@", ["Pérez"]),
        ("+34 600 12", ["García Núñez"]),
        ("600 123", ["García Núñez"]),
        ("911-222", ["Pérez"]),
        ("talleres", ["Pérez"]),
        ("cafe", ["Álvarez"]),
        ("zzz", []),
        ("", []),
    ],
)
async def test_search_prefixes(people: AsyncSession, query: str, expected: list[str]) -> None:
    found = await search_contacts(people, query)
    assert [contact.last_name for contact in found] == expected


async def test_changing_a_contact_rewrites_its_keys(people: AsyncSession) -> None:
    contact, created = await upsert_contact(
        people, ContactData("Ana", "Pérez Gil", "ANA.PEREZ@example.com", "911 222 333")
    )
    assert not created
    assert [c.id for c in await search_contacts(people, "gil")] == [contact.id]
    assert await search_contacts(people, "talleres") == []


async def test_a_limit_keeps_the_first_by_name(people: AsyncSession) -> None:
    assert [c.last_name for c in await search_contacts(people, "ana", limit=1)] == ["García Núñez"]


async def test_a_search_of_last_code_points_has_no_upper_bound(people: AsyncSession) -> None:
    # "\U0010ffff" has no string after all its extensions: the range is open-ended.
    await upsert_contact(people, ContactData(LAST, "Zeta", "last@example.com"))
    await upsert_contact(people, ContactData(f"zz{LAST}", "Yuste", "zz@example.com"))
    assert [c.last_name for c in await search_contacts(people, LAST)] == ["Zeta"]
    assert [c.last_name for c in await search_contacts(people, f"{LAST}{LAST}")] == []
    assert [c.last_name for c in await search_contacts(people, f"zz{LAST}")] == ["Yuste"]
    assert [c.last_name for c in await search_contacts(people, "zz")] == ["Yuste"]


# --- the catalogue's prefix searches ---------------------------------------------------------
@pytest.fixture
async def catalogue(session: AsyncSession) -> AsyncSession:
    for name in ("Suministros Ibérica", "Bombas Sur", "Bombeo Norte", f"Zeta{LAST}"):
        await upsert_vendor(session, VendorData(name))
    for sku, name in (
        ("TOR-10", "Tornillo M10"),
        ("TOR-1", "Tuerca M1"),
        ("ARA-1", "Arandela de tornillo"),
        ("CLV-1", "Clavo"),
        (LAST, f"Pieza {LAST}"),
    ):
        await upsert_item(session, Product, ItemData(sku, name, Decimal("1.00")))
    for sku, name in (("INS-1", "Instalación"), ("TOR-S", "Torneado a medida")):
        await upsert_item(session, Service, ItemData(sku, name, Decimal("1.00")))
    await session.flush()
    return session


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("bomb", ["Bombas Sur", "Bombeo Norte"]),
        ("BOMBAS", ["Bombas Sur"]),
        ("iberica", ["Suministros Ibérica"]),  # no name starts so: a word inside it does
        ("zeta", [f"Zeta{LAST}"]),
        (f"zeta{LAST}", [f"Zeta{LAST}"]),
        (LAST, [f"Zeta{LAST}"]),  # no name starts so: found inside one
        ("xyz", []),
        ("", []),
    ],
)
async def test_vendor_search(catalogue: AsyncSession, query: str, expected: list[str]) -> None:
    assert [vendor.name for vendor in await search_vendors(catalogue, query)] == expected


async def test_vendor_search_limit(catalogue: AsyncSession) -> None:
    assert [vendor.name for vendor in await search_vendors(catalogue, "bomb", 1)] == ["Bombas Sur"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # An exact SKU first, then by name; a word of the name counts as well as its start.
        ("tor-1", ["TOR-1", "TOR-10"]),
        ("tornillo", ["ARA-1", "TOR-10"]),
        ("tuerca", ["TOR-1"]),
        ("m1", ["TOR-10", "TOR-1"]),
        ("orn", []),  # inside a word, not at its start
        (LAST, [LAST]),  # the open-ended range: only U+10FFFF and beyond
        ("pieza", [LAST]),
        ("xyz", []),
        ("", []),
    ],
)
async def test_product_search(catalogue: AsyncSession, query: str, expected: list[str]) -> None:
    assert [item.sku for item in await search_items(catalogue, Product, query)] == expected


async def test_services_are_searched_apart_and_limited(catalogue: AsyncSession) -> None:
    assert [item.sku for item in await search_items(catalogue, Service, "tor")] == ["TOR-S"]
    assert [item.sku for item in await search_items(catalogue, Service, "ins")] == ["INS-1"]
    assert [item.sku for item in await search_items(catalogue, Product, "tor", 1)] == ["ARA-1"]
