"""Transcripts of `buscar`, `vincular`, `desvincular`, `contacto` and choosing by number."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.bootstrap import Store
from bot.chatfmt import as_shown, contains_trigger
from store.models import Address, Asset, ChatChannel, Comment
from store.services.contacts import AddressData, ContactData, set_main_address, upsert_contact
from store.services.documents import (
    CaseDraft,
    DocumentDraft,
    LineDraft,
    create_case,
    create_document,
)
from store.services.users import set_role
from store.vocab import DocumentKind
from tests.chat import Chat

ROLES = {"vera": "ventas", "luis": "lectura", "carlos": "compras", "sofia": "soporte"}


@pytest.fixture
async def ana_id(store: Store) -> int:
    """Three contacts (two called Ana), chat roles, and Ana García's known records."""
    async with store.sessions.begin() as s:
        for user, role in ROLES.items():
            await set_role(s, user, role)
        ana, _ = await upsert_contact(
            s,
            ContactData(
                "Ana", "García", email="ana@acme.example", phone="+34 600 111 222", account="Acme"
            ),
        )
        await set_main_address(
            s, ana, AddressData("Calle Mayor 1", "Madrid", "", "28001", "España")
        )
        await upsert_contact(
            s, ContactData("Ana", "Ruiz", email="ana.ruiz@beta.example", account="Beta")
        )
        await upsert_contact(s, ContactData("Pedro", "Soto", email="pedro@gamma.example"))
    await add_records(store, ana.id)
    return ana.id


async def add_records(store: Store, contact_id: int) -> None:
    """2 assets, 2 addresses (with the primary), 1 quote, 3 comments and 1 case."""
    async with store.sessions.begin() as s:
        s.add_all(Asset(contact_id=contact_id, name=f"Portátil {n}") for n in (1, 2))
        s.add(Address(contact_id=contact_id, label="Almacén", street="Calle Sur 9", city="Getafe"))
        s.add_all(
            Comment(contact_id=contact_id, author="vera", text=f"Nota {n}") for n in (1, 2, 3)
        )
        await create_case(s, CaseDraft(contact_id, "No arranca"))
        line = LineDraft("Tornillo M8", Decimal(100), Decimal("0.12"))
        draft = DocumentDraft(
            DocumentKind.QUOTE, contact_id, "Tornillos", dt.date(2025, 6, 11), [line]
        )
        await create_document(s, draft)


async def shown(chat: Chat, text: str, **kwargs: str) -> list[str]:
    """The replies to ``text`` as the reader sees them."""
    return [as_shown(reply) for reply in await chat.say(text, **kwargs)]


async def channels(store: Store) -> list[tuple[int, str, str, str]]:
    async with store.sessions() as s:
        rows = await s.scalars(select(ChatChannel).order_by(ChatChannel.id))
        return [(c.contact_id, c.room_id, c.room_name, c.linked_by) for c in rows]


CARD_ES = """\
*Ana García*
Cuenta: Acme
Email: ana@acme.example
Teléfono: +34 600 111 222
Dirección: Calle Mayor 1, 28001 Madrid, España

Registros (escribe la palabra para verlos):
`activos` 2 · `proyectos` 0 · `direcciones` 2
`servicios` 0 · `polizas` 0 · `ventas` 0
`cotizaciones` 1 · `compras` 0 · `productos` 0
`calendario` 0 · `oportunidades` 0 · `comentarios` 3
`casos` 1 · `emails` 0 · `archivos` 0
`campanas` 0 · `canales` {channels}"""

CARD_EN = """\
*Ana García*
Account: Acme
Email: ana@acme.example
Phone: +34 600 111 222
Address: Calle Mayor 1, 28001 Madrid, España

Records (type the word to see them):
`assets` 2 · `projects` 0 · `addresses` 2
`services` 0 · `contracts` 0 · `sales-orders` 0
`quotes` 1 · `purchases` 0 · `products` 0
`calendar` 0 · `opportunities` 0 · `comments` 3
`cases` 1 · `emails` 0 · `files` 0
`campaigns` 0 · `channels` {channels}"""


# --- buscar -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "usage", "none"),
    [
        (
            "es",
            "Dime qué buscar: nombre, email, teléfono o cuenta.\n"
            "Por ejemplo: `buscar ana`, `buscar garcía` o `buscar +34 600`.",
            "No encuentro ningún contacto con «zzz».\n"
            "Prueba con menos letras, solo el apellido, o parte del email o del teléfono.",
        ),
        (
            "en",
            "Tell me what to search for: name, email, phone or account.\n"
            "For example: `search ana`, `search garcía` or `search +34 600`.",
            'I can\'t find any contact matching "zzz".\n'
            "Try fewer letters, just the last name, or part of the email or phone.",
        ),
    ],
)
async def test_search_without_text_or_without_matches(
    store: Store, ana_id: int, locale: str, usage: str, none: str
) -> None:
    async with Chat(store, locale=locale) as chat:
        assert await shown(chat, "buscar") == [usage]
        assert await shown(chat, "buscar zzz") == [none]


async def test_search_lists_then_a_number_shows_the_card_with_a_link_hint(
    store: Store, ana_id: int
) -> None:
    async with Chat(store) as chat:
        assert await shown(chat, "buscar ana") == [
            "*Contactos* con «ana»:\n"
            "1. *Ana García* · ana@acme.example · Acme\n"
            "2. *Ana Ruiz* · ana.ruiz@beta.example · Beta\n"
            "Escribe el número para ver su ficha, o `vincular <número>` para vincular esta sala."
        ]
        assert await shown(chat, "1") == [
            CARD_ES.format(channels=0) + "\n\nPara vincular esta sala a este contacto: `vincular 1`"
        ]
        # The list stays: another number picks another contact.
        assert (await shown(chat, "2"))[0].startswith("*Ana Ruiz*\nCuenta: Beta\n")


async def test_search_in_english_by_phone_and_for_a_reader(store: Store, ana_id: int) -> None:
    async with Chat(store, locale="en", fixed_role=None) as chat:
        assert await shown(chat, "search +34 600 111", user="luis") == [
            '*Contacts* matching "+34 600 111":\n'
            "1. *Ana García* · ana@acme.example · Acme\n"
            "Type the number to see the card."
        ]
        # A role that may not link gets no hint to link.
        assert await shown(chat, "1", user="luis") == [CARD_EN.format(channels=0)]


async def test_a_list_belongs_to_its_thread(store: Store, ana_id: int) -> None:
    async with Chat(store) as chat:
        await chat.say("buscar ana", thread="t-1")
        replies = await shown(chat, "1")
        assert replies[0].startswith("No tengo ninguna lista abierta")
        assert (await shown(chat, "1", thread="t-1"))[0].startswith("*Ana García*\n")


# --- vincular -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "linked", "card"),
    [
        ("es", "✅ Sala vinculada a *Ana García*.", CARD_ES),
        ("en", "✅ Room linked to *Ana García*.", CARD_EN),
    ],
)
async def test_link_with_one_match_links_and_shows_the_card(
    store: Store, ana_id: int, locale: str, linked: str, card: str
) -> None:
    async with Chat(store, locale=locale) as chat:
        assert await shown(chat, "vincular garcía") == [linked, card.format(channels=1)]
        assert await shown(chat, "contacto") == [card.format(channels=1)]
    assert await channels(store) == [(ana_id, "room-1", "room-1", "ana")]


async def test_link_with_several_matches_then_choose_by_number(store: Store, ana_id: int) -> None:
    async with Chat(store, fixed_role=None) as chat:
        assert await shown(chat, "vincular ana", user="vera") == [
            "Hay varios contactos con «ana». ¿Cuál vinculo a esta sala?\n"
            "1. *Ana García* · ana@acme.example · Acme\n"
            "2. *Ana Ruiz* · ana.ruiz@beta.example · Beta\n"
            "Responde con el número."
        ]
        assert await shown(chat, "3", user="vera") == [
            "No hay opción 3: elige un número del 1 al 2."
        ]
        replies = await shown(chat, "2", user="vera")
        assert replies[0] == "✅ Sala vinculada a *Ana Ruiz*."
        assert replies[1].startswith("*Ana Ruiz*\nCuenta: Beta\nEmail: ana.ruiz@beta.example\n")
        # The choice is settled: the same number means nothing now.
        assert (await shown(chat, "2", user="vera"))[0].startswith("No tengo ninguna lista")
    assert [row[1:] for row in await channels(store)] == [("room-1", "room-1", "vera")]


async def test_link_several_in_english(store: Store, ana_id: int) -> None:
    async with Chat(store, locale="en") as chat:
        assert await shown(chat, "link ana") == [
            'Several contacts match "ana". Which one should I link to this room?\n'
            "1. *Ana García* · ana@acme.example · Acme\n"
            "2. *Ana Ruiz* · ana.ruiz@beta.example · Beta\n"
            "Reply with the number."
        ]
        assert await shown(chat, "1") == [
            "✅ Room linked to *Ana García*.",
            CARD_EN.format(channels=1),
        ]


async def test_link_by_number_after_a_search(store: Store, ana_id: int) -> None:
    async with Chat(store) as chat:
        await chat.say("buscar ana")
        replies = await shown(chat, "vincular 1")
        assert replies == ["✅ Sala vinculada a *Ana García*.", CARD_ES.format(channels=1)]
        assert await shown(chat, "vincular 7") == ["No hay opción 7: elige un número del 1 al 2."]
        # The room is linked to Ana García now: her card no longer offers to link.
        assert await shown(chat, "1") == [CARD_ES.format(channels=1)]


async def test_relinking_replaces_the_previous_link(store: Store, ana_id: int) -> None:
    async with Chat(store) as chat:
        await chat.say("vincular garcía")
        assert await shown(chat, "vincular garcía") == [
            "Esta sala ya está vinculada a *Ana García*."
        ]
        replies = await shown(chat, "vincular pedro", user="marta")
        assert replies[0] == (
            "✅ Sala vinculada a *Pedro Soto*.\nSustituye al vínculo anterior con *Ana García*."
        )
    async with Chat(store, locale="en") as chat:
        replies = await shown(chat, "link garcía", message_id="en-1")
        assert replies[0] == (
            "✅ Room linked to *Ana García*.\nIt replaces the previous link to *Pedro Soto*."
        )
    assert await channels(store) == [(ana_id, "room-1", "room-1", "ana")]


@pytest.mark.parametrize(
    ("locale", "usage", "none"),
    [
        (
            "es",
            "Dime a qué contacto vinculo esta sala: nombre, email, teléfono o cuenta.\n"
            "Por ejemplo `vincular ana garcía`; tras un `buscar`, `vincular 2` vincula el "
            "segundo de la lista.",
            "No encuentro ningún contacto con «zzz», así que la sala sigue como estaba.\n"
            "Prueba con menos letras, o busca primero con `buscar`.",
        ),
        (
            "en",
            "Tell me which contact to link this room to: name, email, phone or account.\n"
            "For example `link ana garcía`; after a `search`, `link 2` links the second one "
            "listed.",
            'I can\'t find any contact matching "zzz", so the room stays as it was.\n'
            "Try fewer letters, or search first with `search`.",
        ),
    ],
)
async def test_link_without_text_or_without_matches(
    store: Store, ana_id: int, locale: str, usage: str, none: str
) -> None:
    async with Chat(store, locale=locale) as chat:
        assert await shown(chat, "vincular") == [usage]
        assert await shown(chat, "vincular zzz") == [none]
    assert await channels(store) == []


@pytest.mark.parametrize("user", ["luis", "carlos", "sofia"])
async def test_roles_that_may_not_link_are_refused(store: Store, ana_id: int, user: str) -> None:
    refusal = (
        f"Con tu rol, `{ROLES[user]}`, no puedes hacer esto: hace falta el rol `ventas` "
        "(o `admin`).\nSi lo necesitas, pídeselo a un administrador."
    )
    async with Chat(store, fixed_role=None) as chat:
        await chat.say("vincular garcía", user="vera")
        assert await shown(chat, "vincular pedro", user=user) == [refusal]
        assert await shown(chat, "desvincular", user=user) == [refusal]
        # Reading is still fine.
        assert await shown(chat, "contacto", user=user) == [CARD_ES.format(channels=1)]
    assert [row[0] for row in await channels(store)] == [ana_id]


# --- desvincular --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "done", "none"),
    [
        (
            "es",
            "Listo: esta sala ya no está vinculada a *Ana García*.",
            "Esta sala no está vinculada a ningún contacto: no hay nada que desvincular.",
        ),
        (
            "en",
            "Done: this room is no longer linked to *Ana García*.",
            "This room isn't linked to any contact: there's nothing to unlink.",
        ),
    ],
)
async def test_unlink(store: Store, ana_id: int, locale: str, done: str, none: str) -> None:
    async with Chat(store, locale=locale) as chat:
        await chat.say("vincular garcía")
        await chat.say("vincular garcía", room="room-2")
        assert await shown(chat, "desvincular") == [done]
        assert await shown(chat, "desvincular") == [none]
        assert (await shown(chat, "contacto"))[0].startswith(
            "Esta sala aún no" if locale == "es" else "This room isn't linked"
        )
    # Only this room's link went.
    assert await channels(store) == [(ana_id, "room-2", "room-2", "ana")]


# --- data shown literally ---------------------------------------------------------------------


HOSTILE_NAME = "@all *x* _y_"
HOSTILE_ACCOUNT = "#general http://evil.example"


async def test_a_hostile_contact_is_shown_literally(store: Store) -> None:
    async with store.sessions.begin() as s:
        await upsert_contact(
            s,
            ContactData(HOSTILE_NAME, "Evil", email="evil@evil.example", account=HOSTILE_ACCOUNT),
        )
    async with Chat(store) as chat:
        replies = [
            *await chat.say("buscar evil"),
            *await chat.say("1"),
            *await chat.say("vincular evil"),
            *await chat.say("contacto"),
        ]
    assert len(replies) == 5
    for reply in replies:
        for raw in ("@all", "#general", "http://", "*x*", "_y_"):
            assert raw not in reply
        # The lines that carry the contact's data (not the echo of the search text).
        data_lines = [
            line
            for line in reply.splitlines()
            if "Evil" in line or "general" in line or "Email" in line
        ]
        assert data_lines
        for line in data_lines:
            # "1. " is our own numbered list; what follows is data and must be inert.
            assert not contains_trigger(re.sub(r"^\d+\. ", "", line)), line
    card = as_shown(replies[1]).splitlines()
    assert card[:3] == [
        f"{HOSTILE_NAME} Evil",
        f"Cuenta: {HOSTILE_ACCOUNT}",
        "Email: evil@evil.example",
    ]
    assert as_shown(replies[0]).splitlines()[1] == (
        f"1. {HOSTILE_NAME} Evil · evil@evil.example · {HOSTILE_ACCOUNT}"
    )
    assert as_shown(replies[2]) == f"✅ Sala vinculada a {HOSTILE_NAME} Evil."
