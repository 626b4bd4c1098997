"""Contact search by name, email, phone and account prefix, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from store.services.contacts import ContactData, search_contacts, upsert_contact


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
