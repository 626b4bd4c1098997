"""Transcripts of the module lists: all 17 modules, paging, order, memory, empty and unlinked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.bootstrap import Store
from bot.chatfmt import as_shown
from bot.render import Renderer
from bot.routing import Module
from bot.routing.vocab import canonical
from bot.routing.words import Lang
from store import models as m
from store.demo import load_demo_data
from store.records import ModuleName, count_by_module
from store.services.catalogue import ItemData, VendorData, upsert_item, upsert_vendor
from store.services.contacts import ContactData, upsert_contact
from store.services.documents import (
    CaseDraft,
    DocumentDraft,
    LineDraft,
    create_case,
    create_document,
)
from store.vocab import DocumentKind
from tests.chat import Chat

MADRID = ZoneInfo("Europe/Madrid")
ROOM = "room-1"
SHA = "ab" * 32


def at(day: int, hour: int = 9, minute: int = 0, month: int = 6) -> dt.datetime:
    """A moment of June 2025 in Madrid."""
    return dt.datetime(2025, month, day, hour, minute, tzinfo=MADRID)


@dataclass(frozen=True)
class Seeded:
    """Ids the tests need back."""

    contact_id: int
    other_id: int
    vendor_id: int


async def seed_contacts(store: Store) -> Seeded:
    """Ana García linked to room-1 (by luis); Otro Cliente linked to room-9; one vendor."""
    async with store.sessions.begin() as s:
        ana, _ = await upsert_contact(s, ContactData("Ana", "García", email="ana@cliente.es"))
        other, _ = await upsert_contact(s, ContactData("Otro", "Cliente", email="o@cliente.es"))
        vendor, _ = await upsert_vendor(s, VendorData("Papelería Sol"))
        s.add(
            m.ChatChannel(
                contact_id=ana.id,
                room_id=ROOM,
                room_name="ana-garcia",
                linked_by="luis",
                created_at=at(1),
            )
        )
        s.add(m.ChatChannel(contact_id=other.id, room_id="room-9", room_name="otro"))
        return Seeded(ana.id, other.id, vendor.id)


def worked_check_lines() -> list[LineDraft]:
    """DOMAIN §2's worked check: 10 × 12.50 with 10 % off and 3 × 40.00 with 5.00 off, 21 %."""
    return [
        LineDraft(
            "Grapadora",
            Decimal(10),
            Decimal("12.50"),
            sku="GRP-01",
            tax_name="IVA 21 %",
            tax_rate=Decimal(21),
            discount_percent=Decimal(10),
        ),
        LineDraft(
            "Archivador",
            Decimal(3),
            Decimal("40.00"),
            tax_name="IVA 21 %",
            tax_rate=Decimal(21),
            discount_amount=Decimal("5.00"),
        ),
    ]


async def add_purchase(
    store: Store,
    seeded: Seeded,
    title: str = "Material de oficina",
    *,
    contact_id: int | None = None,
    created_at: dt.datetime | None = None,
    lines: list[LineDraft] | None = None,
) -> str:
    """A purchase order from Papelería Sol; its number."""
    async with store.sessions.begin() as s:
        document, _ = await create_document(
            s,
            DocumentDraft(
                kind=DocumentKind.PURCHASE_ORDER,
                contact_id=contact_id or seeded.contact_id,
                title=title,
                date=dt.date(2025, 6, 10),
                lines=lines or worked_check_lines(),
                vendor_id=seeded.vendor_id,
                created_by="marta",
                terms="Pago a 30 días",
                delivery_address="Calle Mayor 5, 28013 Madrid",
                billing_address="Calle Mayor 5, 28013 Madrid",
                created_at=created_at,
            ),
        )
        return document.number


async def seed_all_modules(store: Store, seeded: Seeded) -> None:
    """One known record in each of the 17 modules for Ana (channels: the room link)."""
    cid = seeded.contact_id
    await add_purchase(store, seeded, created_at=at(10))
    async with store.sessions.begin() as s:
        service, _ = await upsert_item(
            s, m.Service, ItemData("SRV-MANT", "Mantenimiento anual", Decimal(300), Decimal(21))
        )
        product, _ = await upsert_item(
            s, m.Product, ItemData("PRD-MON", "Monitor 27", Decimal("199.90"), Decimal(21))
        )
        project = m.Project(name="Migración ERP", target_end_date=dt.date(2025, 9, 30))
        campaign = m.Campaign(
            name="Feria Tech 2025", type="Evento", status="active", start_date=dt.date(2025, 5, 1)
        )
        blob = m.Blob(sha256=SHA, size=2_560_000)
        s.add_all([project, campaign, blob])
        await s.flush()
        stored = m.StoredFile(
            contact_id=cid,
            name="contrato.pdf",
            size=2_560_000,
            sha256=SHA,
            mime_type="application/pdf",
            source="email",
            created_at=at(10, 9, 31),
        )
        email = m.Email(
            message_id="<factura-junio@cliente.es>",
            raw_sha256=SHA,
            subject="Factura de junio",
            from_addr="ana@cliente.es",
            to_addrs="crm@crm.localhost",
            body="Hola,\nadjunto la factura.\nUn saludo",
            date=at(10, 9, 30),
            direction="inbound",
        )
        s.add_all([stored, email])
        await s.flush()
        s.add_all(
            [
                m.EmailContact(email_id=email.id, contact_id=cid),
                m.EmailFile(email_id=email.id, file_id=stored.id),
                m.Asset(
                    contact_id=cid,
                    name="Portátil Dell",
                    serial="SN-4471",
                    date_assigned=dt.date(2025, 3, 3),
                    product_id=product.id,
                ),
                m.ProjectContact(project_id=project.id, contact_id=cid, role="Responsable"),
                m.Address(
                    contact_id=cid,
                    label="Oficina",
                    street="Calle Mayor 5",
                    city="Madrid",
                    postal_code="28013",
                    country="España",
                    is_primary=True,
                    is_fiscal=True,
                ),
                m.ServiceContact(service_id=service.id, contact_id=cid, status="contracted"),
                m.Contract(
                    contact_id=cid,
                    subject="Soporte 24x7",
                    type="Soporte",
                    end_date=dt.date(2025, 12, 31),
                    sla_level="Oro",
                ),
                m.ProductContact(product_id=product.id, contact_id=cid, relation="purchase"),
                m.CalendarEvent(
                    contact_id=cid,
                    title="Revisión trimestral",
                    type="meeting",
                    starts_at=at(12, 10),
                    ends_at=at(12, 11),
                    location="Sala 2",
                ),
                m.Opportunity(
                    contact_id=cid,
                    name="Ampliación 50 puestos",
                    amount=Decimal("12500.00"),
                    stage="proposal",
                    expected_close=dt.date(2025, 8, 15),
                    probability=60,
                ),
                m.Comment(
                    contact_id=cid,
                    author="luis",
                    text="Llamó para confirmar la entrega",
                    created_at=at(9, 17, 5),
                ),
                m.CampaignContact(campaign_id=campaign.id, contact_id=cid, status="contacted"),
            ]
        )
        case, _ = await create_case(
            s,
            CaseDraft(
                cid,
                "Impresora no imprime",
                description="Sale una hoja en blanco.\nDesde el lunes.",
                priority="high",
                severity="major",
                category="Hardware",
                created_by="sofia",
                created_at=at(5, 12),
            ),
        )
        case.updated_at = at(6, 8, 15)
        await create_document(
            s,
            DocumentDraft(
                kind=DocumentKind.SALES_ORDER,
                contact_id=cid,
                title="Pedido de licencias",
                date=dt.date(2025, 6, 2),
                lines=[LineDraft("Licencia", Decimal(2), Decimal(150), tax_rate=Decimal(21))],
            ),
        )
        await create_document(
            s,
            DocumentDraft(
                kind=DocumentKind.QUOTE,
                contact_id=cid,
                title="Renovación de licencias",
                date=dt.date(2025, 6, 3),
                valid_until=dt.date(2025, 7, 31),
                lines=[LineDraft("Renovación", Decimal(1), Decimal(100))],
            ),
        )


def shown(replies: list[str]) -> str:
    """The one reply, as a reader sees it (the invisible literal-escapes removed)."""
    assert len(replies) == 1, replies
    return as_shown(replies[0])


def eur(amount: str, locale: str) -> str:
    """An amount as the money filter writes it: `1.234,56 €` / `€1,234.56`."""
    return f"{amount}\u00a0€" if locale == "es" else f"€{amount}"


ES_FOOTER = "Para ver uno en detalle: `ver 1`"
EN_FOOTER = "To see one in detail: `show 1`"
PM = "\u202f"  # CLDR puts a narrow no-break space before AM/PM in English times

FIRST_LINES_ES = {
    "activos": ("Activos", "1. Portátil Dell · SN-4471 · En servicio · desde 3 mar 2025"),
    "proyectos": ("Proyectos", "1. Migración ERP · Responsable · En curso · hasta 30 sept 2025"),
    "direcciones": (
        "Direcciones",
        "1. Oficina: Calle Mayor 5, 28013 Madrid, España · principal · fiscal",
    ),
    "servicios": ("Servicios", f"1. Mantenimiento anual · Contratado · {eur('300,00', 'es')}"),
    "polizas": ("Pólizas", "1. Soporte 24x7 · Soporte · En curso · hasta 31 dic 2025"),
    "ventas": (
        "Órdenes de venta",
        f"1. `OV-00001` · Pedido de licencias · Creada · {eur('363,00', 'es')}",
    ),
    "cotizaciones": (
        "Cotizaciones",
        f"1. `COT-00001` · Renovación de licencias · Creada · {eur('100,00', 'es')}"
        " · válida hasta 31 jul 2025",
    ),
    "compras": (
        "Compras",
        f"1. `OC-00001` · Material de oficina · Papelería Sol · Creada · {eur('275,28', 'es')}",
    ),
    "productos": ("Productos", f"1. Monitor 27 · Compra · {eur('199,90', 'es')}"),
    "calendario": (
        "Calendario",
        "1. 12 jun 2025, 10:00 · Reunión · Revisión trimestral · Planificado",
    ),
    "oportunidades": (
        "Oportunidades",
        f"1. Ampliación 50 puestos · Propuesta/Presupuesto · {eur('12.500,00', 'es')}"
        " · cierre 15 ago 2025",
    ),
    "comentarios": (
        "Comentarios",
        "1. 9 jun 2025, 17:05 · luis: Llamó para confirmar la entrega",
    ),
    "casos": ("Casos", "1. `CAS-00001` · Impresora no imprime · Abierto · prioridad Alta"),
    "emails": ("Emails", "1. 10 jun 2025, 9:30 · ana@cliente.es · Factura de junio · 📎 1"),
    "archivos": ("Archivos", "1. contrato.pdf · 2,4 MB · correo"),
    "campanas": (
        "Campañas",
        "1. Feria Tech 2025 · Evento · Contactado con éxito · desde 1 may 2025",
    ),
    "canales": ("Canales de chat", "1. ana-garcia · vinculada por luis · 1 jun 2025, 9:00"),
}
FIRST_LINES_EN = {
    "assets": ("Assets", "1. Portátil Dell · SN-4471 · In service · since Mar 3, 2025"),
    "projects": ("Projects", "1. Migración ERP · Responsable · In progress · until Sep 30, 2025"),
    "addresses": (
        "Addresses",
        "1. Oficina: Calle Mayor 5, 28013 Madrid, España · primary · billing",
    ),
    "services": ("Services", f"1. Mantenimiento anual · Contracted · {eur('300.00', 'en')}"),
    "contracts": ("Contracts", "1. Soporte 24x7 · Soporte · In progress · until Dec 31, 2025"),
    "sales-orders": (
        "Sales orders",
        f"1. `OV-00001` · Pedido de licencias · Created · {eur('363.00', 'en')}",
    ),
    "quotes": (
        "Quotes",
        f"1. `COT-00001` · Renovación de licencias · Created · {eur('100.00', 'en')}"
        " · valid until Jul 31, 2025",
    ),
    "purchases": (
        "Purchase orders",
        f"1. `OC-00001` · Material de oficina · Papelería Sol · Created · {eur('275.28', 'en')}",
    ),
    "products": ("Products", f"1. Monitor 27 · Purchase · {eur('199.90', 'en')}"),
    "calendar": (
        "Calendar",
        f"1. Jun 12, 2025, 10:00{PM}AM · Meeting · Revisión trimestral · Planned",
    ),
    "opportunities": (
        "Opportunities",
        f"1. Ampliación 50 puestos · Proposal/Price quote · {eur('12,500.00', 'en')}"
        " · closes Aug 15, 2025",
    ),
    "comments": ("Comments", f"1. Jun 9, 2025, 5:05{PM}PM · luis: Llamó para confirmar la entrega"),
    "cases": ("Cases", "1. `CAS-00001` · Impresora no imprime · Open · High priority"),
    "emails": (
        "Emails",
        f"1. Jun 10, 2025, 9:30{PM}AM · ana@cliente.es · Factura de junio · 📎 1",
    ),
    "files": ("Files", "1. contrato.pdf · 2.4 MB · email"),
    "campaigns": (
        "Campaigns",
        "1. Feria Tech 2025 · Evento · Contacted - successful · since May 1, 2025",
    ),
    "channels": ("Chat channels", f"1. ana-garcia · linked by luis · Jun 1, 2025, 9:00{PM}AM"),
}
NEW_RECORD = {
    "cotizaciones": "Nueva cotización: `agregar cotizacion`",
    "compras": "Nueva compra: `agregar compra`",
    "casos": "Nuevo caso: `agregar caso`",
    "quotes": "New quote: `add quote`",
    "purchases": "New purchase order: `add purchase`",
    "cases": "New case: `add case`",
}


@pytest.mark.parametrize(
    ("locale", "table", "of", "footer"),
    [("es", FIRST_LINES_ES, "de", ES_FOOTER), ("en", FIRST_LINES_EN, "for", EN_FOOTER)],
)
async def test_every_module_lists_its_records(
    store: Store,
    locale: str,
    table: dict[str, tuple[str, str]],
    of: str,
    footer: str,
) -> None:
    seeded = await seed_contacts(store)
    await seed_all_modules(store, seeded)
    assert len(table) == len(Module) == 17
    async with Chat(store, locale=locale) as chat:
        for word, (heading, first_line) in table.items():
            expected = [f"*{heading}* {of} *Ana García* (1)", first_line, footer]
            if word in NEW_RECORD:
                expected.append(NEW_RECORD[word])
            assert shown(await chat.say(word)) == "\n".join(expected), word


async def seed_purchases(store: Store, seeded: Seeded, count: int) -> None:
    """``count`` one-line purchase orders, one a day from 1 June: OC-00001 is the oldest."""
    line = [LineDraft("Folios", Decimal(1), Decimal(10))]
    for day in range(1, count + 1):
        await add_purchase(store, seeded, f"Pedido {day:02d}", created_at=at(day), lines=line)


def po_line(n: int, number: int, locale: str) -> str:
    status = "Creada" if locale == "es" else "Created"
    total = eur("10,00" if locale == "es" else "10.00", locale)
    return f"{n}. `OC-{number:05d}` · Pedido {number:02d} · Papelería Sol · {status} · {total}"


async def test_paging_newest_first_es(store: Store) -> None:
    seeded = await seed_contacts(store)
    await seed_purchases(store, seeded, 25)
    async with Chat(store) as chat:
        first = shown(await chat.say("compras")).split("\n")
        assert first[0] == "*Compras* de *Ana García* (25)"
        assert first[1:11] == [po_line(n, 26 - n, "es") for n in range(1, 11)]
        assert first[11:] == [
            "Página 1 de 3 · escribe `página 2` para ver más",
            "Para ver uno en detalle: `ver 1`",
            "Nueva compra: `agregar compra`",
        ]

        second = shown(await chat.say("página 2")).split("\n")
        assert second[1:11] == [po_line(n, 26 - n, "es") for n in range(11, 21)]
        assert second[11:13] == [
            "Página 2 de 3 · escribe `página 3` para ver más",
            "Para ver uno en detalle: `ver 11`",
        ]

        assert shown(await chat.say("compras página 3")) == "\n".join(
            [
                "*Compras* de *Ana García* (25)",
                *(po_line(n, 26 - n, "es") for n in range(21, 26)),
                "Página 3 de 3",
                "Para ver uno en detalle: `ver 21`",
                "Nueva compra: `agregar compra`",
            ]
        )
        assert shown(await chat.say("página 4")) == (
            "No hay página 4: *Compras* tiene 3 páginas (25 en total).\n"
            "Escribe de `página 1` a `página 3`."
        )
        # `compras 2` is read as the second page too.
        assert shown(await chat.say("compras 2")).split("\n")[1] == po_line(11, 15, "es")


async def test_paging_en(store: Store) -> None:
    seeded = await seed_contacts(store)
    await seed_purchases(store, seeded, 25)
    async with Chat(store, locale="en") as chat:
        first = shown(await chat.say("purchases")).split("\n")
        assert first[0] == "*Purchase orders* for *Ana García* (25)"
        assert first[1] == po_line(1, 25, "en")
        assert first[11] == "Page 1 of 3 · type `page 2` for more"
        second = shown(await chat.say("page 2")).split("\n")
        assert second[1] == po_line(11, 15, "en")
        assert second[11] == "Page 2 of 3 · type `page 3` for more"
        third = shown(await chat.say("purchases page 3")).split("\n")
        assert third[1:7] == [
            *(po_line(n, 26 - n, "en") for n in range(21, 26)),
            "Page 3 of 3",
        ]
        assert shown(await chat.say("page 9")) == (
            "There is no page 9: *Purchase orders* has 3 pages (25 in all).\n"
            "Type `page 1` to `page 3`."
        )


async def test_a_short_list_has_one_page(store: Store) -> None:
    seeded = await seed_contacts(store)
    await seed_purchases(store, seeded, 3)
    async with Chat(store) as chat:
        assert shown(await chat.say("compras")) == "\n".join(
            [
                "*Compras* de *Ana García* (3)",
                *(po_line(n, 4 - n, "es") for n in range(1, 4)),
                "Para ver uno en detalle: `ver 1`",
                "Nueva compra: `agregar compra`",
            ]
        )
        assert shown(await chat.say("página 2")) == (
            "No hay página 2: *Compras* cabe en una sola página (3 en total).\n"
            "Escribe `compras` para verla."
        )
    async with Chat(store, locale="en") as chat:
        await chat.say("purchases", message_id="en-1")
        assert shown(await chat.say("page 2", message_id="en-2")) == (
            "There is no page 2: *Purchase orders* fits on one page (3 in all).\n"
            "Type `purchases` to see it."
        )


@pytest.mark.parametrize(
    ("locale", "word", "expected"),
    [
        ("es", "compras", "*Ana García* no tiene compras todavía.\nCrea una con `agregar compra`."),
        (
            "es",
            "cotizaciones",
            "*Ana García* no tiene cotizaciones todavía.\nCrea una con `agregar cotizacion`.",
        ),
        ("es", "casos", "*Ana García* no tiene casos.\nAbre uno con `agregar caso`."),
        ("es", "activos", "*Ana García* no tiene activos asignados."),
        ("es", "emails", "*Ana García* no tiene emails."),
        (
            "en",
            "purchases",
            "*Ana García* has no purchase orders yet.\nCreate one with `add purchase`.",
        ),
        ("en", "quotes", "*Ana García* has no quotes yet.\nCreate one with `add quote`."),
        ("en", "cases", "*Ana García* has no cases.\nOpen one with `add case`."),
        ("en", "campaigns", "*Ana García* is in no campaign."),
    ],
)
async def test_an_empty_module_says_so(store: Store, locale: str, word: str, expected: str) -> None:
    await seed_contacts(store)
    async with Chat(store, locale=locale) as chat:
        assert shown(await chat.say(word)) == expected


async def test_page_without_a_list(store: Store) -> None:
    await seed_contacts(store)
    async with Chat(store) as chat:
        assert shown(await chat.say("página 2")) == (
            "No tengo ninguna lista abierta aquí.\n"
            "Pide una primero, por ejemplo `compras`, y luego `página 2`."
        )
    async with Chat(store, locale="en") as chat:
        assert shown(await chat.say("page 2", message_id="en-1")) == (
            "There is no list open here.\n"
            "Ask for one first, for example `purchases`, then `page 2`."
        )


async def test_the_list_is_remembered_per_user_and_thread(store: Store) -> None:
    seeded = await seed_contacts(store)
    await seed_purchases(store, seeded, 12)
    async with Chat(store) as chat:
        await chat.say("compras", user="ana")
        no_list = "No tengo ninguna lista abierta aquí."
        assert shown(await chat.say("página 2", user="luis")).startswith(no_list)
        assert shown(await chat.say("página 2", user="ana", thread="t1")).startswith(no_list)
        page = shown(await chat.say("página 2", user="ana")).split("\n")
        assert page[1:3] == [po_line(11, 2, "es"), po_line(12, 1, "es")]


async def test_words_after_a_module_are_not_guessed(store: Store) -> None:
    await seed_contacts(store)
    async with Chat(store) as chat:
        assert shown(await chat.say("compras abiertas")) == (
            "No entiendo «abiertas» después de `compras`.\nEscribe `compras` o `compras página 2`."
        )
    async with Chat(store, locale="en") as chat:
        assert shown(await chat.say("sales-orders open", message_id="en-1")) == (
            "I don't understand “open” after `sales-orders`.\n"
            "Type `sales-orders` or `sales-orders page 2`."
        )


async def test_a_room_without_link_is_told_to_link(store: Store) -> None:
    await seed_contacts(store)
    async with Chat(store) as chat:
        await chat.say("compras", room="room-5")
    async with store.sessions() as s:
        keys = list(await s.scalars(select(m.Outbox.key).where(m.Outbox.room_id == "room-5")))
    assert keys == ["room_not_linked"]


def test_module_names_match_the_command_words() -> None:
    # The templates name each module's command word; they must be the ones the router knows.
    renderer = Renderer()
    for module in Module:
        for lang in Lang:
            word = canonical(module, lang)
            text = renderer.render("list_bad_args", {"module": module.value, "args": "x"}, lang)
            assert f"`{word}`" in text, (module, lang)


@pytest.mark.parametrize(("locale", "show"), [("es", "ver"), ("en", "show")])
async def test_demo_data_lists_and_details_render(store: Store, locale: str, show: str) -> None:
    # The demo set has every shape of record (empty fields, many lines, long texts): each
    # list and the detail of its first item must render, in both languages.
    async with store.sessions.begin() as s:
        await load_demo_data(s, store.files, today=dt.date(2025, 6, 11))
    async with store.sessions() as s:
        room, contact_id = (
            await s.execute(select(m.ChatChannel.room_id, m.ChatChannel.contact_id).limit(1))
        ).one()
        counts = await count_by_module(s, contact_id)
    lang = Lang(locale)
    async with Chat(store, locale=locale) as chat:
        for module in Module:
            word = canonical(module, lang)
            listing = await chat.say(word, room=room)
            assert len(listing) == 1, word
            total = counts[ModuleName(module.value)]
            if total == 0:
                continue
            assert listing[0].split("\n")[0].endswith(f"({total})"), word
            assert len(await chat.say(f"{show} 1", room=room)) == 1, word
