"""Transcripts of `agregar compra` (DOMAIN §3): the whole purchase order to the cent, vendor
search, numbers and dates as typed, approval by role, bad answers and what each step asks.

The helpers at the top (a small catalogue, the scripted answers, reading the session row)
are shared by the dialog control and resilience transcripts.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.bootstrap import Store
from bot.chatfmt import as_shown
from store import models as m
from store.services.catalogue import ItemData, VendorData, tax_for_rate, upsert_item, upsert_vendor
from store.services.contacts import AddressData, ContactData, set_main_address, upsert_contact
from store.services.users import set_role
from tests.chat import Chat

NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
ROOM, OTHER_ROOM = "room-1", "room-9"

# The DOMAIN §2 worked check typed as a user would, in Spanish: header, two lines, closing.
HEADER = ["agregar compra", "Material de oficina", "papeleria sol", "ok", "hoy", "ok"]
LINE_1 = ["grapadora", "10", "ok", "ok", "10%"]
LINE_2 = ["archivador", "3", "40", "21", "5"]
CLOSING = ["listo", "Pago a 30 días", "ok", "ok"]
TO_REVIEW = [*HEADER, *LINE_1, *LINE_2, *CLOSING]
# The same in English, answered the other ways: number, SKU, rate with %, amounts with dots.
TO_REVIEW_EN = [
    *["add purchase", "Material de oficina", "pap", "2", "ok", "today", "skip"],
    *["GRP-01", "10", "12.50", "1", "10%"],
    *["arch", "3", "40.00", "21%", "5.00"],
    *["done", "Pago a 30 días", "ok", "ok"],
]


def clock() -> dt.datetime:
    """The tests' fixed now: 28 Nov 2026, 11:00 in Madrid."""
    return NOW


def nb(text: str) -> str:
    """``text`` with CLDR's no-break spaces: before every `€`, and wherever ``~`` is written."""
    return text.replace(" €", "\u00a0€").replace("~", "\u00a0")


@dataclass(frozen=True)
class World:
    """Ids the transcripts check against."""

    ana_id: int
    luis_id: int
    vendor_id: int


async def seed_world(store: Store) -> World:
    """Taxes, contacts, vendors, items; room-1 and room-9 linked to Ana García.

    Ana García: primary and fiscal address Calle Mayor 5, plus a warehouse address.
    "ana" also finds Ana Martín; vendors Papelería Sol and Papelería Luna; products
    Grapadora (GRP-01, 12.50, IVA 21 %) and Archivador (ARC-01, 40.00, IVA 21 %), and the
    service Grabado láser (GRB-02, 3.25, no tax), and Tornillo M8 (TOR-08, 0.045, no tax).
    """
    async with store.sessions.begin() as s:
        for rate in ("21", "10", "4", "0"):
            await tax_for_rate(s, Decimal(rate))
        ana, _ = await upsert_contact(s, ContactData("Ana", "García", email="ana@cliente.es"))
        await set_main_address(
            s, ana, AddressData("Calle Mayor 5", "Madrid", "Madrid", "28013", "España")
        )
        s.add(
            m.Address(
                contact_id=ana.id,
                label="Almacén",
                street="Polígono Sur 3",
                city="Getafe",
                postal_code="28901",
            )
        )
        await upsert_contact(s, ContactData("Ana", "Martín", email="amartin@cliente.es"))
        luis, _ = await upsert_contact(s, ContactData("Luis", "Pérez", email="luis@cliente.es"))
        vendor, _ = await upsert_vendor(s, VendorData("Papelería Sol"))
        await upsert_vendor(s, VendorData("Papelería Luna"))
        await upsert_item(
            s, m.Product, ItemData("GRP-01", "Grapadora", Decimal("12.50"), Decimal(21))
        )
        await upsert_item(s, m.Product, ItemData("ARC-01", "Archivador", Decimal(40), Decimal(21)))
        await upsert_item(s, m.Service, ItemData("GRB-02", "Grabado láser", Decimal("3.25")))
        await upsert_item(s, m.Product, ItemData("TOR-08", "Tornillo M8", Decimal("0.045")))
        s.add(m.ChatChannel(contact_id=ana.id, room_id=ROOM, room_name="ana"))
        s.add(m.ChatChannel(contact_id=ana.id, room_id=OTHER_ROOM, room_name="ana-compras"))
        return World(ana.id, luis.id, vendor.id)


async def say_all(chat: Chat, messages: list[str], **where: str) -> list[str]:
    """Say each message in turn; the replies to the last one."""
    replies: list[str] = []
    for text in messages:
        replies = await chat.say(text, **where)
    return [as_shown(reply) for reply in replies]


async def shown(chat: Chat, text: str, **where: str) -> list[str]:
    """The replies to ``text`` as a reader sees them."""
    return [as_shown(reply) for reply in await chat.say(text, **where)]


async def session_row(store: Store) -> m.DialogSession | None:
    """The only open dialog, if any."""
    async with store.sessions() as s:
        rows = list(await s.scalars(select(m.DialogSession)))
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


async def fields(store: Store) -> dict[str, Any]:
    """The open dialog's collected values."""
    row = await session_row(store)
    assert row is not None
    data: dict[str, Any] = json.loads(row.data)
    return data["fields"]  # type: ignore[no-any-return]


async def state(store: Store) -> str | None:
    """The open dialog's step, or None when no dialog is open."""
    row = await session_row(store)
    return None if row is None else row.state


async def document_count(store: Store) -> int:
    """How many documents exist."""
    async with store.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(m.Document)) or 0)


async def at_role(store: Store, user: str, role: str) -> None:
    """Map chat ``user`` to ``role``."""
    async with store.sessions.begin() as s:
        await set_role(s, user, role)


REVIEW_ES = nb(
    """*Revisa la orden de compra*
1. Título: Material de oficina
2. Proveedor: Papelería Sol
3. Contacto: Ana García
4. Fecha: 28 nov 2026
5. Estado: Creada
6. Líneas (2):
   1) Grapadora (GRP-01)
      10 × 12,50 € · IVA 21 % · dto. 10~%
      neto 112,50 € · impuesto 23,63 € · total 136,13 €
   2) Archivador (ARC-01)
      3 × 40,00 € · IVA 21 % · dto. 5,00 €
      neto 115,00 € · impuesto 24,15 € · total 139,15 €
7. Términos: Pago a 30 días
8. Entrega: Calle Mayor 5, 28013 Madrid, España
9. Facturación: Calle Mayor 5, 28013 Madrid, España

Subtotal: 227,50 €
Descuentos: 17,50 €
Impuestos: 47,78 €
Total: *275,28 €*

`guardar` la crea · `editar n` cambia el punto n · `cancelar` la descarta"""
)

REVIEW_EN = """*Review the purchase order*
1. Title: Material de oficina
2. Vendor: Papelería Sol
3. Contact: Ana García
4. Date: Nov 28, 2026
5. Status: Created
6. Lines (2):
   1) Grapadora (GRP-01)
      10 × €12.50 · IVA 21 % · 10% off
      net €112.50 · tax €23.63 · total €136.13
   2) Archivador (ARC-01)
      3 × €40.00 · IVA 21 % · €5.00 off
      net €115.00 · tax €24.15 · total €139.15
7. Terms: Pago a 30 días
8. Delivery: Calle Mayor 5, 28013 Madrid, España
9. Billing: Calle Mayor 5, 28013 Madrid, España

Subtotal: €227.50
Discounts: €17.50
Taxes: €47.78
Total: *€275.28*

`save` creates it · `edit n` changes point n · `cancel` discards it"""


# ------------------------------------------------------------------ the whole purchase order


@pytest.mark.parametrize(
    ("locale", "script", "review", "save", "saved", "notice"),
    [
        (
            "es",
            TO_REVIEW,
            REVIEW_ES,
            "guardar",
            "Orden de compra `OC-00001` creada.",
            "*ana* creó la orden de compra `OC-00001`. Detalle: `ver OC-00001`",
        ),
        (
            "en",
            TO_REVIEW_EN,
            REVIEW_EN,
            "save",
            "Purchase order `OC-00001` created.",
            "*ana* created purchase order `OC-00001`. Details: `show OC-00001`",
        ),
    ],
    ids=["es", "en"],
)
async def test_the_worked_check_is_reviewed_saved_shown_and_told(
    store: Store,
    locale: str,
    script: list[str],
    review: str,
    save: str,
    saved: str,
    notice: str,
) -> None:
    world = await seed_world(store)
    async with Chat(store, locale=locale, clock=clock) as chat:
        assert await say_all(chat, script) == [review]
        replies = await shown(chat, save)
        assert replies[0] == saved
        assert replies[1:] == await shown(
            chat, "ver OC-00001" if locale == "es" else "show OC-00001"
        )
        assert chat.transport.texts(OTHER_ROOM) == [notice]
    async with store.sessions() as s:
        po = await s.scalar(select(m.Document).where(m.Document.number == "OC-00001"))
        assert po is not None
        lines = list(
            await s.scalars(select(m.DocumentLine).where(m.DocumentLine.document_id == po.id))
        )
    assert (po.subtotal, po.discount_total, po.tax_total, po.total) == (
        Decimal("227.50"),
        Decimal("17.50"),
        Decimal("47.78"),
        Decimal("275.28"),
    )
    assert (po.kind, po.status, po.title, po.date) == (
        "purchase_order",
        "created",
        "Material de oficina",
        dt.date(2026, 11, 28),
    )
    assert (po.vendor_id, po.contact_id, po.created_by) == (world.vendor_id, world.ana_id, "ana")
    assert po.terms == "Pago a 30 días"
    assert po.delivery_address == po.billing_address == "Calle Mayor 5, 28013 Madrid, España"
    assert [
        (line.sku, line.net, line.tax, line.total)
        for line in sorted(lines, key=lambda x: x.position)
    ] == [
        ("GRP-01", Decimal("112.50"), Decimal("23.63"), Decimal("136.13")),
        ("ARC-01", Decimal("115.00"), Decimal("24.15"), Decimal("139.15")),
    ]
    assert await session_row(store) is None


async def test_every_step_asks_its_question_once_with_the_running_totals(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        asked = [await shown(chat, text) for text in TO_REVIEW]
    assert asked[:6] == [
        [
            "*Nueva orden de compra*: te la pido paso a paso.\n"
            "En cualquier paso: `atras` vuelve al anterior, `ayuda` explica el paso, "
            "`cancelar` la descarta.",
            "*Título* de la compra (p. ej. Material de oficina):",
        ],
        ["*Proveedor*: escribe su nombre o el principio (p. ej. papel)."],
        [
            "Proveedor: *Papelería Sol* (si no es este, `atras`).",
            "*Contacto*: Ana García — `ok` para mantenerlo, o escribe otro nombre para buscarlo.",
        ],
        [
            "*Fecha* (hoy: 28/11/2026 — `ok` para aceptarla).\n"
            "Otra: `mañana`, `15/12/2026` o `2026-12-15`."
        ],
        [
            "*Estado*:\n1. Creada\n2. Aprobada\n3. Enviada al proveedor\n4. Recibida\n"
            "Número o nombre; `ok` u `omitir` la deja Creada."
        ],
        ["*Línea 1*: producto o servicio — escribe su SKU o nombre (p. ej. grapadora)."],
    ]
    assert asked[6:10] == [
        ["*Cantidad* de Grapadora (p. ej. 10 o 2,5):"],
        [
            nb(
                "*Precio unitario* (catálogo: 12,50 € — `ok` para aceptarlo), "
                "o escribe otro (p. ej. 12,50):"
            )
        ],
        [
            nb(
                "*Impuesto*:\n1. IVA 21 %\n2. IVA 10 %\n3. IVA 4 %\n4. Exento (0~%)\n"
                "El del artículo: IVA 21 % — `ok` para aplicarlo.\n"
                "Número, nombre o tipo (`21`, `21%`); `exento` u `omitir` sin impuesto."
            )
        ],
        [
            "*Descuento*: `10%` es un porcentaje, `5` o `5,00` un importe para toda la línea; "
            "`omitir` sin descuento."
        ],
    ]
    assert asked[10] == [
        nb(
            "Línea añadida:\n"
            "   1) Grapadora (GRP-01)\n"
            "      10 × 12,50 € · IVA 21 % · dto. 10~%\n"
            "      neto 112,50 € · impuesto 23,63 € · total 136,13 €\n"
            "Total de la orden (1 línea): *136,13 €*\n"
            "   subtotal 112,50 € · dto. 12,50 € · impuestos 23,63 €"
        ),
        "*Línea 2*: otro producto o servicio, `listo` si no hay más, "
        "o `quitar n` para quitar la línea n.",
    ]
    assert asked[15][0] == nb(
        "Línea añadida:\n"
        "   2) Archivador (ARC-01)\n"
        "      3 × 40,00 € · IVA 21 % · dto. 5,00 €\n"
        "      neto 115,00 € · impuesto 24,15 € · total 139,15 €\n"
        "Total de la orden (2 líneas): *275,28 €*\n"
        "   subtotal 227,50 € · dto. 17,50 € · impuestos 47,78 €"
    )
    assert asked[16:19] == [
        ["*Términos y condiciones* (opcional; p. ej. Pago a 30 días), u `omitir`."],
        [
            "*Dirección de entrega* (opcional):\n"
            "1. Calle Mayor 5, 28013 Madrid, España (predeterminada)\n"
            "2. Polígono Sur 3, 28901 Getafe\n"
            "`ok` usa la predeterminada, un número elige otra, o escribe una dirección; "
            "`omitir` la deja vacía."
        ],
        [
            "*Dirección de facturación* (opcional):\n"
            "1. Calle Mayor 5, 28013 Madrid, España (predeterminada)\n"
            "2. Polígono Sur 3, 28901 Getafe\n"
            "`ok` usa la predeterminada, un número elige otra, o escribe una dirección; "
            "`omitir` la deja vacía."
        ],
    ]


# ------------------------------------------------------------------ vendor search


async def test_one_vendor_found_is_taken_and_named(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        replies = await say_all(chat, ["agregar compra", "Material", "papelería SOL"])
        assert replies[0] == "Proveedor: *Papelería Sol* (si no es este, `atras`)."
        assert replies[1].startswith("*Contacto*")
        assert (await fields(store))["vendor"]["name"] == "Papelería Sol"


@pytest.mark.parametrize("locale", ["es", "en"])
async def test_several_vendors_are_listed_and_chosen_by_number(store: Store, locale: str) -> None:
    world = await seed_world(store)
    start = "agregar compra" if locale == "es" else "add purchase"
    async with Chat(store, locale=locale, clock=clock) as chat:
        listed = await say_all(chat, [start, "Material", "papel"])
        assert listed == [
            {
                "es": "Hay varios *proveedores* así:\n1. Papelería Luna\n2. Papelería Sol\n"
                "Escribe el número, o escribe otra cosa para buscar de nuevo.",
                "en": "Several *vendors* match:\n1. Papelería Luna\n2. Papelería Sol\n"
                "Type the number, or type something else to search again.",
            }[locale]
        ]
        refused = await shown(chat, "7")
        assert refused == [
            {
                "es": "Eso no está en la lista: escribe un número del 1 al 2.",
                "en": "That is not on the list: type a number from 1 to 2.",
            }[locale],
            listed[0],
        ]
        picked = await shown(chat, "2")
        assert picked[0].startswith("*Contact")
        assert (await fields(store))["vendor"] == {"id": world.vendor_id, "name": "Papelería Sol"}


async def test_a_vendor_can_be_picked_by_name_from_the_list(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        await say_all(chat, ["agregar compra", "Material", "papel", "luna"])
        assert (await fields(store))["vendor"]["name"] == "Papelería Luna"
        assert await state(store) == "contact"


@pytest.mark.parametrize("role", ["compras", "admin"])
async def test_no_vendor_found_offers_to_create_it(store: Store, role: str) -> None:
    await seed_world(store)
    await at_role(store, "ana", role)
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        offered = await say_all(chat, ["agregar compra", "Material", "Ferretería Nueva"])
        assert offered == [
            "No hay ningún proveedor «Ferretería Nueva».\n"
            "`si` lo crea con ese nombre; o escribe otro nombre para buscar de nuevo."
        ]
        created = await shown(chat, "si")
        assert created[0] == "Proveedor *Ferretería Nueva* creado."
        assert created[1].startswith("*Contacto*")
    async with store.sessions() as s:
        vendor = await s.scalar(select(m.Vendor).where(m.Vendor.name == "Ferretería Nueva"))
    assert vendor is not None
    assert (await fields(store))["vendor"] == {"id": vendor.id, "name": "Ferretería Nueva"}


async def test_creating_a_vendor_is_refused_to_a_role_without_it(store: Store) -> None:
    await seed_world(store)
    await at_role(store, "ana", "compras")
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        await say_all(chat, ["agregar compra", "Material", "Ferretería Nueva"])
        # The role changes while the dialog is open: the next answer is judged by the new one,
        # which may not create purchase orders at all, so the wizard ends there.
        await at_role(store, "ana", "ventas")
        refused = await shown(chat, "si")
        assert refused == [
            "Con tu rol, `ventas`, no puedes hacer esto: hace falta el rol `compras` "
            "(o `admin`).\nSi lo necesitas, pídeselo a un administrador.",
            "Cancelado: no se ha guardado nada.",
        ]
        assert await state(store) is None
    async with store.sessions() as s:
        assert await s.scalar(select(m.Vendor).where(m.Vendor.name == "Ferretería Nueva")) is None


# ------------------------------------------------------------------ contacts and addresses


async def test_without_a_room_link_the_contact_is_asked_and_searched(store: Store) -> None:
    world = await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        room = {"room": "room-free"}
        asked = await say_all(chat, ["agregar compra", "Material", "papeleria sol"], **room)
        assert asked[1] == "*Contacto*: escribe su nombre, email o teléfono (p. ej. ana garcía)."
        assert await shown(chat, "ok", **room) == [
            "Aquí no hay nada que aceptar con `ok`: escribe la respuesta.",
            asked[1],
        ]
        assert await shown(chat, "nadie", **room) == [
            "No encuentro ningún contacto «nadie»: prueba con el nombre, el email o el teléfono.",
            asked[1],
        ]
        assert await shown(chat, "ana", **room) == [
            "Hay varios *contactos* así:\n1. Ana García\n2. Ana Martín\n"
            "Escribe el número, o escribe otra cosa para buscar de nuevo."
        ]
        assert (await shown(chat, "luis", **room))[0].startswith("*Fecha*")
    async with store.sessions() as s:
        row = await s.scalar(select(m.DialogSession))
        assert row is not None
        assert json.loads(row.data)["fields"]["contact"]["id"] == world.luis_id


DELIVERY_ES = (
    "*Dirección de entrega* (opcional):\n"
    "1. Calle Mayor 5, 28013 Madrid, España (predeterminada)\n"
    "2. Polígono Sur 3, 28901 Getafe\n"
    "`ok` usa la predeterminada, un número elige otra, o escribe una dirección; "
    "`omitir` la deja vacía."
)


async def test_delivery_by_number_billing_typed_or_skipped(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        await say_all(chat, [*HEADER, *LINE_1, "listo", "omitir"])
        assert await shown(chat, "3") == [
            "No hay dirección con ese número: elige del 1 al 2, o escribe la dirección.",
            DELIVERY_ES,
        ]
        await chat.say("2")
        await chat.say("Calle Luna 1, 28004 Madrid")
        assert (await fields(store))["delivery"] == "Polígono Sur 3, 28901 Getafe"
        assert (await fields(store))["billing"] == "Calle Luna 1, 28004 Madrid"
        await chat.say("atras")
        await chat.say("omitir")
        assert (await fields(store))["billing"] == ""
        review = await shown(chat, "ayuda")
        assert await state(store) == "review"
        assert review[0].startswith("Comprueba los datos.")


async def test_changing_the_contact_from_the_review_moves_only_its_addresses(
    store: Store,
) -> None:
    world = await seed_world(store)
    async with store.sessions.begin() as s:
        luis = await s.get(m.Contact, world.luis_id)
        assert luis is not None
        await set_main_address(
            s, luis, AddressData("Rúa Nova 2", "Lugo", "Lugo", "27001", "España")
        )
    async with Chat(store, clock=clock) as chat:
        # Delivery kept from Ana (ok), billing typed by hand.
        await say_all(chat, [*HEADER, *LINE_1, "listo", "omitir", "ok", "Calle Luna 1, Madrid"])
        assert (await fields(store))["delivery"] == "Calle Mayor 5, 28013 Madrid, España"
        await chat.say("editar 3")
        changed = await shown(chat, "luis")
        assert changed[0] == "La dirección de entrega ahora es la del nuevo contacto."
        assert await state(store) == "review"
        assert "Rúa Nova 2, 27001 Lugo, España" in changed[1]
        now = await fields(store)
        assert now["contact"]["id"] == world.luis_id
        assert now["delivery"] == "Rúa Nova 2, 27001 Lugo, España"
        assert now["billing"] == "Calle Luna 1, Madrid"  # typed: the user's own choice
        # Back to Ana: the delivery follows again; atras restores Luis's as it was.
        await chat.say("editar 3")
        await chat.say("ana garcia")
        assert (await fields(store))["delivery"] == "Calle Mayor 5, 28013 Madrid, España"
        await chat.say("atras")
        assert (await fields(store))["delivery"] == "Rúa Nova 2, 27001 Lugo, España"


async def test_billing_defaults_to_the_company_address_without_a_fiscal_one(store: Store) -> None:
    world = await seed_world(store)
    async with store.sessions.begin() as s:
        s.add(m.Meta(key="company_address", value="Av. Industria 7, 28108 Alcobendas"))
        address = await s.scalar(select(m.Address).where(m.Address.is_fiscal.is_(True)))
        assert address is not None
        assert address.contact_id == world.ana_id
        address.is_fiscal = False
    async with Chat(store, clock=clock) as chat:
        asked = await say_all(chat, [*HEADER, *LINE_1, "listo", "omitir", "ok"])
        assert asked == [
            "*Dirección de facturación* (opcional):\n"
            "1. Calle Mayor 5, 28013 Madrid, España\n"
            "2. Polígono Sur 3, 28901 Getafe\n"
            "Predeterminada: Av. Industria 7, 28108 Alcobendas\n"
            "`ok` usa la predeterminada, un número elige otra, o escribe una dirección; "
            "`omitir` la deja vacía."
        ]
        await chat.say("ok")
        assert (await fields(store))["billing"] == "Av. Industria 7, 28108 Alcobendas"


# ------------------------------------------------------------------ line items


async def test_several_items_are_listed_with_sku_and_price(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        listed = await say_all(chat, [*HEADER, "gr"])
        assert listed == [
            nb(
                "Hay varios *artículos* así:\n"
                "1. `GRP-01` Grapadora · 12,50 €\n"
                "2. `GRB-02` Grabado láser · 3,25 €\n"
                "Escribe el número, o escribe otra cosa para buscar de nuevo."
            )
        ]
        assert await shown(chat, "2") == ["*Cantidad* de Grabado láser (p. ej. 10 o 2,5):"]
        await chat.say("2")
        # A service without a tax offers none: `ok` is refused at the tax step.
        assert (await shown(chat, "ok"))[0].startswith("*Impuesto*:")
        tax = await shown(chat, "ok")
        assert tax[0] == "Aquí no hay nada que aceptar con `ok`: escribe la respuesta."
        assert "El del artículo" not in tax[1]


@pytest.mark.parametrize(
    ("typed", "tax"),
    [("1", "IVA 21 %"), ("2", "IVA 10 %"), ("iva 10", "IVA 10 %"), ("21", "IVA 21 %"),
     ("4%", "IVA 4 %"), ("exento", "Exento"), ("0", "Exento"), ("omitir", None)],
)  # fmt: skip
async def test_tax_by_number_name_or_rate(store: Store, typed: str, tax: str | None) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        await say_all(chat, [*HEADER, "grapadora", "1", "ok", typed, "omitir"])
        line = (await fields(store))["lines"][0]
    assert line["tax_name"] == tax


async def test_removing_lines_before_the_review(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        await say_all(chat, [*HEADER, *LINE_1, *LINE_2])
        removed = await shown(chat, "quitar 1")
        assert removed == [
            nb(
                "Quitada la línea 1 (Grapadora).\n"
                "Total de la orden (1 línea): *139,15 €*\n"
                "   subtotal 115,00 € · dto. 5,00 € · impuestos 24,15 €"
            ),
            "*Línea 2*: otro producto o servicio, `listo` si no hay más, "
            "o `quitar n` para quitar la línea n.",
        ]
        assert await shown(chat, "quitar 4") == [
            "No hay línea con ese número: escribe `quitar` y un número del 1 al 1.",
            removed[1],
        ]
        assert [line["sku"] for line in (await fields(store))["lines"]] == ["ARC-01"]
        # `atras` undoes the removal: the line is back, in its place.
        await chat.say("atras")
        assert [line["sku"] for line in (await fields(store))["lines"]] == ["GRP-01", "ARC-01"]


async def test_a_discount_above_the_line_is_explained(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        asked = await say_all(chat, [*HEADER, "grapadora", "2", "ok", "ok"])
        assert await shown(chat, "30") == [
            nb(
                "El descuento «30» es mayor que la línea (25,00 €): "
                "escribe un importe hasta 25,00 € o un porcentaje como 10%."
            ),
            asked[0],
        ]
        assert await state(store) == "discount"


async def test_a_price_below_the_cent_is_shown_whole(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        asked = await say_all(chat, [*HEADER, "tornillo", "100"])
        assert asked == [
            "*Precio unitario* (catálogo: 0,045 EUR — `ok` para aceptarlo), "
            "o escribe otro (p. ej. 12,50):"
        ]
        added = await say_all(chat, ["ok", "omitir", "omitir"])
    assert added[0].split("\n")[1:3] == [
        "   1) Tornillo M8 (TOR-08)",
        nb("      100 × 0,045 EUR · sin impuesto"),
    ]
    assert nb("neto 4,50 €") in added[0]


# ------------------------------------------------------------------ numbers and dates


@pytest.mark.parametrize(
    ("locale", "typed", "price"),
    [
        ("es", "1.234,56", "1.234,56 €"),
        ("es", "1234,56", "1.234,56 €"),
        ("es", "1234.56", "1.234,56 €"),
        ("es", "1.234,56 €", "1.234,56 €"),
        ("en", "1,234.56", "€1,234.56"),
        ("en", "1234.56", "€1,234.56"),
        ("en", "1234,56", "€1,234.56"),
    ],
)
async def test_prices_in_both_forms(store: Store, locale: str, typed: str, price: str) -> None:
    await seed_world(store)
    script = [*HEADER, "grapadora", "2,5" if locale == "es" else "2.5", typed]
    async with Chat(store, locale=locale, clock=clock) as chat:
        await say_all(chat, [*script, "omitir" if locale == "es" else "skip"])
        added = await shown(chat, "omitir" if locale == "es" else "skip")
    assert (nb(f"2,5 × {price}") if locale == "es" else f"2.5 × {price}") in added[0]
    line = (await fields(store))["lines"][0]
    assert (line["quantity"], line["unit_price"]) == ("2.5", "1234.56")


@pytest.mark.parametrize(
    ("locale", "typed", "day"),
    [
        ("es", "hoy", dt.date(2026, 11, 28)),
        ("es", "28/11/2026", dt.date(2026, 11, 28)),
        ("es", "2026-11-28", dt.date(2026, 11, 28)),
        ("es", "mañana", dt.date(2026, 11, 29)),
        ("es", "ok", dt.date(2026, 11, 28)),
        ("en", "today", dt.date(2026, 11, 28)),
        ("en", "11/28/2026", dt.date(2026, 11, 28)),
        ("en", "2026-11-28", dt.date(2026, 11, 28)),
    ],
)
async def test_dates_as_typed(store: Store, locale: str, typed: str, day: dt.date) -> None:
    await seed_world(store)
    async with Chat(store, locale=locale, clock=clock) as chat:
        await say_all(chat, ["agregar compra", "Material", "papeleria sol", "ok", typed])
    assert await state(store) == "status"
    assert (await fields(store))["date"] == day.isoformat()


@pytest.mark.parametrize(
    ("locale", "error"),
    [
        ("es", "«31/02/2026» no es una fecha. Escribe por ejemplo 28/11/2026, 2026-11-28 u `hoy`."),
        ("en", '"31/02/2026" is not a date. Type for example 11/28/2026, 2026-11-28 or `today`.'),
    ],
)
async def test_an_impossible_date_is_explained(store: Store, locale: str, error: str) -> None:
    await seed_world(store)
    async with Chat(store, locale=locale, clock=clock) as chat:
        asked = await say_all(chat, ["agregar compra", "Material", "papeleria sol", "ok"])
        assert await shown(chat, "31/02/2026") == [error, asked[0]]


# ------------------------------------------------------------------ approval


@pytest.mark.parametrize("locale", ["es", "en"])
async def test_approval_is_refused_to_compras_naming_admin(store: Store, locale: str) -> None:
    await seed_world(store)
    await at_role(store, "carlos", "compras")
    async with Chat(store, locale=locale, fixed_role=None, clock=clock) as chat:
        who = {"user": "carlos"}
        asked = await say_all(
            chat, ["agregar compra", "Material", "papeleria sol", "ok", "ok"], **who
        )
        refused = await shown(chat, "2", **who)
        assert refused == [
            {
                "es": "Solo el rol `admin` puede dejarla Aprobada; "
                "elige otro estado (p. ej. `1`, Creada).",
                "en": "Only the `admin` role may set it to Approved; "
                "choose another status (e.g. `1`, Created).",
            }[locale],
            asked[0],
        ]
        assert await state(store) == "status"
        await chat.say("3", **who)
        assert (await fields(store))["status"] == "sent"


async def test_admin_approves_while_creating(store: Store) -> None:
    await seed_world(store)
    await at_role(store, "marta", "admin")
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        script = [*HEADER[:-1], "aprobada", *LINE_1, *CLOSING, "guardar"]
        await say_all(chat, script, user="marta")
    async with store.sessions() as s:
        po = await s.scalar(select(m.Document))
    assert po is not None
    assert (po.number, po.status, po.total) == ("OC-00001", "approved", Decimal("136.13"))


async def test_an_approval_chosen_before_losing_the_role_is_not_saved(store: Store) -> None:
    await seed_world(store)
    await at_role(store, "marta", "admin")
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        script = [*HEADER[:-1], "aprobada", *LINE_1, *CLOSING]
        await say_all(chat, script, user="marta")
        await at_role(store, "marta", "compras")  # may still buy, no longer approve
        refused = await shown(chat, "guardar", user="marta")
        assert refused[0] == (
            "No se pudo guardar: aprobar una orden de compra necesita el rol `admin`. "
            "Elige otro estado con `editar 5`."
        )
        assert await state(store) == "review"
        await say_all(chat, ["editar 5", "1", "guardar"], user="marta")
    async with store.sessions() as s:
        [po] = list(await s.scalars(select(m.Document)))
    assert (po.number, po.status) == ("OC-00001", "created")


# ------------------------------------------------------------------ bad answers


async def test_a_bad_answer_gets_one_line_and_the_same_question(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        asked = await say_all(chat, [*HEADER, "grapadora"])
        first = await shown(chat, "abc")
        assert first == [
            "«abc» no vale como cantidad: un número mayor que 0 con hasta 3 decimales, p. ej. 2,5.",
            asked[0],
        ]
        assert "\n" not in first[0]
        assert await shown(chat, "0") == [
            "«0» no vale como cantidad: un número mayor que 0 con hasta 3 decimales, p. ej. 2,5.",
            asked[0],
        ]
        third = await shown(chat, "muchas")
        assert third == [
            "«muchas» no vale como cantidad: un número mayor que 0 con hasta 3 decimales, "
            "p. ej. 2,5.",
            "¿Te ayudo? `ayuda` explica este paso con un ejemplo; `cancelar` lo deja.",
            asked[0],
        ]
        # Offered once every three misses, not after each one.
        assert len(await shown(chat, "p")) == 2
        assert await state(store) == "quantity"
        assert (await shown(chat, "10"))[0].startswith("*Precio unitario*")
        # A good answer starts the count again.
        assert len(await shown(chat, "p")) == 2
        assert len(await shown(chat, "q")) == 2
        assert len(await shown(chat, "r")) == 3


async def test_too_long_and_empty_answers(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        asked = await shown(chat, "agregar compra")
        assert await shown(chat, "x" * 300) == [
            "Es demasiado largo (300 caracteres): como mucho 255.",
            asked[1],
        ]
        assert await state(store) == "title"


async def test_starting_again_reminds_of_the_open_dialog(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        asked = await say_all(chat, ["agregar compra", "Material"])
        assert await shown(chat, "agregar compra") == [
            "Ya tienes una orden de compra a medias aquí: "
            "termina ese diálogo o escribe `cancelar`.",
            asked[0],
        ]
        assert await state(store) == "vendor"
        assert (await fields(store))["title"] == "Material"
