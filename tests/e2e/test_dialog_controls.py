"""Every dialog control at every step of the purchase-order wizard (CONTRACT §4), as a matrix:
each step is reached by a scripted prefix, then one control is typed and its effect checked."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from bot.bootstrap import Store
from bot.chatfmt import as_shown
from bot.render import Renderer
from dialogs.purchase import PurchaseFlow, S
from tests.chat import Chat
from tests.e2e.test_purchase_wizard import (
    CLOSING,
    HEADER,
    LINE_1,
    LINE_2,
    TO_REVIEW,
    clock,
    document_count,
    fields,
    nb,
    say_all,
    seed_world,
    session_row,
    shown,
    state,
)

TITLE = "Material de oficina"
_CONTACT = ["agregar compra", TITLE, "papeleria sol"]
_ITEM = [*_CONTACT, "ok", "hoy", "ok"]
_TERMS = [*_ITEM, *LINE_1, "listo"]
# How each step is reached from nothing: every message in a path is an accepted answer.
PATHS: dict[str, list[str]] = {
    S.TITLE: ["agregar compra"],
    S.VENDOR: ["agregar compra", TITLE],
    S.VENDOR_PICK: ["agregar compra", TITLE, "papel"],
    S.VENDOR_NEW: ["agregar compra", TITLE, "Ferretería Nueva"],
    S.CONTACT: _CONTACT,
    S.CONTACT_PICK: [*_CONTACT, "ana"],
    S.DATE: [*_CONTACT, "ok"],
    S.STATUS: [*_CONTACT, "ok", "hoy"],
    S.ITEM: _ITEM,
    S.ITEM_PICK: [*_ITEM, "gr"],
    S.QUANTITY: [*_ITEM, "grapadora"],
    S.PRICE: [*_ITEM, "grapadora", "10"],
    S.TAX: [*_ITEM, "grapadora", "10", "ok"],
    S.DISCOUNT: [*_ITEM, "grapadora", "10", "ok", "ok"],
    S.TERMS: _TERMS,
    S.DELIVERY: [*_TERMS, "Pago a 30 días"],
    S.BILLING: [*_TERMS, "Pago a 30 días", "ok"],
    S.REVIEW: [*_TERMS, "Pago a 30 días", "ok", "ok"],
}
STATES = list(PATHS)
OPTIONAL = {S.STATUS, S.TAX, S.DISCOUNT, S.TERMS, S.DELIVERY, S.BILLING}
# Where `ok` keeps a value the question offers (the path offers no title, vendor or terms yet).
OFFERED = {S.VENDOR_NEW, S.CONTACT, S.DATE, S.STATUS, S.PRICE, S.TAX, S.DELIVERY, S.BILLING}
# The step after `omitir` / `ok` where they are accepted.
AFTER: dict[str, str] = {
    S.VENDOR_NEW: S.CONTACT,
    S.CONTACT: S.DATE,
    S.DATE: S.STATUS,
    S.STATUS: S.ITEM,
    S.PRICE: S.TAX,
    S.TAX: S.DISCOUNT,
    S.DISCOUNT: S.ITEM,
    S.TERMS: S.DELIVERY,
    S.DELIVERY: S.BILLING,
    S.BILLING: S.REVIEW,
}
NO_DEFAULT = "Aquí no hay nada que aceptar con `ok`: escribe la respuesta."
NOT_OPTIONAL = "Este paso no se puede omitir: hace falta una respuesta."
NO_LINES = "Hace falta al menos una línea: escribe un producto o servicio."
NO_LINE_YET = "Aún no hay líneas que quitar."
OFFER_HELP = "¿Te ayudo? `ayuda` explica este paso con un ejemplo; `cancelar` lo deja."
ONLY_AT_REVIEW = (
    "`guardar` y `editar n` son para la revisión final; antes, contesta este paso (o `atras`)."
)


class Reached:
    """A dialog walked to one step: the question it asked and what it held after each answer."""

    def __init__(self, chat: Chat, store: Store, step: str) -> None:
        self.chat = chat
        self.store = store
        self.step = step
        self.questions: list[str] = []
        self.snapshots: list[tuple[str | None, dict[str, Any]]] = []

    async def walk(self, path: list[str]) -> None:
        for text in path:
            replies = await shown(self.chat, text)
            self.questions.append(replies[-1])
            self.snapshots.append(await self.now())
        assert await state(self.store) == self.step

    async def now(self) -> tuple[str | None, dict[str, Any]]:
        """The dialog's step and fields."""
        row = await session_row(self.store)
        assert row is not None
        return row.state, json.loads(row.data)["fields"]

    @property
    def question(self) -> str:
        """The question the step asked."""
        return self.questions[-1]

    async def refused(self, typed: str, line: str, *, counted: bool = True) -> None:
        """``typed`` gets ``line`` and the same question, and changes nothing.

        A refused answer (``counted``) is a miss: every third miss in a row offers the help.
        """
        row = await session_row(self.store)
        assert row is not None
        misses = int(json.loads(row.data).get("errors", 0)) + 1
        offer = [OFFER_HELP] if counted and misses % 3 == 0 else []
        assert await shown(self.chat, typed) == [line, *offer, self.question], typed
        assert await self.now() == self.snapshots[-1], typed

    async def moved(self, typed: str, step: str) -> None:
        """``typed`` is taken and leads to ``step``; ``atras`` then restores this step as it was."""
        await self.chat.say(typed)
        assert await state(self.store) == step, typed
        assert await shown(self.chat, "atras") == [self.question], typed
        assert await self.now() == self.snapshots[-1], typed


async def reach(chat: Chat, store: Store, step: str) -> Reached:
    await seed_world(store)
    reached = Reached(chat, store, step)
    await reached.walk(PATHS[step])
    return reached


def test_the_matrix_covers_every_step() -> None:
    assert set(PATHS) == {s.value for s in S}
    assert PurchaseFlow.optional == OPTIONAL
    assert PurchaseFlow.with_default >= OFFERED


@pytest.mark.parametrize("step", STATES)
async def test_every_control_at_every_step(store: Store, step: str) -> None:
    """ayuda, omitir, ok, listo, quitar, guardar, editar, atras and cancelar at ``step``."""
    async with Chat(store, clock=clock) as chat:
        at = await reach(chat, store, step)
        # ayuda: the step's help, with an example; nothing changes.
        help_text = as_shown(Renderer().render(f"purchase_{step}_help", {}, "es"))
        assert "p. ej." in help_text or "`" in help_text
        assert await shown(chat, "ayuda") == [help_text]
        assert await at.now() == at.snapshots[-1]
        # omitir: only optional steps.
        if step in OPTIONAL:
            await at.moved("omitir", AFTER[step])
        else:
            await at.refused("omitir", NOT_OPTIONAL)
        # ok: only where the question offers a value.
        if step in OFFERED:
            await at.moved("ok", AFTER[step])
        else:
            await at.refused("ok", NO_DEFAULT)
        # listo and quitar n: the item loop only (where no line exists yet on these paths).
        in_loop = step in (S.ITEM, S.ITEM_PICK)
        not_here = "`{}` no sirve en este paso: `listo` y `quitar n` son para las líneas."
        await at.refused("listo", NO_LINES if in_loop else not_here.format("listo"))
        await at.refused("quitar 1", NO_LINE_YET if in_loop else not_here.format("quitar 1"))
        # guardar and editar n: the review only.
        if step == S.REVIEW:
            assert (await shown(chat, "editar 1"))[0].startswith("*Título*")
            assert await state(store) == S.TITLE
            assert await shown(chat, "atras") == [at.question]
        else:
            await at.refused("guardar", ONLY_AT_REVIEW, counted=False)
            await at.refused("editar 1", ONLY_AT_REVIEW, counted=False)
        # atras: the previous step, with what it held then.
        if step == S.TITLE:
            await at.refused("atras", "Ya estás en el primer paso.", counted=False)
        else:
            assert await shown(chat, "atras") == [at.questions[-2]]
            assert await at.now() == at.snapshots[-2]
        # cancelar: nothing saved, the dialog gone; the next words are a command again.
        assert await shown(chat, "cancelar") == ["Cancelado: no se ha guardado nada."]
        assert await session_row(store) is None
        assert (await shown(chat, TITLE))[0].startswith("No conozco")
    assert await document_count(store) == 0


async def test_back_three_steps_then_answer_again(store: Store) -> None:
    async with Chat(store, clock=clock) as chat:
        reached = await reach(chat, store, S.REVIEW)
        for _ in range(3):
            await chat.say("atras")
        assert (await state(store), await fields(store)) == reached.snapshots[-4]
        assert await state(store) == S.TERMS
        await say_all(chat, ["Pago a 60 días", "2", "omitir"])
        assert await state(store) == S.REVIEW
        now = await fields(store)
        assert (now["terms"], now["delivery"], now["billing"]) == (
            "Pago a 60 días",
            "Polígono Sur 3, 28901 Getafe",
            "",
        )
        assert now["lines"] == reached.snapshots[-1][1]["lines"]


async def test_back_three_steps_inside_a_line(store: Store) -> None:
    async with Chat(store, clock=clock) as chat:
        await reach(chat, store, S.DISCOUNT)
        for _ in range(3):
            await chat.say("atras")
        assert await state(store) == S.QUANTITY
        added = await say_all(chat, ["4", "10", "2", "omitir"])
        assert added[0] == nb(
            "Línea añadida:\n"
            "   1) Grapadora (GRP-01)\n"
            "      4 × 10,00 € · IVA 10 %\n"
            "      neto 40,00 € · impuesto 4,00 € · total 44,00 €\n"
            "Total de la orden (1 línea): *44,00 €*\n"
            "   subtotal 40,00 € · dto. 0,00 € · impuestos 4,00 €"
        )


async def test_back_from_a_revisited_step_returns_to_the_review(store: Store) -> None:
    async with Chat(store, clock=clock) as chat:
        reached = await reach(chat, store, S.REVIEW)
        await chat.say("editar 1")
        assert await shown(chat, "atras") == [reached.question]
        assert (await state(store), await fields(store)) == reached.snapshots[-1]


# ------------------------------------------------------------------ omitir and ok


async def test_skipped_and_kept_values(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        await say_all(chat, [*HEADER[:-1], "omitir", "grapadora", "10", "ok", "omitir", "omitir"])
        assert (await fields(store))["status"] == "created"
        line = (await fields(store))["lines"][0]
        assert (Decimal(line["unit_price"]), line["tax_name"], line["discount_percent"]) == (
            Decimal("12.50"),
            None,
            None,
        )
        await say_all(chat, ["listo", "omitir", "omitir", "omitir"])
        kept = await fields(store)
        assert (kept["terms"], kept["delivery"], kept["billing"]) == ("", "", "")


@pytest.mark.parametrize("number", [1, 2, 7])
async def test_ok_keeps_what_a_revisited_step_offers(store: Store, number: int) -> None:
    async with Chat(store, clock=clock) as chat:
        reached = await reach(chat, store, S.REVIEW)
        asked = await shown(chat, f"editar {number}")
        assert "— `ok` para mantener" in asked[0]
        assert await shown(chat, "si") == [reached.question]
        assert (await state(store), await fields(store)) == reached.snapshots[-1]


# ------------------------------------------------------------------ listo and quitar


@pytest.mark.parametrize("where", ["item", "item_pick"])
async def test_done_and_remove_with_lines(store: Store, where: str) -> None:
    async with Chat(store, clock=clock) as chat:
        await seed_world(store)
        await say_all(chat, [*HEADER, *LINE_1, *LINE_2, *(["gr"] if where == "item_pick" else [])])
        removed = await shown(chat, "quitar 2")
        assert removed[0].startswith("Quitada la línea 2 (Archivador).")
        assert await state(store) == S.ITEM
        assert (await shown(chat, "listo"))[0].startswith("*Términos y condiciones*")
        assert [line["sku"] for line in (await fields(store))["lines"]] == ["GRP-01"]


# ------------------------------------------------------------------ guardar and editar


# editar n: the answers given at step n, and the review lines that change afterwards.
EDITS: list[tuple[int, list[str], list[str]]] = [
    (1, ["Material de oficina urgente"], ["1. Título: Material de oficina urgente"]),
    (2, ["papel", "1"], ["2. Proveedor: Papelería Luna"]),
    # Both addresses were Ana's (taken with ok): they follow the contact (Luis has none).
    (3, ["luis"], ["3. Contacto: Luis Pérez", "8. Entrega: —", "9. Facturación: —"]),
    (4, ["01/12/2026"], ["4. Fecha: 1 dic 2026"]),
    (5, ["enviada"], ["5. Estado: Enviada al proveedor"]),
    (6, [*LINE_2, "listo"], ["6. Líneas (3):"]),
    (7, ["Pago a 60 días"], ["7. Términos: Pago a 60 días"]),
    (8, ["2"], ["8. Entrega: Polígono Sur 3, 28901 Getafe"]),
    (9, ["omitir"], ["9. Facturación: —"]),
]


@pytest.mark.parametrize(("number", "answers", "shows"), EDITS, ids=[str(e[0]) for e in EDITS])
async def test_edit_revisits_a_step_and_comes_back(
    store: Store, number: int, answers: list[str], shows: list[str]
) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        before = (await say_all(chat, [*HEADER, *LINE_1, *LINE_2, *CLOSING]))[0]
        assert await state(store) == S.REVIEW
        await chat.say(f"editar {number}")
        assert await state(store) == PurchaseFlow.editable[number - 1]
        review = (await say_all(chat, answers))[-1]
        assert await state(store) == S.REVIEW
    changed = [line for line in review.split("\n") if line not in before.split("\n")]
    assert shows[0] in review.split("\n")
    if number == 6:
        # A third line: the totals are recomputed.
        assert nb("Total: *414,43 €*") in review
        assert nb("Subtotal: 342,50 €") in review
    else:
        assert changed == shows


async def test_edit_lines_then_remove_one_recomputes_the_totals(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        await say_all(chat, TO_REVIEW)
        review = await say_all(chat, ["editar 6", "quitar 1", "listo"])
    assert nb("Total: *139,15 €*") in review[0]
    assert "Grapadora" not in review[0]


@pytest.mark.parametrize("typed", ["editar", "editar 10", "editar 0"])
async def test_edit_needs_a_step_number(store: Store, typed: str) -> None:
    async with Chat(store, clock=clock) as chat:
        reached = await reach(chat, store, S.REVIEW)
        replies = await shown(chat, typed)
        assert await state(store) == S.REVIEW
    if typed == "editar 0":
        # "editar 0" is not a control (no step 0): it is an answer, and the review has none.
        assert replies == [
            "Estás en la revisión: `guardar`, `editar n` (1 a 9) o `cancelar`.",
            reached.question,
        ]
    else:
        assert replies == [
            "Escribe `editar` y un número del 1 al 9 (p. ej. `editar 6` para las líneas).",
            reached.question,
        ]


async def test_typing_at_the_review_says_what_it_takes(store: Store) -> None:
    async with Chat(store, clock=clock) as chat:
        reached = await reach(chat, store, S.REVIEW)
        assert await shown(chat, "vale") == [
            "Estás en la revisión: `guardar`, `editar n` (1 a 9) o `cancelar`.",
            reached.question,
        ]


# ------------------------------------------------------------------ the English words


@pytest.mark.parametrize(
    ("typed", "reply"),
    [
        ("cancel", "Cancelled: nothing was saved."),
        ("help", "The contact the purchase is for."),
        ("skip", "This step can't be skipped: it needs an answer."),
        ("done", "`done` does not work at this step: `done` and `remove n` are for the lines."),
        ("save", "`save` and `edit n` are for the final review; before that, answer this step"),
        ("yes", "*Date* (today: 11/28/2026 — `ok` to accept it)."),
        ("back", "*Vendor*: type its name or how it starts (e.g. pap)."),
    ],
)
async def test_english_control_words(store: Store, typed: str, reply: str) -> None:
    await seed_world(store)
    async with Chat(store, locale="en", clock=clock) as chat:
        await say_all(chat, ["add purchase", TITLE, "papeleria sol"])
        assert await state(store) == S.CONTACT
        replies = await shown(chat, typed)
    assert replies[0].startswith(reply)
