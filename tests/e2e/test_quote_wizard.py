"""Transcripts of the quote wizard (`agregar cotizacion`): every step, the review, the save."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from bot.bootstrap import Store
from bot.chat import Param, decode_params
from bot.chatfmt import as_shown
from bot.render import Renderer
from dialogs.diagram import diagram_path, edges, mermaid
from dialogs.quote import QUOTE, QuoteFlow, S
from store.models import ChatChannel, Contact, Document, DocumentLine, Outbox, Product, Service
from store.services.catalogue import ItemData, upsert_item
from store.services.contacts import AddressData, ContactData, set_main_address, upsert_contact
from store.services.users import set_role
from tests.chat import Chat

NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
ROLES = {"marta": "admin", "vera": "ventas", "sofia": "soporte", "carlos": "compras"}
ROLES["luis"] = "lectura"
LINKED = ("room-1", "room-2")
UNLINKED = "room-5"
ADDRESS = "Calle Mayor 16, 48001 Bilbao, España"


def clock() -> dt.datetime:
    return NOW


async def seed(store: Store) -> int:
    """Roles, Ana García (linked to two rooms, with an address), two more contacts, a
    product and a service at 21 %; Ana's id."""
    async with store.sessions.begin() as s:
        for user, role in ROLES.items():
            await set_role(s, user, role)
        ana, _ = await upsert_contact(
            s, ContactData("Ana", "García", email="ana@example.com", account="Construcciones Norte")
        )
        await set_main_address(
            s,
            ana,
            AddressData(
                street="Calle Mayor 16", city="Bilbao", postal_code="48001", country="España"
            ),
        )
        await upsert_contact(s, ContactData("Ana", "Gómez", email="agomez@example.com"))
        await upsert_contact(s, ContactData("Bruno", "Díaz", email="bruno@example.com"))
        rate = Decimal(21)
        await upsert_item(s, Product, ItemData("PORT-14", "Portátil 14", Decimal("12.50"), rate))
        await upsert_item(s, Service, ItemData("SRV-INST", "Instalación", Decimal("40.00"), rate))
        s.add_all(ChatChannel(contact_id=ana.id, room_id=room, room_name=room) for room in LINKED)
        return ana.id


# --- transcript helpers ------------------------------------------------------------------


@dataclass(frozen=True)
class Other:
    """A reply whose wording another family owns: its key and the params that matter here."""

    key: str
    params: dict[str, Param] = field(default_factory=dict)


Expected = str | Other


@dataclass(frozen=True)
class Got:
    room: str
    key: str
    params: dict[str, Param]
    text: str  # as a reader sees it; no-break spaces as plain spaces

    def matches(self, expected: Expected) -> bool:
        if isinstance(expected, str):
            return self.text == expected
        wanted = expected.params.items()
        return self.key == expected.key and all(self.params.get(k) == v for k, v in wanted)


async def turn(chat: Chat, text: str, *, user: str, room: str = "room-1") -> list[Got]:
    """Everything the bot posted (in any room) because ``user`` said ``text`` in ``room``."""
    before = len(chat.transport.sent)
    await chat.say(text, user=user, room=room)
    sent = chat.transport.sent[before:]
    async with chat.store.sessions() as s:
        ids = [m.msg_id for m in sent]
        rows = {r.msg_id: r for r in await s.scalars(select(Outbox).where(Outbox.msg_id.in_(ids)))}
    return [
        Got(
            m.room_id,
            rows[m.msg_id].key,
            decode_params(rows[m.msg_id].params),
            as_shown(m.text).replace("\xa0", " "),
        )
        for m in sent
    ]


async def run(
    chat: Chat, steps: list[tuple[str, list[Expected]]], *, user: str, room: str = "room-1"
) -> None:
    """Say each message; what comes back in ``room`` must be exactly the expected replies."""
    for text, expected in steps:
        got = [g for g in await turn(chat, text, user=user, room=room) if g.room == room]
        assert len(got) == len(expected), (text, got)
        for reply, want in zip(got, expected, strict=True):
            assert reply.matches(want), (text, reply, want)


def rendered(key: str, locale: str, **params: Param) -> str:
    """A reply another family owns, exactly as the bot renders it (as a reader sees it)."""
    text = Renderer(default_locale=locale).render(key, params, locale)
    return as_shown(text).replace("\xa0", " ")


# --- the expected questions, per locale ------------------------------------------------------

WORDS = {
    "es": {"start": "agregar cotizacion", "done": "listo", "save": "guardar"},
    "en": {"start": "add quote", "done": "done", "save": "save"},
}
STARTED = {
    "es": "*Nueva cotización*: te pregunto paso a paso.\n"
    "`atras` vuelve al paso anterior, `ayuda` explica el paso y `cancelar` la descarta sin "
    "guardar.",
    "en": "*New quote*: I'll ask you step by step.\n"
    "`back` returns to the previous step, `help` explains the step and `cancel` drops it "
    "unsaved.",
}
TITLE_Q = {
    "es": "¿Título de la cotización? Un resumen corto, hasta 255 caracteres.",
    "en": "Quote title? A short summary, up to 255 characters.",
}
ES_CONTACT_NONE = "¿Para qué contacto? Escribe su nombre, email, teléfono o cuenta."


def contact_q(locale: str, name: str) -> str:
    if locale == "en":
        return (
            f"Contact: *{name}*\n"
            "`ok` keeps it, or type a name, email, phone or account to search for another."
        )
    return (
        f"Contacto: *{name}*\n"
        "`ok` lo mantiene, o escribe nombre, email, teléfono o cuenta para buscar otro."
    )


def valid_q(locale: str, day: str = "", days: int = 30) -> str:
    if locale == "en":
        return (
            f"Valid until when? `ok` for *{day or 'Dec 28, 2026'}* (in {days} days).\n"
            "Or type the date: `mm/dd/yyyy`, `yyyy-mm-dd`, `tomorrow`. It cannot be before today."
        )
    return (
        f"¿Válida hasta qué fecha? `ok` para el *{day or '28 dic 2026'}* (en {days} días).\n"
        "O escribe la fecha: `dd/mm/aaaa`, `aaaa-mm-dd`, `mañana`. No puede ser anterior a hoy."
    )


def stage_q(locale: str, current: str = "") -> str:
    if locale == "en":
        return (
            f"Stage? `ok` leaves *{current or 'Created'}*.\n"
            "1. Created\n2. Delivered\n3. Reviewed\n4. Accepted\n5. Rejected\n"
            "Answer with the number or the name."
        )
    return (
        f"¿Etapa? `ok` deja *{current or 'Creada'}*.\n"
        "1. Creada\n2. Entregada\n3. Revisada\n4. Aceptada\n5. Rechazada\n"
        "Responde con el número o el nombre."
    )


def item_q(locale: str, number: int) -> str:
    if locale == "en":
        if number == 1:
            return "Line 1: which product or service? Type its SKU or part of its name."
        return (
            f"Line {number}: another product or service (SKU or name).\n"
            "`done` if there are no more · `remove n` removes line n."
        )
    if number == 1:
        return "Línea 1: ¿qué producto o servicio? Escribe su SKU o parte del nombre."
    return (
        f"Línea {number}: otro producto o servicio (SKU o nombre).\n"
        "`listo` si no hay más · `quitar n` quita la línea n."
    )


def past(locale: str, typed: str) -> str:
    if locale == "en":
        return f"«{typed}» is in the past: the quote must hold at least until today."
    return f"«{typed}» ya pasó: la cotización tiene que valer al menos hasta hoy."


REVIEW = {
    "es": """*Revisa la cotización* (fecha 28 nov 2026)
1. Título: *Renovación de portátiles*
2. Contacto: Ana García
3. Válida hasta: 28 dic 2026
4. Etapa: Entregada
5. Líneas (2):
   1. Portátil 14 (PORT-14)
      10 × 12,50 € · IVA 21 % · dto. 10 %
      neto 112,50 € · IVA 23,63 € · total 136,13 €
   2. Instalación (SRV-INST)
      3 × 40,00 € · IVA 21 % · dto. 5,00 €
      neto 115,00 € · IVA 24,15 € · total 139,15 €
   Subtotal: 227,50 €
   Descuentos: 17,50 €
   Impuestos: 47,78 €
   Total: *275,28 €*
6. Términos:
Pago a 30 días
IVA incluido
7. Entrega: Calle Mayor 16, 48001 Bilbao, España
8. Facturación: Calle Mayor 16, 48001 Bilbao, España

`guardar` la guarda · `editar n` cambia el paso n · `cancelar` la descarta.""",
    "en": """*Check the quote* (dated Nov 28, 2026)
1. Title: *Laptop renewal*
2. Contact: Ana García
3. Valid until: Dec 28, 2026
4. Stage: Delivered
5. Lines (2):
   1. Portátil 14 (PORT-14)
      10 × €12.50 · tax 21% · 10% off
      net €112.50 · tax €23.63 · total €136.13
   2. Instalación (SRV-INST)
      3 × €40.00 · tax 21% · €5.00 off
      net €115.00 · tax €24.15 · total €139.15
   Subtotal: €227.50
   Discounts: €17.50
   Taxes: €47.78
   Total: *€275.28*
6. Terms:
Payment within 30 days
VAT included
7. Delivery: Calle Mayor 16, 48001 Bilbao, España
8. Billing: Calle Mayor 16, 48001 Bilbao, España

`save` saves it · `edit n` changes step n · `cancel` drops it.""",
}
ANSWERS = {
    "es": ("Renovación de portátiles", "entregada", "Pago a 30 días\nIVA incluido"),
    "en": ("Laptop renewal", "delivered", "Payment within 30 days\nVAT included"),
}


def through_lines(locale: str) -> list[tuple[str, list[Expected]]]:
    """From the first item question to the terms: the DOMAIN §2 worked check's two lines."""
    return [
        ("PORT-14", [Other("lines_quantity", {"item": "Portátil 14"})]),
        ("10", [Other("lines_price", {"default": Decimal("12.5")})]),
        ("ok", [Other("lines_tax")]),
        ("ok", [Other("lines_discount")]),
        ("10%", [Other("lines_added", {"number": 1, "total": Decimal("136.13")}),
                 item_q(locale, 2)]),
        ("SRV-INST", [Other("lines_quantity", {"item": "Instalación"})]),
        ("3", [Other("lines_price")]),
        ("ok", [Other("lines_tax")]),
        ("ok", [Other("lines_discount")]),
        ("5", [Other("lines_added", {"number": 2, "total": Decimal("275.28")}),
               item_q(locale, 3)]),
        (WORDS[locale]["done"], [Other("closing_terms")]),
    ]  # fmt: skip


def to_review(locale: str) -> list[tuple[str, list[Expected]]]:
    """The whole happy path in a room linked to Ana García, up to the review."""
    title, stage, terms = ANSWERS[locale]
    return [
        (WORDS[locale]["start"], [STARTED[locale], TITLE_Q[locale]]),
        (title, [contact_q(locale, "Ana García")]),
        ("ok", [valid_q(locale)]),
        ("ok", [stage_q(locale)]),
        (stage, [item_q(locale, 1)]),
        *through_lines(locale),
        (terms, [Other("closing_delivery", {"default": ADDRESS})]),
        ("ok", [Other("closing_billing", {"default": ADDRESS})]),
        ("ok", [REVIEW[locale]]),
    ]


def quick_tail(locale: str = "es") -> list[tuple[str, list[Expected]]]:
    """From the first item question to the review: one line, nothing else."""
    skip = "skip" if locale == "en" else "omitir"
    return [
        ("PORT-14", [Other("lines_quantity")]),
        ("1", [Other("lines_price")]),
        ("ok", [Other("lines_tax")]),
        ("ok", [Other("lines_discount")]),
        (skip, [Other("lines_added"), item_q(locale, 2)]),
        (WORDS[locale]["done"], [Other("closing_terms")]),
        (skip, [Other("closing_delivery")]),
        (skip, [Other("closing_billing")]),
        (skip, [Other("quote_review")]),
    ]


async def quotes(store: Store) -> list[Document]:
    async with store.sessions() as s:
        return list(await s.scalars(select(Document).order_by(Document.id)))


# --- the happy path ----------------------------------------------------------------------------


async def assert_stored(store: Store, locale: str, ana: int) -> None:
    """The happy path's quote, as saved: header, totals and both lines."""
    [quote] = await quotes(store)
    title, _, terms = ANSWERS[locale]
    assert (quote.kind, quote.number, quote.contact_id, quote.vendor_id) == (
        "quote",
        "COT-00001",
        ana,
        None,
    )
    assert (quote.title, quote.status, quote.date, quote.valid_until) == (
        title,
        "delivered",
        dt.date(2026, 11, 28),
        dt.date(2026, 12, 28),
    )
    assert (quote.terms, quote.delivery_address, quote.billing_address) == (terms, ADDRESS, ADDRESS)
    assert (quote.subtotal, quote.discount_total, quote.tax_total, quote.total) == (
        Decimal("227.50"),
        Decimal("17.50"),
        Decimal("47.78"),
        Decimal("275.28"),
    )
    assert quote.created_by == "vera"
    async with store.sessions() as s:
        lines = list(
            await s.scalars(
                select(DocumentLine)
                .where(DocumentLine.document_id == quote.id)
                .order_by(DocumentLine.position)
            )
        )
    assert [(line.sku, line.net, line.tax, line.total) for line in lines] == [
        ("PORT-14", Decimal("112.50"), Decimal("23.63"), Decimal("136.13")),
        ("SRV-INST", Decimal("115.00"), Decimal("24.15"), Decimal("139.15")),
    ]


@pytest.mark.parametrize("locale", ["es", "en"])
async def test_full_quote_with_two_lines_is_reviewed_saved_shown_and_told(
    store: Store, locale: str
) -> None:
    ana = await seed(store)
    async with Chat(store, locale=locale, fixed_role=None, clock=clock) as chat:
        await run(chat, to_review(locale), user="vera")
        saved = await turn(chat, WORDS[locale]["save"], user="vera")
    assert [(g.room, g.key) for g in saved] == [
        ("room-1", "dialog_saved"),
        ("room-1", "detail_document"),
        ("room-2", "notify_created"),
    ]
    assert saved[0].params == {"number": "COT-00001", "kind": "quote"}
    assert saved[1].params["number"] == "COT-00001"
    assert saved[1].params["valid_until"] == dt.date(2026, 12, 28)
    assert saved[2].params == {"number": "COT-00001", "kind": "quote", "user": "vera"}
    await assert_stored(store, locale, ana)


# --- válida hasta ------------------------------------------------------------------------------


async def test_valid_until_offers_thirty_days_refuses_the_past_and_keeps_a_typed_date(
    store: Store,
) -> None:
    await seed(store)
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        await run(
            chat,
            [
                ("agregar cotizacion", [STARTED["es"], TITLE_Q["es"]]),
                ("Renovación", [contact_q("es", "Ana García")]),
                ("ok", [valid_q("es")]),
                ("27/11/2026", [past("es", "27/11/2026"), valid_q("es")]),
                ("ayer", [past("es", "ayer"), valid_q("es")]),
                # The third bad answer in a row also offers the help.
                (
                    "31/02/2027",
                    [
                        Other("answer_bad_date", {"typed": "31/02/2027"}),
                        Other("dialog_offer_help"),
                        valid_q("es"),
                    ],
                ),
                ("hoy", [stage_q("es")]),
                ("atras", [valid_q("es")]),
                ("15/01/2027", [stage_q("es")]),
                ("omitir", [item_q("es", 1)]),
                *quick_tail()[:-1],
                ("omitir", [Other("quote_review", {"valid_until": dt.date(2027, 1, 15)})]),
                # editar 3 offers the date already chosen; ok keeps it.
                ("editar 3", [valid_q("es", "15 ene 2027", 48)]),
                ("ok", [Other("quote_review", {"valid_until": dt.date(2027, 1, 15)})]),
                ("editar 3", [valid_q("es", "15 ene 2027", 48)]),
                ("mañana", [Other("quote_review", {"valid_until": dt.date(2026, 11, 29)})]),
                ("guardar", [Other("dialog_saved"), Other("detail_document")]),
            ],
            user="marta",
        )
    [quote] = await quotes(store)
    assert (quote.valid_until, quote.status) == (dt.date(2026, 11, 29), "created")
    assert (quote.terms, quote.delivery_address, quote.billing_address) == ("", "", "")


# --- etapa -------------------------------------------------------------------------------------


def header_to_stage(title: str = "Renovación") -> list[tuple[str, list[Expected]]]:
    return [
        ("agregar cotizacion", [STARTED["es"], TITLE_Q["es"]]),
        (title, [contact_q("es", "Ana García")]),
        ("ok", [valid_q("es")]),
        ("ok", [stage_q("es")]),
    ]


@pytest.mark.parametrize(
    ("typed", "label", "code"),
    [
        ("2", "Entregada", "delivered"),
        ("revisada", "Revisada", "reviewed"),
        ("ACEP", "Aceptada", "accepted"),  # a prefix, in any case
        ("rejected", "Rechazada", "rejected"),  # the code works too
        ("ok", "Creada", "created"),
        ("omitir", "Creada", "created"),
    ],
)
async def test_stage_is_chosen_by_number_name_prefix_or_code(
    store: Store, typed: str, label: str, code: str
) -> None:
    await seed(store)
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        await run(
            chat,
            [
                *header_to_stage(),
                ("9", [Other("answer_bad_choice", {"max": 5}), stage_q("es")]),
                ("cerrada", [Other("answer_bad_choice", {"max": 5}), stage_q("es")]),
                (typed, [item_q("es", 1)]),
                ("atras", [stage_q("es")]),
                (typed, [item_q("es", 1)]),
                *quick_tail()[:-1],
                ("omitir", [Other("quote_review", {"status": label})]),
                # From the review the stage question offers the stage chosen.
                ("editar 4", [stage_q("es", label)]),
                ("ok", [Other("quote_review", {"status": label})]),
                ("guardar", [Other("dialog_saved"), Other("detail_document")]),
            ],
            user="vera",
        )
    assert [q.status for q in await quotes(store)] == [code]


# --- contacto ----------------------------------------------------------------------------------


def pick_q(names: list[str]) -> str:
    listed = "".join(f"{n}. {name}\n" for n, name in enumerate(names, 1))
    return f"Hay varios contactos. ¿Cuál?\n{listed}Responde con el número, o escribe otra búsqueda."


async def test_unlinked_room_asks_the_contact_searches_lists_and_goes_back(store: Store) -> None:
    await seed(store)
    both = [
        "*Ana García* · ana@example.com · Construcciones Norte",
        "*Ana Gómez* · agomez@example.com",
    ]
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        await run(
            chat,
            [
                ("agregar cotizacion", [STARTED["es"], TITLE_Q["es"]]),
                ("Renovación", [ES_CONTACT_NONE]),
                ("ok", [Other("answer_no_default"), ES_CONTACT_NONE]),
                ("zzz", [Other("answer_contact_not_found", {"typed": "zzz"}), ES_CONTACT_NONE]),
                ("ana", [pick_q(both)]),
                ("3", [Other("answer_bad_choice", {"max": 2}), pick_q(both)]),
                # Text that is not on the list searches again: one match is taken and named.
                ("bruno", ["Contacto: *Bruno Díaz*", valid_q("es")]),
                ("atras", [pick_q(both)]),
                ("2", ["Contacto: *Ana Gómez*", valid_q("es")]),
                ("atras", [pick_q(both)]),
                ("atras", [ES_CONTACT_NONE]),
                ("ana gar", ["Contacto: *Ana García*", valid_q("es")]),
            ],
            user="marta",
            room=UNLINKED,
        )


# --- editar, quitar, cancelar ------------------------------------------------------------------


async def test_editing_lines_from_the_review_recomputes_the_totals(store: Store) -> None:
    await seed(store)
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        await run(chat, to_review("es"), user="vera")
        await run(
            chat,
            [
                ("hola", [Other("answer_review_hint", {"max": 8}), Other("quote_review")]),
                # The example points at the quote's own line step (5), not the order's 6.
                ("editar 9", ["Escribe `editar` y un número del 1 al 8 "
                              "(p. ej. `editar 5` para las líneas).", Other("quote_review")]),
                ("editar 5", [item_q("es", 3)]),
                ("quitar 1", [Other("lines_removed", {"number": 1, "total": Decimal("139.15")}),
                              item_q("es", 2)]),
                ("listo", [Other("quote_review", {"total": Decimal("139.15"), "lines_count": 1})]),
                ("editar 1", [Other("quote_title", {"current": "Renovación de portátiles"})]),
                ("Instalación en Bilbao",
                 [Other("quote_review", {"title": "Instalación en Bilbao"})]),
                ("guardar", [Other("dialog_saved"), Other("detail_document")]),
            ],
            user="vera",
        )  # fmt: skip
    [quote] = await quotes(store)
    assert (quote.title, quote.total) == ("Instalación en Bilbao", Decimal("139.15"))


async def test_cancel_discards_the_quote_and_the_next_message_is_a_command(store: Store) -> None:
    await seed(store)
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        await run(
            chat,
            [
                *header_to_stage(),
                ("ok", [item_q("es", 1)]),
                ("cancelar", [Other("dialog_cancelled", {"wizard": "quote"})]),
                ("agregar cotizacion", [STARTED["es"], TITLE_Q["es"]]),
            ],
            user="vera",
        )
    assert await quotes(store) == []


async def test_a_save_whose_contact_was_deleted_stays_at_the_review(store: Store) -> None:
    await seed(store)
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        await run(
            chat,
            [
                ("agregar cotizacion", [STARTED["es"], TITLE_Q["es"]]),
                ("Renovación", [ES_CONTACT_NONE]),
                ("bruno", ["Contacto: *Bruno Díaz*", valid_q("es")]),
                ("ok", [stage_q("es")]),
                ("ok", [item_q("es", 1)]),
                *quick_tail(),
            ],
            user="marta",
            room=UNLINKED,
        )
        async with store.sessions.begin() as s:
            await s.execute(delete(Contact).where(Contact.first_name == "Bruno"))
        gone: dict[str, Param] = {"reason": "contact_gone", "name": "Bruno Díaz", "step": 2}
        await run(
            chat,
            [
                ("guardar", [Other("dialog_save_failed", gone), Other("quote_review")]),
                ("editar 2", [contact_q("es", "Bruno Díaz")]),
                ("ana gomez",
                 ["Contacto: *Ana Gómez*", Other("quote_review", {"contact": "Ana Gómez"})]),
                ("guardar",
                 [Other("dialog_saved", {"number": "COT-00001"}), Other("detail_document")]),
            ],
            user="marta",
            room=UNLINKED,
        )  # fmt: skip
    assert [q.number for q in await quotes(store)] == ["COT-00001"]


# --- roles -------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["es", "en"])
@pytest.mark.parametrize("user", ["sofia", "carlos", "luis"])
async def test_only_sales_and_admin_may_start_a_quote(store: Store, locale: str, user: str) -> None:
    await seed(store)
    refused = rendered("forbidden", locale, role=ROLES[user], needed="ventas")
    async with Chat(store, locale=locale, fixed_role=None, clock=clock) as chat:
        await run(chat, [(WORDS[locale]["start"], [refused])], user=user)
        await run(
            chat, [(WORDS[locale]["start"], [STARTED[locale], TITLE_Q[locale]])], user="marta"
        )
    assert await quotes(store) == []


# --- every step has its help, in both languages ------------------------------------------------


def test_every_step_has_help_and_every_question_has_a_template() -> None:
    renderer = Renderer()
    own = ["started", "title", "contact", "contact_pick", "contact_taken", "valid_until", "stage"]
    own += ["item", "review"]
    for locale in ("es", "en"):
        missing = [s.value for s in S if not renderer.has(f"quote_{s.value}_help", locale)]
        missing += [k for k in own if not renderer.has(f"quote_{k}", locale)]
        assert missing == [], locale
    assert set(QuoteFlow.editable) <= set(S)


def test_the_committed_diagram_is_current_and_every_step_reaches_the_review() -> None:
    path = diagram_path(QUOTE)
    assert path.name == "quote.mmd"
    assert path.read_text(encoding="utf-8") == mermaid(QuoteFlow), "run `python -m dialogs.diagram`"
    following: dict[str, set[str]] = {state.value: set() for state in S}
    for source, dest, _ in edges(QuoteFlow):
        following[source].add(dest)
    for start in following:
        seen, todo = {start}, [start]
        while todo:
            for dest in following[todo.pop()] - seen:
                seen.add(dest)
                todo.append(dest)
        assert S.REVIEW in seen, start
        if start == S.TITLE:
            assert seen == set(following)
