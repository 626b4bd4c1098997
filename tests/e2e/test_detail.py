"""Transcripts of `ver`/`show`: documents to the cent, cases with emails, list items, mistakes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from bot.bootstrap import Store
from bot.chatfmt import as_shown, contains_trigger, literal
from store import models as m
from store.services.documents import LineDraft
from tests.chat import Chat
from tests.e2e.test_listing import (
    PM,
    Seeded,
    add_purchase,
    at,
    seed_all_modules,
    seed_contacts,
    seed_purchases,
    shown,
)


def nb(text: str) -> str:
    """``text`` with the no-break spaces CLDR puts before `€` and `%` (written as spaces)."""
    return text.replace(" €", "\u00a0€").replace(" %", "\u00a0%")


PO_ES = nb(
    """*Orden de compra* `OC-00001` · Creada
*Material de oficina*
Proveedor: Papelería Sol
Contacto: Ana García
Fecha: 10 jun 2025
Creada por: marta

Líneas:
1. Grapadora (GRP-01)
   10 × 12,50 € · IVA 21 % · dto. 10 %
   neto 112,50 € · IVA 23,63 € · total 136,13 €
2. Archivador
   3 × 40,00 € · IVA 21 % · dto. 5,00 €
   neto 115,00 € · IVA 24,15 € · total 139,15 €

Subtotal: 227,50 €
Descuentos: 17,50 €
Impuestos: 47,78 €
Total: *275,28 €*

Términos y condiciones:
Pago a 30 días

Entrega: Calle Mayor 5, 28013 Madrid
Facturación: Calle Mayor 5, 28013 Madrid"""
)

PO_EN = """*Purchase order* `OC-00001` · Created
*Material de oficina*
Vendor: Papelería Sol
Contact: Ana García
Date: Jun 10, 2025
Created by: marta

Lines:
1. Grapadora (GRP-01)
   10 × €12.50 · tax 21% · 10% off
   net €112.50 · tax €23.63 · total €136.13
2. Archivador
   3 × €40.00 · tax 21% · €5.00 off
   net €115.00 · tax €24.15 · total €139.15

Subtotal: €227.50
Discounts: €17.50
Taxes: €47.78
Total: *€275.28*

Terms and conditions:
Pago a 30 días

Delivery: Calle Mayor 5, 28013 Madrid
Billing: Calle Mayor 5, 28013 Madrid"""


async def test_purchase_order_detail_is_exact_to_the_cent(store: Store) -> None:
    seeded = await seed_contacts(store)
    assert await add_purchase(store, seeded) == "OC-00001"
    async with Chat(store) as chat:
        reply = shown(await chat.say("ver OC-00001"))
        assert reply == PO_ES
        assert "Total: *275,28\u00a0€*" in reply
    async with Chat(store, locale="en") as chat:
        reply = shown(await chat.say("show OC-00001", message_id="en-1"))
        assert reply == PO_EN
        assert "Total: *€275.28*" in reply


@pytest.mark.parametrize(
    "typed", ["OC-00001", "oc-00001", "OC1", "oc 1", "oc-1", "Oc - 001", "OC-00001.", "oc 01"]
)
async def test_number_variants_find_the_same_record(store: Store, typed: str) -> None:
    seeded = await seed_contacts(store)
    await add_purchase(store, seeded)
    async with Chat(store) as chat:
        assert shown(await chat.say(f"ver {typed}")) == PO_ES


async def test_quote_and_sales_order_detail(store: Store) -> None:
    seeded = await seed_contacts(store)
    await seed_all_modules(store, seeded)
    async with Chat(store) as chat:
        assert shown(await chat.say("ver cot 1")) == nb(
            """*Cotización* `COT-00001` · Creada
*Renovación de licencias*
Contacto: Ana García
Fecha: 3 jun 2025
Válida hasta: 31 jul 2025

Líneas:
1. Renovación
   1 × 100,00 € · sin IVA
   neto 100,00 € · IVA 0,00 € · total 100,00 €

Subtotal: 100,00 €
Descuentos: 0,00 €
Impuestos: 0,00 €
Total: *100,00 €*"""
        )
    async with Chat(store, locale="en") as chat:
        assert shown(await chat.say("show OV1", message_id="en-1")) == (
            """*Sales order* `OV-00001` · Created
*Pedido de licencias*
Contact: Ana García
Date: Jun 2, 2025

Lines:
1. Licencia
   2 × €150.00 · tax 21%
   net €300.00 · tax €63.00 · total €363.00

Subtotal: €300.00
Discounts: €0.00
Taxes: €63.00
Total: *€363.00*"""
        )


async def test_a_sub_cent_unit_price_is_shown_in_full(store: Store) -> None:
    seeded = await seed_contacts(store)
    line = LineDraft("Tornillo", Decimal(1000), Decimal("0.1234"), tax_rate=Decimal(21))
    await add_purchase(store, seeded, "Tornillería", lines=[line])
    async with Chat(store) as chat:
        lines = shown(await chat.say("ver OC-1")).split("\n")
    assert lines[8:11] == nb(
        """1. Tornillo
   1.000 × 0,1234 EUR · IVA 21 %
   neto 123,40 € · IVA 25,91 € · total 149,31 €"""
    ).split("\n")


async def link_emails_to_case(store: Store, seeded: Seeded) -> None:
    """The seeded email and a reply with no attachment both carry `[CAS-00001]`."""
    async with store.sessions.begin() as s:
        first = await s.scalar(
            select(m.Email.id).where(m.Email.message_id == "<factura-junio@cliente.es>")
        )
        assert first is not None
        reply = m.Email(
            message_id="<respuesta@crm.localhost>",
            raw_sha256="cd" * 32,
            subject="Re: [CAS-00001] Impresora",
            from_addr="soporte@crm.localhost",
            to_addrs="ana@cliente.es",
            date=at(6, 8, 15),
            direction="outbound",
        )
        s.add(reply)
        await s.flush()
        s.add_all(
            [
                m.EmailContact(email_id=reply.id, contact_id=seeded.contact_id),
                m.EmailRecord(email_id=first, record_number="CAS-00001"),
                m.EmailRecord(email_id=reply.id, record_number="CAS-00001"),
            ]
        )


async def test_case_detail_with_its_emails(store: Store) -> None:
    seeded = await seed_contacts(store)
    await seed_all_modules(store, seeded)
    await link_emails_to_case(store, seeded)
    async with Chat(store) as chat:
        assert shown(await chat.say("ver CAS-00001")) == (
            """*Caso* `CAS-00001` · Abierto
*Impresora no imprime*
Prioridad: Alta · Gravedad: Mayor
Categoría: Hardware
Contacto: Ana García
Abierto: 5 jun 2025, 12:00 por sofia
Actualizado: 6 jun 2025, 8:15

Descripción:
Sale una hoja en blanco.
Desde el lunes.

Emails (2):
1. 6 jun 2025, 8:15 · soporte@crm.localhost · Re: [CAS-00001] Impresora
2. 10 jun 2025, 9:30 · ana@cliente.es · Factura de junio · 📎 1"""
        )
    async with Chat(store, locale="en") as chat:
        assert shown(await chat.say("show cas 1", message_id="en-1")) == (
            f"""*Case* `CAS-00001` · Open
*Impresora no imprime*
Priority: High · Severity: Major
Category: Hardware
Contact: Ana García
Opened: Jun 5, 2025, 12:00{PM}PM by sofia
Updated: Jun 6, 2025, 8:15{PM}AM

Description:
Sale una hoja en blanco.
Desde el lunes.

Emails (2):
1. Jun 6, 2025, 8:15{PM}AM · soporte@crm.localhost · Re: [CAS-00001] Impresora
2. Jun 10, 2025, 9:30{PM}AM · ana@cliente.es · Factura de junio · 📎 1"""
        )


async def test_a_record_of_another_contact_says_whose_it_is(store: Store) -> None:
    seeded = await seed_contacts(store)
    number = await add_purchase(store, seeded, contact_id=seeded.other_id)
    note = "Ojo: es de *Otro Cliente*, no de *Ana García* (el contacto de esta sala)."
    async with Chat(store) as chat:
        lines = shown(await chat.say(f"ver {number}")).split("\n")
        assert lines[3:5] == ["Contacto: Otro Cliente", note]
        # In the other contact's own room, or in a room with no link, there is nothing to note.
        for room in ("room-9", "room-5"):
            lines = shown(await chat.say(f"ver {number}", room=room)).split("\n")
            assert lines[3:5] == ["Contacto: Otro Cliente", "Fecha: 10 jun 2025"]
    async with Chat(store, locale="en") as chat:
        lines = shown(await chat.say(f"show {number}", message_id="en-1")).split("\n")
        assert lines[4] == (
            "Note: this belongs to *Otro Cliente*, not *Ana García* (this room's contact)."
        )


@pytest.mark.parametrize(
    ("locale", "typed", "expected"),
    [
        (
            "es",
            "ver OC-00099",
            "No encuentro `OC-00099`.\n"
            "Comprueba el número: las listas (`compras`, `cotizaciones`, `ventas`, `casos`)"
            " muestran los que hay.",
        ),
        (
            "en",
            "show cas 7",
            "I can't find `CAS-00007`.\n"
            "Check the number: the lists (`purchases`, `quotes`, `sales-orders`, `cases`)"
            " show the ones there are.",
        ),
        (
            "es",
            "ver",
            "¿Qué quieres ver?\n"
            "Escribe el número, por ejemplo `ver OC-00012` (compra), `ver COT-00003` (cotización),"
            " `ver OV-00002` (venta) o `ver CAS-00007` (caso).\n"
            "Tras una lista, `ver 3` muestra el tercero.",
        ),
        (
            "en",
            "show XY-12",
            "“XY-12” is not a record number I know.\n"
            "Type its number, for example `show OC-00012` (purchase order), `show COT-00003`"
            " (quote), `show OV-00002` (sales order) or `show CAS-00007` (case).\n"
            "After a list, `show 3` shows its third item.",
        ),
        (
            "es",
            "ver 3",
            "¿El 3 de qué lista? Pide antes una lista (por ejemplo `compras`) o escribe el número"
            " completo (`ver OC-00012`).",
        ),
        (
            "en",
            "show 3",
            "Number 3 of which list? Ask for a list first (for example `purchases`) or type the"
            " full number (`show OC-00012`).",
        ),
    ],
)
async def test_mistakes_get_a_helpful_answer(
    store: Store, locale: str, typed: str, expected: str
) -> None:
    seeded = await seed_contacts(store)
    await add_purchase(store, seeded)
    async with Chat(store, locale=locale) as chat:
        assert shown(await chat.say(typed)) == expected


async def test_show_n_after_a_list_uses_that_list(store: Store) -> None:
    seeded = await seed_contacts(store)
    await seed_purchases(store, seeded, 25)
    async with Chat(store) as chat:
        await chat.say("compras página 3")
        # Item 22 is on the page shown; item 12 is on another page; 26 is past the end.
        assert shown(await chat.say("ver 22")).startswith("*Orden de compra* `OC-00004`")
        assert shown(await chat.say("ver 12")).startswith("*Orden de compra* `OC-00014`")
        assert shown(await chat.say("ver 26")) == (
            "La lista de *Compras* no tiene un 26: hay 25, elige de `ver 1` a `ver 25`."
        )
    async with Chat(store, locale="en") as chat:
        await chat.say("purchases", message_id="en-1")
        assert shown(await chat.say("show 2", message_id="en-2")).startswith(
            "*Purchase order* `OC-00024`"
        )
        assert shown(await chat.say("show 30", message_id="en-3")) == (
            "The *Purchase orders* list has no number 30: there are 25, pick `show 1` to `show 25`."
        )


DETAILS_ES = {
    "activos": "*Activo* *Portátil Dell* · En servicio\nNúmero de serie: SN-4471\n"
    "Producto: Monitor 27\nAsignado el 3 mar 2025",
    "proyectos": "*Proyecto* *Migración ERP* · En curso\nPapel del contacto: Responsable\n"
    "Fin previsto: 30 sept 2025",
    "direcciones": "*Dirección* *Oficina* · principal · fiscal\nCalle: Calle Mayor 5\n"
    "Código postal: 28013\nCiudad: Madrid\nPaís: España",
    "servicios": nb(
        "*Servicio* *Mantenimiento anual* · Contratado\nCódigo: SRV-MANT\n"
        "Precio: 300,00 € + IVA 21 %"
    ),
    "polizas": "*Póliza* *Soporte 24x7* · En curso\nTipo: Soporte\nNivel de servicio: Oro\n"
    "Fin: 31 dic 2025",
    "productos": nb(
        "*Producto* *Monitor 27* · Compra\nCódigo: PRD-MON\nPrecio: 199,90 € + IVA 21 %\n"
        "Existencias: 0"
    ),
    "calendario": "*Reunión* *Revisión trimestral* · Planificado\nEmpieza: 12 jun 2025, 10:00\n"
    "Termina: 12 jun 2025, 11:00\nLugar: Sala 2",
    "oportunidades": nb(
        "*Oportunidad* *Ampliación 50 puestos* · Propuesta/Presupuesto\n"
        "Importe: 12.500,00 €\nProbabilidad: 60 %\nCierre previsto: 15 ago 2025"
    ),
    "comentarios": "*Comentario* de *luis* · 9 jun 2025, 17:05\nLlamó para confirmar la entrega",
    "emails": "*Email recibido* · 10 jun 2025, 9:30\n*Factura de junio*\nDe: ana@cliente.es\n"
    "Para: crm@crm.localhost\nVinculado a: `CAS-00001`\n\nHola,\nadjunto la factura.\nUn saludo\n\n"
    "Adjuntos (1):\n📎 contrato.pdf · 2,4 MB",
    "archivos": "*Archivo* *contrato.pdf*\nTamaño: 2,4 MB (2.560.000 bytes)\n"
    "Tipo: application/pdf\nSHA-256: `abababababab`…\nOrigen: correo · 10 jun 2025, 9:31",
    "campanas": "*Campaña* *Feria Tech 2025* · Activa\nTipo: Evento\n"
    "El contacto: Contactado con éxito\nInicio: 1 may 2025",
    "canales": "*Sala de chat* *ana-garcia*\nId: room-1\nVinculada el 1 jun 2025, 9:00 por luis",
}
DETAILS_EN = {
    "assets": "*Asset* *Portátil Dell* · In service\nSerial number: SN-4471\n"
    "Product: Monitor 27\nAssigned on Mar 3, 2025",
    "projects": "*Project* *Migración ERP* · In progress\nContact's role: Responsable\n"
    "Target end: Sep 30, 2025",
    "addresses": "*Address* *Oficina* · primary · billing\nStreet: Calle Mayor 5\n"
    "Postal code: 28013\nCity: Madrid\nCountry: España",
    "services": "*Service* *Mantenimiento anual* · Contracted\nSKU: SRV-MANT\n"
    "Price: €300.00 + tax 21%",
    "contracts": "*Contract* *Soporte 24x7* · In progress\nType: Soporte\nService level: Oro\n"
    "End: Dec 31, 2025",
    "products": "*Product* *Monitor 27* · Purchase\nSKU: PRD-MON\nPrice: €199.90 + tax 21%\n"
    "In stock: 0",
    "calendar": f"*Meeting* *Revisión trimestral* · Planned\nStarts: Jun 12, 2025, 10:00{PM}AM\n"
    f"Ends: Jun 12, 2025, 11:00{PM}AM\nLocation: Sala 2",
    "opportunities": "*Opportunity* *Ampliación 50 puestos* · Proposal/Price quote\n"
    "Amount: €12,500.00\nProbability: 60%\nExpected close: Aug 15, 2025",
    "comments": f"*Comment* by *luis* · Jun 9, 2025, 5:05{PM}PM\nLlamó para confirmar la entrega",
    "emails": f"*Email received* · Jun 10, 2025, 9:30{PM}AM\n*Factura de junio*\n"
    "From: ana@cliente.es\nTo: crm@crm.localhost\nLinked to: `CAS-00001`\n\n"
    "Hola,\nadjunto la factura.\nUn saludo\n\nAttachments (1):\n📎 contrato.pdf · 2.4 MB",
    "files": "*File* *contrato.pdf*\nSize: 2.4 MB (2,560,000 bytes)\nType: application/pdf\n"
    f"SHA-256: `abababababab`…\nSource: email · Jun 10, 2025, 9:31{PM}AM",
    "campaigns": "*Campaign* *Feria Tech 2025* · Active\nType: Evento\n"
    "The contact: Contacted - successful\nStart: May 1, 2025",
    "channels": f"*Chat room* *ana-garcia*\nId: room-1\nLinked on Jun 1, 2025, 9:00{PM}AM by luis",
}


@pytest.mark.parametrize(
    ("locale", "details", "show"), [("es", DETAILS_ES, "ver"), ("en", DETAILS_EN, "show")]
)
async def test_show_n_details_every_other_module(
    store: Store, locale: str, details: dict[str, str], show: str
) -> None:
    seeded = await seed_contacts(store)
    await seed_all_modules(store, seeded)
    await link_emails_to_case(store, seeded)
    async with Chat(store, locale=locale) as chat:
        for word, expected in details.items():
            await chat.say(word)
            assert shown(await chat.say(f"{show} 1")) == expected, word


async def test_a_record_gone_since_the_list(store: Store) -> None:
    seeded = await seed_contacts(store)
    await seed_all_modules(store, seeded)
    async with Chat(store) as chat:
        await chat.say("comentarios")
        async with store.sessions.begin() as s:
            await s.execute(delete(m.Comment))
        assert shown(await chat.say("ver 1")) == (
            "El 1 de la lista de *Comentarios* ya no existe. Vuelve a pedirla: `comentarios`."
        )
        assert shown(await chat.say("ver 2")) == (
            "La lista de *Comentarios* está vacía ahora. Vuelve a pedirla: `comentarios`."
        )


HOSTILE_TITLE = "@all *gratis* <https://evil.example|clic> [x](http://a.b)"
HOSTILE_COMMENT = "@here mira esto\n> cita falsa\n# título\n`código` _fin_"


async def test_data_is_shown_literally(store: Store) -> None:
    seeded = await seed_contacts(store)
    await add_purchase(store, seeded, HOSTILE_TITLE)
    async with store.sessions.begin() as s:
        s.add(m.Comment(contact_id=seeded.contact_id, author="@luis", text=HOSTILE_COMMENT))
    async with Chat(store) as chat:
        (detail,) = await chat.say("ver OC-00001")
        title_line = detail.split("\n")[1]
        assert title_line == literal(HOSTILE_TITLE)
        assert not contains_trigger(title_line)
        assert as_shown(title_line) == HOSTILE_TITLE

        (listed,) = await chat.say("compras")
        assert literal(HOSTILE_TITLE) in listed
        assert "@all" not in listed

        await chat.say("comentarios")
        (comment,) = await chat.say("ver 1")
        head, body = comment.split("\n", 1)
        assert body == literal(HOSTILE_COMMENT, multiline=True)
        assert not contains_trigger(body)
        assert as_shown(body) == HOSTILE_COMMENT
        assert "@luis" not in head
        assert as_shown(head).startswith("*Comentario* de *@luis* · ")


async def test_an_email_of_two_contacts_shows_each_its_own_attachment(store: Store) -> None:
    seeded = await seed_contacts(store)
    async with store.sessions.begin() as s:
        s.add(m.Blob(sha256="ef" * 32, size=300))
        email = m.Email(
            message_id="<para-dos@cliente.es>",
            raw_sha256="ef" * 32,
            subject="Planos",
            from_addr="ana@cliente.es",
            to_addrs="o@cliente.es",
            date=at(11, 10),
            direction="inbound",
        )
        files = [
            m.StoredFile(
                contact_id=cid, name="planos.dwg", size=300, sha256="ef" * 32, source="email"
            )
            for cid in (seeded.contact_id, seeded.other_id)
        ]
        s.add_all([email, *files])
        await s.flush()
        for cid, stored in zip((seeded.contact_id, seeded.other_id), files, strict=True):
            s.add(m.EmailContact(email_id=email.id, contact_id=cid))
            s.add(m.EmailFile(email_id=email.id, file_id=stored.id))
    async with Chat(store) as chat:
        listed = shown(await chat.say("emails")).split("\n")
        assert listed[1] == "1. 11 jun 2025, 10:00 · ana@cliente.es · Planos · 📎 1"
        detail = shown(await chat.say("ver 1")).split("\n")
        assert detail[-2:] == ["Adjuntos (1):", "📎 planos.dwg · 300 B"]
