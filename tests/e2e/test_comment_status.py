"""Transcripts of `comentar` and `estado`: what is stored, who is told, what is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.bootstrap import Store
from bot.chatfmt import as_shown, contains_trigger, literal
from bot.render import Renderer
from store.models import Case, ChatChannel, Comment, Document
from store.records import read_records
from store.services.catalogue import VendorData, upsert_vendor
from store.services.contacts import ContactData, upsert_contact
from store.services.documents import (
    CaseDraft,
    DocumentDraft,
    LineDraft,
    create_case,
    create_document,
)
from store.services.status import StatusKind
from store.services.users import set_role
from store.vocab import DocumentKind
from tests.chat import Chat

PO, QUOTE, SO, CASE = (
    StatusKind.PURCHASE_ORDER,
    StatusKind.QUOTE,
    StatusKind.SALES_ORDER,
    StatusKind.CASE,
)
ROLES = {"marta": "admin", "carlos": "compras", "vera": "ventas", "sofia": "soporte"}
ROLES["luis"] = "lectura"
LINKED = ("room-1", "room-2", "room-3")
OTHER_CONTACTS_ROOM = "room-9"
TITLE = "Tornillos M8"
NUMBER = {PO: "OC-00001", QUOTE: "COT-00001", SO: "OV-00001", CASE: "CAS-00001"}


async def seed(store: Store) -> int:
    """Roles, Ana García linked to three rooms, another contact in a fourth; Ana's id."""
    async with store.sessions.begin() as s:
        for user, role in ROLES.items():
            await set_role(s, user, role)
        ana, _ = await upsert_contact(s, ContactData("Ana", "García", email="ana@example.com"))
        other, _ = await upsert_contact(s, ContactData("Otro", "Cliente", email="o@example.com"))
        s.add_all(ChatChannel(contact_id=ana.id, room_id=room, room_name=room) for room in LINKED)
        s.add(ChatChannel(contact_id=other.id, room_id=OTHER_CONTACTS_ROOM, room_name="otro"))
        return ana.id


async def add_record(store: Store, contact_id: int, kind: StatusKind, status: str) -> str:
    """A record of ``kind`` in ``status`` for the contact; its number."""
    async with store.sessions.begin() as s:
        if kind is CASE:
            case, _ = await create_case(s, CaseDraft(contact_id, TITLE, status=status))
            return case.number
        vendor_id = None
        if kind is PO:
            vendor_id = (await upsert_vendor(s, VendorData("Suministros Ibérica")))[0].id
        line = LineDraft("Tornillo M8", Decimal(100), Decimal("0.12"))
        draft = DocumentDraft(
            kind=DocumentKind(kind.value),
            contact_id=contact_id,
            title=TITLE,
            date=dt.date(2025, 6, 11),
            lines=[line],
            status=status,
            vendor_id=vendor_id,
        )
        document, _ = await create_document(s, draft)
        return document.number


async def status_of(store: Store, number: str) -> str | None:
    async with store.sessions() as s:
        found = await s.scalar(select(Document.status).where(Document.number == number))
        return found or await s.scalar(select(Case.status).where(Case.number == number))


def others(chat: Chat, before: int, *, here: str = "room-1") -> dict[str, list[str]]:
    """What rooms other than ``here`` received since ``before`` messages were sent."""
    got: dict[str, list[str]] = {}
    for message in chat.transport.sent[before:]:
        if message.room_id != here:
            got.setdefault(message.room_id, []).append(message.text)
    return got


def rendered(key: str, locale: str, **params: str) -> str:
    """A reply owned by another command family, exactly as the bot renders it."""
    return Renderer(default_locale=locale).render(key, params, locale)


# --- comentar / comment --------------------------------------------------------------------

COMMENT = "Llamó para confirmar\nla entrega del lunes"

COMMENT_TRANSCRIPTS = {
    "es": (
        "comentar",
        "Comentario guardado en *Ana García*.\nAvisé en las otras 2 salas vinculadas.",
        f"*carlos* comentó en *Ana García*:\n{COMMENT}",
    ),
    "en": (
        "comment",
        "Comment saved on *Ana García*.\nI let the other 2 linked rooms know.",
        f"*carlos* commented on *Ana García*:\n{COMMENT}",
    ),
}


@pytest.mark.parametrize("locale", ["es", "en"])
async def test_comment_is_stored_listed_and_told_to_the_other_rooms(
    store: Store, locale: str
) -> None:
    ana = await seed(store)
    word, reply, notice = COMMENT_TRANSCRIPTS[locale]
    async with Chat(store, locale=locale, fixed_role=None) as chat:
        assert await chat.say(f"{word} {COMMENT}", user="carlos", thread="t-1") == [reply]
        assert [m.thread_id for m in chat.transport.sent if m.room_id == "room-1"] == ["t-1"]
        assert others(chat, 0) == {"room-2": [notice], "room-3": [notice]}
        assert all(m.thread_id == "" for m in chat.transport.sent if m.room_id != "room-1")
    async with store.sessions() as s:
        stored = list(await s.scalars(select(Comment)))
        listed = await read_records(s, "comments", ana)
    assert [(c.contact_id, c.author, c.text) for c in stored] == [(ana, "carlos", COMMENT)]
    assert [(row["author"], row["text"]) for row in listed] == [("carlos", COMMENT)]


async def test_each_comment_is_listed_newest_first(store: Store) -> None:
    ana = await seed(store)
    async with Chat(store, fixed_role=None) as chat:
        await chat.say("comentar primero", user="vera")
        await chat.say("!comentar segundo", user="sofia", room="room-2", kind="c")
    async with store.sessions() as s:
        listed = await read_records(s, "comments", ana)
    assert [(row["author"], row["text"]) for row in listed] == [
        ("sofia", "segundo"),
        ("vera", "primero"),
    ]


COMMENT_USAGE = {
    "es": (
        "comentar",
        "Escribe el texto después de `comentar`, por ejemplo:\n"
        "`comentar Llamó para confirmar la entrega`\n"
        "El comentario se guarda en el contacto vinculado a esta sala.",
        "Ese comentario tiene 4.001 caracteres y el máximo es 4.000.\n"
        "Acórtalo o divídelo en varios comentarios.",
    ),
    "en": (
        "comment",
        "Put the text after `comment`, for example:\n"
        "`comment Called to confirm the delivery`\n"
        "The comment is saved on the contact linked to this room.",
        "That comment is 4,001 characters long and the limit is 4,000.\n"
        "Shorten it or split it into several comments.",
    ),
}


@pytest.mark.parametrize("locale", ["es", "en"])
async def test_empty_and_too_long_comments_are_explained_and_not_stored(
    store: Store, locale: str
) -> None:
    await seed(store)
    word, usage, too_long = COMMENT_USAGE[locale]
    async with Chat(store, locale=locale, fixed_role=None) as chat:
        assert await chat.say(word, user="marta") == [usage]
        assert await chat.say(f"{word}   ", user="marta") == [usage]
        assert await chat.say(f"{word} {'x' * 4001}", user="marta") == [too_long]
        replies = await chat.say(f"{word} {'x' * 4000}", user="marta")
        assert len(replies) == 1
        assert replies[0].startswith(("Comentario guardado", "Comment saved"))
    async with store.sessions() as s:
        assert [len(c.text) for c in await s.scalars(select(Comment))] == [4000]


@pytest.mark.parametrize("locale", ["es", "en"])
async def test_comment_refused_without_the_role_or_the_link(store: Store, locale: str) -> None:
    await seed(store)
    async with Chat(store, locale=locale, fixed_role=None) as chat:
        assert await chat.say("comentar hola", user="luis") == [
            rendered("forbidden", locale, role="lectura", needed="compras")
        ]
        assert await chat.say("comment hello", user="marta", room="room-x") == [
            rendered("room_not_linked", locale)
        ]
        assert len(chat.transport.sent) == 2
    async with store.sessions() as s:
        assert list(await s.scalars(select(Comment))) == []


HOSTILE = "@all mirad #general *x* `x` https://evil.example <t:1:R> @here"


async def test_hostile_comment_is_stored_as_typed_and_delivered_literally(store: Store) -> None:
    await seed(store)
    async with Chat(store, fixed_role=None) as chat:
        await chat.say(f"comentar {HOSTILE}", user="marta")
        notices = others(chat, 0)
    body = literal(HOSTILE, multiline=True)
    assert notices == {
        "room-2": [f"*marta* comentó en *Ana García*:\n{body}"],
        "room-3": [f"*marta* comentó en *Ana García*:\n{body}"],
    }
    assert as_shown(body) == HOSTILE
    assert not contains_trigger(body)
    async with store.sessions() as s:
        assert [c.text for c in await s.scalars(select(Comment))] == [HOSTILE]


# --- estado / status: the transition table -------------------------------------------------

CHANGED = [
    (PO, "created", "aprobada", "Creada → *Aprobada*", "approved"),
    (PO, "created", "sent", "Creada → *Enviada al proveedor*", "sent"),
    (PO, "approved", "enviada", "Aprobada → *Enviada al proveedor*", "sent"),
    (PO, "sent", "Recibida", "Enviada al proveedor → *Recibida*", "received"),
    (PO, "sent", "cancelada", "Enviada al proveedor → *Cancelada*", "cancelled"),
    (QUOTE, "created", "entregada", "Creada → *Entregada*", "delivered"),
    (QUOTE, "reviewed", "aceptada", "Revisada → *Aceptada*", "accepted"),
    (SO, "created", "aprobada", "Creada → *Aprobada*", "approved"),
    (SO, "approved", "ENTREGADA", "Aprobada → *Entregada*", "delivered"),
    (CASE, "open", "en curso", "Abierto → *En curso*", "in_progress"),
    (CASE, "in_progress", "en espera", "En curso → *En espera de respuesta*", "waiting"),
    (CASE, "waiting", "cerrado", "En espera de respuesta → *Cerrado*", "closed"),
    (CASE, "closed", "abierto", "Cerrado → *Abierto*", "open"),
]


@pytest.mark.parametrize(("kind", "old", "typed", "shown", "new"), CHANGED)
async def test_allowed_change_is_made_and_told_to_every_other_room(
    store: Store, kind: StatusKind, old: str, typed: str, shown: str, new: str
) -> None:
    number = await add_record(store, await seed(store), kind, old)
    async with Chat(store, fixed_role=None) as chat:
        reply = await chat.say(f"estado {number} {typed}", user="marta")
        notices = others(chat, 0)
    assert reply == [f"Hecho: `{number}` *{TITLE}*\n{shown}"]
    notice = f"*marta* cambió el estado de `{number}` *{TITLE}*:\n{shown}"
    assert notices == {"room-2": [notice], "room-3": [notice]}
    assert await status_of(store, number) == new


REFUSED = [
    (PO, "created", "recibida", "Creada", "Recibida", "Aprobada, Enviada al proveedor, Cancelada"),
    (PO, "approved", "creada", "Aprobada", "Creada", "Enviada al proveedor, Cancelada"),
    (PO, "received", "cancelada", "Recibida", "Cancelada", None),
    (PO, "cancelled", "enviada", "Cancelada", "Enviada al proveedor", None),
    (QUOTE, "delivered", "creada", "Entregada", "Creada", "Revisada, Aceptada, Rechazada"),
    (QUOTE, "accepted", "rechazada", "Aceptada", "Rechazada", None),
    (SO, "created", "entregada", "Creada", "Entregada", "Aprobada, Cancelada"),
    (SO, "delivered", "cancelada", "Entregada", "Cancelada", None),
    (CASE, "closed", "en curso", "Cerrado", "En curso", "Abierto"),
]


@pytest.mark.parametrize("row", REFUSED)
async def test_refused_change_names_both_statuses_and_the_way_forward(
    store: Store, row: tuple[StatusKind, str, str, str, str, str | None]
) -> None:
    kind, old, typed, old_label, new_label, allowed = row
    number = await add_record(store, await seed(store), kind, old)
    async with Chat(store, fixed_role=None) as chat:
        reply = await chat.say(f"estado {number} {typed}", user="marta")
        assert others(chat, 0) == {}
    way = (
        f"Desde *{old_label}* puede pasar a: {allowed}."
        if allowed
        else f"*{old_label}* es un estado final: ya no cambia."
    )
    assert reply == [f"No se puede pasar `{number}` de *{old_label}* a *{new_label}*.\n{way}"]
    assert await status_of(store, number) == old


async def test_status_in_english(store: Store) -> None:
    ana = await seed(store)
    number = await add_record(store, ana, PO, "created")
    async with Chat(store, locale="en", fixed_role=None) as chat:
        assert await chat.say(f"status {number} received", user="marta") == [
            "`OC-00001` cannot go from *Created* to *Received*.\n"
            "From *Created* it can go to: Approved, Sent to vendor, Cancelled."
        ]
        assert await chat.say(f"status {number} approved", user="marta") == [
            f"Done: `OC-00001` *{TITLE}*\nCreated → *Approved*"
        ]
        assert others(chat, 0)["room-2"] == [
            f"*marta* changed the status of `OC-00001` *{TITLE}*:\nCreated → *Approved*"
        ]
        assert await chat.say("status oc-1 Approved", user="marta") == [
            "`OC-00001` is already *Approved*: nothing to change."
        ]
        assert await chat.say("status OC-00001 closed", user="marta") == [
            '"closed" is not a purchase order status.\n'
            "Possible statuses: Created, Approved, Sent to vendor, Received, Cancelled."
        ]


# --- estado / status: roles ----------------------------------------------------------------


@pytest.mark.parametrize("locale", ["es", "en"])
async def test_approval_is_for_admin_only(store: Store, locale: str) -> None:
    number = await add_record(store, await seed(store), PO, "created")
    async with Chat(store, locale=locale, fixed_role=None) as chat:
        reply = await chat.say(f"estado {number} aprobada", user="carlos")
        assert others(chat, 0) == {}
    assert reply == [rendered("forbidden", locale, role="compras", needed="admin")]
    assert "admin" in reply[0]
    assert await status_of(store, number) == "created"


async def test_compras_sends_receives_and_cancels_purchase_orders(store: Store) -> None:
    ana = await seed(store)
    first = await add_record(store, ana, PO, "created")
    second = await add_record(store, ana, PO, "approved")
    async with Chat(store, fixed_role=None) as chat:
        assert await chat.say(f"estado {first} enviada", user="carlos") == [
            f"Hecho: `{first}` *{TITLE}*\nCreada → *Enviada al proveedor*"
        ]
        assert await chat.say(f"estado {first} recibida", user="carlos") == [
            f"Hecho: `{first}` *{TITLE}*\nEnviada al proveedor → *Recibida*"
        ]
        assert await chat.say(f"estado {second} cancelada", user="carlos") == [
            f"Hecho: `{second}` *{TITLE}*\nAprobada → *Cancelada*"
        ]
        assert len(others(chat, 0)["room-3"]) == 3
    assert [await status_of(store, n) for n in (first, second)] == ["received", "cancelled"]


async def test_each_kind_needs_its_own_role(store: Store) -> None:
    ana = await seed(store)
    numbers = {kind: await add_record(store, ana, kind, "created") for kind in (PO, QUOTE, SO)}
    numbers[CASE] = await add_record(store, ana, CASE, "open")
    forbidden = rendered("forbidden", "es", role="ventas", needed="compras")
    async with Chat(store, fixed_role=None) as chat:
        assert await chat.say(f"estado {numbers[PO]} enviada", user="vera") == [forbidden]
        assert await chat.say(f"estado {numbers[CASE]} cerrado", user="vera") == [
            rendered("forbidden", "es", role="ventas", needed="soporte")
        ]
        assert await chat.say(f"estado {numbers[QUOTE]} entregada", user="vera") == [
            f"Hecho: `COT-00001` *{TITLE}*\nCreada → *Entregada*"
        ]
        assert await chat.say(f"estado {numbers[SO]} aprobada", user="vera") == [
            f"Hecho: `OV-00001` *{TITLE}*\nCreada → *Aprobada*"
        ]
        assert await chat.say(f"estado {numbers[CASE]} cerrado", user="sofia") == [
            f"Hecho: `CAS-00001` *{TITLE}*\nAbierto → *Cerrado*"
        ]
        assert await chat.say(f"estado {numbers[QUOTE]} aceptada", user="sofia") == [
            rendered("forbidden", "es", role="soporte", needed="ventas")
        ]
    assert await status_of(store, numbers[PO]) == "created"


# --- estado / status: everything else the user may type ------------------------------------


async def test_case_reopen_from_an_unlinked_room_tells_all_linked_rooms(store: Store) -> None:
    number = await add_record(store, await seed(store), CASE, "closed")
    async with Chat(store, fixed_role=None) as chat:
        reply = await chat.say(f"estado {number} reabierto", user="sofia", room="dm-sofia")
        assert reply == [
            "«reabierto» no es un estado de caso.\n"
            "Estados posibles: Abierto, En curso, En espera de respuesta, Cerrado."
        ]
        reply = await chat.say(f"estado {number} abierta", user="sofia", room="dm-sofia")
        notices = others(chat, 0, here="dm-sofia")
    assert reply == [f"Hecho: `{number}` *{TITLE}*\nCerrado → *Abierto*"]
    notice = f"*sofia* cambió el estado de `{number}` *{TITLE}*:\nCerrado → *Abierto*"
    assert notices == {
        "room-1": [notice],
        "room-2": [notice],
        "room-3": [notice],
    }
    assert await status_of(store, number) == "open"


async def test_same_status_changes_nothing_and_tells_nobody(store: Store) -> None:
    number = await add_record(store, await seed(store), PO, "sent")
    async with Chat(store, fixed_role=None) as chat:
        assert await chat.say(f"estado {number} Enviada al proveedor", user="carlos") == [
            f"`{number}` ya está en *Enviada al proveedor*: no hay nada que cambiar."
        ]
        assert others(chat, 0) == {}


async def test_ambiguous_unknown_and_missing_input(store: Store) -> None:
    ana = await seed(store)
    case = await add_record(store, ana, CASE, "open")
    po = await add_record(store, ana, PO, "created")
    async with Chat(store, fixed_role=None) as chat:
        assert await chat.say(f"estado {case} en", user="marta") == [
            "«en» puede ser *En curso* o *En espera de respuesta*.\nEscribe un poco más del nombre."
        ]
        assert await chat.say(f"estado {po} cerrada", user="marta") == [
            "«cerrada» no es un estado de orden de compra.\n"
            "Estados posibles: Creada, Aprobada, Enviada al proveedor, Recibida, Cancelada."
        ]
        for typed, shown in (("OC-00099", "`OC-00099`"), ("12", "`12`")):
            assert await chat.say(f"estado {typed} aprobada", user="marta") == [
                f"No encuentro {shown}.\nEscribe el número completo: `OC-00012` (compra), "
                "`COT-00003` (cotización), `OV-00002` (venta) o `CAS-00007` (caso)."
            ]
        assert await chat.say("estado", user="marta") == [
            "Escribe el número y el nuevo estado, por ejemplo:\n"
            "`estado OC-00012 aprobada`\n"
            "Sirve para órdenes de compra, cotizaciones, órdenes de venta y casos."
        ]
        assert await chat.say(f"estado {po}", user="luis") == [
            f"`{po}` *{TITLE}*\nEstado: *Creada*\n"
            "Puede pasar a: Aprobada, Enviada al proveedor, Cancelada.\n"
            f"Por ejemplo: `estado {po} aprobada`"
        ]
        assert others(chat, 0) == {}
    assert [await status_of(store, n) for n in (case, po)] == ["open", "created"]


async def test_status_usage_and_current_status_in_english(store: Store) -> None:
    number = await add_record(store, await seed(store), QUOTE, "accepted")
    async with Chat(store, locale="en", fixed_role=None) as chat:
        assert await chat.say("status", user="vera") == [
            "Give the number and the new status, for example:\n"
            "`status OC-00012 approved`\n"
            "It works for purchase orders, quotes, sales orders and cases."
        ]
        assert await chat.say(f"status {number}", user="vera") == [
            f"`{number}` *{TITLE}*\nStatus: *Accepted*\nThat is a final status: it cannot change."
        ]
        assert await chat.say("status CAS-00042 closed", user="vera") == [
            "I can't find `CAS-00042`.\nGive the full number: `OC-00012` (purchase), "
            "`COT-00003` (quote), `OV-00002` (sales order) or `CAS-00007` (case)."
        ]
