"""Transcripts of `ayuda [tema]` / `help [topic]`: per role, per topic, linked or not."""

from __future__ import annotations

import pytest

from bot.bootstrap import Store
from bot.chatfmt import as_shown
from bot.commands.help import Topic, topic_of
from store.models import ChatChannel
from store.services.contacts import ContactData, upsert_contact
from store.services.users import set_role
from tests.chat import Chat

ROLES = {"marta": "admin", "carlos": "compras", "vera": "ventas", "sofia": "soporte"}
ROLES |= {"luis": "lectura"}


@pytest.fixture
async def users(store: Store) -> None:
    async with store.sessions.begin() as s:
        for user, role in ROLES.items():
            await set_role(s, user, role)


async def link_room(store: Store, room: str = "room-1") -> None:
    async with store.sessions.begin() as s:
        ana, _ = await upsert_contact(s, ContactData("Ana", "García", email="ana@example.com"))
        s.add(ChatChannel(contact_id=ana.id, room_id=room, room_name=room))


async def shown(chat: Chat, text: str, **kwargs: str) -> str:
    return as_shown(await chat.said(text, **kwargs))


ADMIN_ES = """\
*Qué puedes hacer aquí* (tu rol: `admin`)
1. `buscar ana` — buscar contactos
2. `vincular ana` / `desvincular` — vincular esta sala
3. `contacto` — ficha del contacto de la sala
4. `compras`, `casos`… — registros de un módulo
5. `ver OC-00012` — un registro en detalle
6. `agregar compra` — nueva orden de compra
7. `agregar cotizacion` — nueva cotización
8. `agregar caso` — nuevo caso de soporte
9. `comentar <texto>` — añadir un comentario
10. `estado <número> <estado>` — cambiar un estado
11. `enviar <número>` — enviar un documento en PDF

Esta sala no está vinculada a ningún contacto.
Más detalle: `ayuda <tema>`, por ejemplo `ayuda vincular`."""

ADMIN_EN = """\
*What you can do here* (your role: `admin`)
1. `search ana` — find contacts
2. `link ana` / `unlink` — link this room
3. `contact` — the room's contact card
4. `purchases`, `cases`… — a module's records
5. `show OC-00012` — one record in detail
6. `add purchase` — new purchase order
7. `add quote` — new quote
8. `add case` — new support case
9. `comment <text>` — add a comment
10. `status <number> <status>` — change a status
11. `send <number>` — email a document as PDF

This room isn't linked to a contact.
More: `help <topic>`, for example `help link`."""


@pytest.mark.parametrize(("locale", "expected"), [("es", ADMIN_ES), ("en", ADMIN_EN)])
async def test_admin_overview_lists_everything(store: Store, locale: str, expected: str) -> None:
    async with Chat(store, locale=locale) as chat:
        assert await shown(chat, "ayuda") == expected
        assert await shown(chat, "¿help?") == expected


async def test_ventas_overview_in_a_linked_room(store: Store, users: None) -> None:
    await link_room(store)
    async with Chat(store, fixed_role=None) as chat:
        assert await shown(chat, "ayuda", user="vera") == (
            "*Qué puedes hacer aquí* (tu rol: `ventas`)\n"
            "1. `buscar ana` — buscar contactos\n"
            "2. `vincular ana` / `desvincular` — vincular esta sala\n"
            "3. `contacto` — ficha del contacto de la sala\n"
            "4. `compras`, `casos`… — registros de un módulo\n"
            "5. `ver OC-00012` — un registro en detalle\n"
            "6. `agregar cotizacion` — nueva cotización\n"
            "7. `comentar <texto>` — añadir un comentario\n"
            "8. `estado <número> <estado>` — cambiar un estado\n"
            "9. `enviar <número>` — enviar un documento en PDF\n"
            "\n"
            "Esta sala está vinculada a *Ana García*.\n"
            "Más detalle: `ayuda <tema>`, por ejemplo `ayuda vincular`."
        )


async def test_read_only_overview_in_english(store: Store, users: None) -> None:
    await link_room(store)
    async with Chat(store, locale="en", fixed_role=None) as chat:
        assert await shown(chat, "help", user="luis") == (
            "*What you can do here* (your role: `lectura`)\n"
            "1. `search ana` — find contacts\n"
            "2. `contact` — the room's contact card\n"
            "3. `purchases`, `cases`… — a module's records\n"
            "4. `show OC-00012` — one record in detail\n"
            "Your role is read-only: you can look at everything but change nothing.\n"
            "\n"
            "This room is linked to *Ana García*.\n"
            "More: `help <topic>`, for example `help link`."
        )


async def test_support_overview_offers_cases_not_purchases(store: Store, users: None) -> None:
    async with Chat(store, fixed_role=None) as chat:
        lines = (await shown(chat, "ayuda", user="sofia")).splitlines()
    assert lines[1:8] == [
        "1. `buscar ana` — buscar contactos",
        "2. `contacto` — ficha del contacto de la sala",
        "3. `compras`, `casos`… — registros de un módulo",
        "4. `ver OC-00012` — un registro en detalle",
        "5. `agregar caso` — nuevo caso de soporte",
        "6. `comentar <texto>` — añadir un comentario",
        "7. `estado <número> <estado>` — cambiar un estado",
    ]
    assert not any("agregar compra" in line or "vincular ana" in line for line in lines)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "es",
            "Hola, soy el bot del CRM. Aún no tienes acceso: pide a un administrador que te "
            "asigne un rol.\nDespués, escribe `ayuda` y te cuento qué puedes hacer.",
        ),
        (
            "en",
            "Hi, I'm the CRM bot. You don't have access yet: ask an admin to give you a role.\n"
            "Then type `help` and I'll tell you what you can do.",
        ),
    ],
)
async def test_role_none_gets_only_a_short_help(store: Store, locale: str, expected: str) -> None:
    await link_room(store)
    async with Chat(store, locale=locale, fixed_role=None) as chat:
        assert await shown(chat, "ayuda", user="stranger") == expected
        # Nor does a topic tell them more, or name the room's contact.
        assert await shown(chat, "ayuda compras", user="stranger") == expected


# --- topics ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("buscar", Topic.SEARCH),
        ("search", Topic.SEARCH),
        ("vincular", Topic.LINK),
        ("Desvincular", Topic.LINK),
        ("unlink", Topic.LINK),
        ("módulos", Topic.MODULES),
        ("modules", Topic.MODULES),
        ("activos", Topic.MODULES),
        ("sales orders", Topic.MODULES),
        ("contacto", Topic.MODULES),
        ("ver", Topic.SHOW),
        ("show", Topic.SHOW),
        ("compras", Topic.PURCHASES),
        ("compra", Topic.PURCHASES),
        ("agregar compra", Topic.PURCHASES),
        ("add purchase order", Topic.PURCHASES),
        ("cotizaciones", Topic.QUOTES),
        ("cotización", Topic.QUOTES),
        ("add quote", Topic.QUOTES),
        ("casos", Topic.CASES),
        ("agregar caso", Topic.CASES),
        ("comentar", Topic.COMMENT),
        ("comentarios", Topic.COMMENT),
        ("estado", Topic.STATUS),
        ("status?", Topic.STATUS),
        ("enviar", Topic.SEND),
        ("send", Topic.SEND),
        ("xyz", None),
        ("2", None),
        ("ayuda", None),
    ],
)
def test_topic_words_in_both_languages(text: str, topic: Topic | None) -> None:
    assert topic_of(text) is topic


@pytest.mark.parametrize(
    ("locale", "text", "heading"),
    [
        ("es", "ayuda buscar", "*Buscar contactos*"),
        ("es", "ayuda vincular", "*Vincular la sala a un contacto*"),
        ("es", "ayuda módulos", "*Ficha y módulos*"),
        ("es", "ayuda ver", "*Ver un registro*"),
        ("es", "ayuda compras", "*Órdenes de compra*"),
        ("es", "ayuda cotizaciones", "*Cotizaciones*"),
        ("es", "ayuda casos", "*Casos de soporte*"),
        ("es", "ayuda comentar", "*Comentarios*"),
        ("es", "ayuda estado", "*Cambiar un estado*"),
        ("es", "ayuda enviar", "*Enviar por email*"),
        ("en", "help search", "*Finding contacts*"),
        ("en", "help link", "*Linking the room to a contact*"),
        ("en", "help modules", "*Contact card and modules*"),
        ("en", "help show", "*Showing one record*"),
        ("en", "help purchases", "*Purchase orders*"),
        ("en", "help quotes", "*Quotes*"),
        ("en", "help cases", "*Support cases*"),
        ("en", "help comment", "*Comments*"),
        ("en", "help status", "*Changing a status*"),
        ("en", "help send", "*Sending by email*"),
    ],
)
async def test_every_topic_answers_in_the_locale(
    store: Store, locale: str, text: str, heading: str
) -> None:
    async with Chat(store, locale=locale) as chat:
        assert (await shown(chat, text)).splitlines()[0] == heading


async def test_search_topic(store: Store) -> None:
    async with Chat(store) as chat:
        assert await shown(chat, "ayuda buscar") == (
            "*Buscar contactos*\n"
            "`buscar <texto>` busca por nombre, email, teléfono o cuenta; con varias palabras, "
            "deben coincidir todas.\n"
            "Ejemplos: `buscar ana garcía`, `buscar acme`, `buscar +34 600`.\n"
            "Verás una lista numerada de hasta 10. Escribe el número para ver la ficha, "
            "o `vincular <número>` para vincular esta sala."
        )


async def test_link_topic_for_a_role_that_may_not_link(store: Store, users: None) -> None:
    await link_room(store)
    async with Chat(store, locale="en", fixed_role=None) as chat:
        assert await shown(chat, "help link", user="luis") == (
            "*Linking the room to a contact*\n"
            "In a linked room, `contact`, the modules and the wizards use that contact, "
            "and its notifications arrive here.\n"
            "1. `link <text>` — one match links it; with several, reply with the number.\n"
            "2. After `search`, `link 2` links the second one listed.\n"
            "3. `unlink` — removes the link.\n"
            "If the room had another contact, the new link replaces it.\n"
            "Your role (`lectura`) can't link rooms: that needs `ventas` or `admin`.\n"
            "The room is now linked to *Ana García*."
        )


async def test_purchases_topic_by_role(store: Store, users: None) -> None:
    async with Chat(store, fixed_role=None) as chat:
        buyer = await shown(chat, "ayuda agregar compra", user="carlos")
        reader = await shown(chat, "ayuda compras", user="luis")
    assert buyer == (
        "*Órdenes de compra*\n"
        "`compras` lista las del contacto de la sala; `ver OC-00012` abre una.\n"
        "`agregar compra` te guía paso a paso: título, proveedor, fecha, estado, líneas "
        "(producto, cantidad, precio, impuesto, descuento), términos y direcciones. "
        "Al final revisas y escribes `guardar`.\n"
        "En cada paso: `atrás`, `omitir`, `cancelar` o `ayuda`.\n"
        "Estados: Creada, Aprobada, Enviada al proveedor, Recibida, Cancelada "
        "(aprobar es solo de `admin`).\n"
        "`enviar OC-00012` la envía en PDF al proveedor."
    )
    assert reader == (
        "*Órdenes de compra*\n"
        "`compras` lista las del contacto de la sala; `ver OC-00012` abre una.\n"
        "Con tu rol (`lectura`) solo puedes consultarlas: crearlas y cambiarlas necesita "
        "`compras`."
    )


async def test_modules_topic_lists_the_17_words(store: Store) -> None:
    async with Chat(store, locale="en") as chat:
        assert await shown(chat, "help modules") == (
            "*Contact card and modules*\n"
            "`contact` shows the room's contact card and how many records it has in each "
            "module.\n"
            "Type a module to see its records, 10 a page, newest first; "
            "`purchases page 2` goes on.\n"
            "`assets` · `projects` · `addresses` · `services` · `contracts` · `sales-orders`\n"
            "`quotes` · `purchases` · `products` · `calendar` · `opportunities` · `comments`\n"
            "`cases` · `emails` · `files` · `campaigns` · `channels`\n"
            "First link the room: `link <name>`."
        )


async def test_status_topic_names_the_statuses(store: Store, users: None) -> None:
    async with Chat(store, fixed_role=None) as chat:
        assert await shown(chat, "ayuda estado", user="sofia") == (
            "*Cambiar un estado*\n"
            "`estado <número> <estado>`, por ejemplo `estado OC-00012 recibida`.\n"
            "1. Compras: Creada, Aprobada, Enviada al proveedor, Recibida, Cancelada "
            "(aprobar es solo de `admin`)\n"
            "2. Cotizaciones: Creada, Entregada, Revisada, Aceptada, Rechazada\n"
            "3. Ventas: Creada, Aprobada, Entregada, Cancelada\n"
            "4. Casos: Abierto, En curso, En espera de respuesta, Cerrado\n"
            "Con tu rol (`soporte`) solo cambias lo tuyo: compras, `compras`; "
            "cotizaciones y ventas, `ventas`; casos, `soporte`."
        )


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [
        (
            "es",
            "ayuda facturas",
            "No tengo ayuda sobre «facturas». Estos son los temas:\n"
            "`buscar` · `vincular` · `módulos` · `ver` · `compras`\n"
            "`cotizaciones` · `casos` · `comentar` · `estado` · `enviar`\n"
            "Por ejemplo: `ayuda vincular`.",
        ),
        (
            "en",
            "help invoices",
            'I have no help on "invoices". These are the topics:\n'
            "`search` · `link` · `modules` · `show` · `purchases`\n"
            "`quotes` · `cases` · `comment` · `status` · `send`\n"
            "For example: `help link`.",
        ),
    ],
)
async def test_an_unknown_topic_lists_the_topics(
    store: Store, locale: str, text: str, expected: str
) -> None:
    async with Chat(store, locale=locale) as chat:
        assert await shown(chat, text) == expected
