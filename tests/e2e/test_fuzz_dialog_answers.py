"""Fuzzing every step of every wizard (purchase order, quote, case) with arbitrary answers,
through the whole chat path (tests/chat.py), on SQLite and PostgreSQL (CONTRACT §4).

Each step is reached once by a scripted path (as the control matrix does) and its dialog row
kept; every example then puts each step back exactly as it was and types one answer there.
The invariants: the bot answers, never with the internal-error reply; the dialog is gone
(cancelled or saved) or at a step the wizard can reach from there; what it holds is still
computable; and every saved record is whole (a document has lines and its totals are the
sums of its lines, a case has its fields).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from bot.bootstrap import Store
from bot.inbox import Outcome
from dialogs.case import TRANSITIONS as CASE_TRANSITIONS
from dialogs.case import CaseFlow
from dialogs.case import S as CaseStep
from dialogs.flow import Flow
from dialogs.lines import line_input
from dialogs.purchase import TRANSITIONS as PURCHASE_TRANSITIONS
from dialogs.purchase import PurchaseFlow
from dialogs.purchase import S as PurchaseStep
from dialogs.quote import TRANSITIONS as QUOTE_TRANSITIONS
from dialogs.quote import QuoteFlow
from dialogs.quote import S as QuoteStep
from store import models as m
from store.money import compute_line
from store.services.catalogue import ItemData, upsert_item
from tests.chat import Chat
from tests.e2e import test_case_wizard, test_quote_wizard
from tests.e2e.test_dialog_controls import PATHS as PURCHASE_PATHS
from tests.e2e.test_fuzz_webhook import big_text, edge_chars, fuzz_text, scaled
from tests.e2e.test_purchase_wizard import seed_world

NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
USER = "ana"
Row = dict[str, Any]


def clock() -> dt.datetime:
    return NOW


async def seed_quote(store: Store) -> None:
    """The quote transcripts' world, plus a second `PORT-` item so `port` lists two."""
    await test_quote_wizard.seed(store)
    async with store.sessions.begin() as s:
        await upsert_item(
            s, m.Product, ItemData("PORT-15", "Portátil 15", Decimal(900), Decimal(21))
        )


async def seed_case(store: Store) -> None:
    await test_case_wizard.seed(store)


_Q = ["agregar cotizacion", "Renovación"]
_Q_ITEM = [*_Q, "ok", "ok", "ok"]
_Q_LINE = [*_Q_ITEM, "SRV-INST", "3", "ok", "ok"]
_Q_TERMS = [*_Q_LINE, "5", "listo"]
QUOTE_PATHS: dict[str, list[str]] = {
    QuoteStep.TITLE: _Q[:1],
    QuoteStep.CONTACT: _Q,
    QuoteStep.CONTACT_PICK: [*_Q, "ana"],
    QuoteStep.VALID_UNTIL: [*_Q, "ok"],
    QuoteStep.STAGE: [*_Q, "ok", "ok"],
    QuoteStep.ITEM: _Q_ITEM,
    QuoteStep.ITEM_PICK: [*_Q_ITEM, "port"],
    QuoteStep.QUANTITY: [*_Q_ITEM, "SRV-INST"],
    QuoteStep.PRICE: _Q_LINE[:-2],
    QuoteStep.TAX: _Q_LINE[:-1],
    QuoteStep.DISCOUNT: _Q_LINE,
    QuoteStep.TERMS: _Q_TERMS,
    QuoteStep.DELIVERY: [*_Q_TERMS, "Pago a 30 días"],
    QuoteStep.BILLING: [*_Q_TERMS, "Pago a 30 días", "ok"],
    QuoteStep.REVIEW: [*_Q_TERMS, "Pago a 30 días", "ok", "ok"],
}
# The case wizard asks the contact only in a room not linked to one: walked in such a room.
_C = ["agregar caso", "La VPN se cae"]
_C_DESC = [*_C, "bruno"]
CASE_PATHS: dict[str, list[str]] = {
    CaseStep.TITLE: _C[:1],
    CaseStep.CONTACT: _C,
    CaseStep.CONTACT_PICK: [*_C, "ana"],
    CaseStep.DESCRIPTION: _C_DESC,
    CaseStep.PRIORITY: [*_C_DESC, "No conecta desde casa"],
    CaseStep.SEVERITY: [*_C_DESC, "No conecta desde casa", "alta"],
    CaseStep.CATEGORY: [*_C_DESC, "No conecta desde casa", "alta", "4"],
    CaseStep.REVIEW: [*_C_DESC, "No conecta desde casa", "alta", "4", "red"],
}


@dataclass(frozen=True)
class Wizard:
    flow: type[Flow]
    transitions: list[dict[str, object]]
    paths: dict[str, list[str]]
    seed: Callable[[Store], Awaitable[object]]
    room: str

    @property
    def states(self) -> type[StrEnum]:
        return self.flow.states

    def next_steps(self, step: str) -> set[str]:
        """Where an accepted answer at ``step`` may lead, by the wizard's transitions."""
        found = {str(t["dest"]) for t in self.transitions if t["source"] == step and t["dest"]}
        if step == self.flow.review:  # `editar n` jumps to any editable step
            found |= {str(state) for state in self.flow.editable}
        return found


WIZARDS = {
    "purchase": Wizard(PurchaseFlow, PURCHASE_TRANSITIONS, PURCHASE_PATHS, seed_world, "room-1"),
    "quote": Wizard(QuoteFlow, QUOTE_TRANSITIONS, QUOTE_PATHS, seed_quote, "room-1"),
    "case": Wizard(CaseFlow, CASE_TRANSITIONS, CASE_PATHS, seed_case, "room-5"),
}


def test_every_step_of_every_wizard_has_a_path() -> None:
    for name, wizard in WIZARDS.items():
        assert wizard.flow.wizard == name  # the name a session row stores
        assert set(wizard.paths) == {state.value for state in wizard.states}


# --- reaching each step once, and putting it back -----------------------------------------

_COLUMNS = ("room_id", "user_id", "thread_id", "wizard", "state", "data", "version",
            "created_at", "updated_at")  # fmt: skip


class Steps:
    """A chat over one wizard; ``at(step)`` reaches a step once, then puts it back each time."""

    def __init__(self, chat: Chat, store: Store, wizard: Wizard) -> None:
        self.chat = chat
        self.store = store
        self.wizard = wizard
        self._rows: dict[tuple[str, ...], Row | None] = {(): None}

    async def at(self, step: str) -> Row:
        """Put ``step`` back as it was first reached (walking its path the first time)."""
        path = self.wizard.paths[step]
        if tuple(path) not in self._rows:
            await self._walk(path)
        row = self._rows[tuple(path)]
        assert row is not None
        assert row["state"] == step, (step, path, row["state"])
        await self._restore(row)
        return row

    async def _walk(self, path: list[str]) -> None:
        """Walk ``path`` from the longest prefix already walked, keeping each row on the way."""
        done = max((k for k in self._rows if tuple(path[: len(k)]) == k), key=len)
        await self._restore(self._rows[done])
        for count in range(len(done), len(path)):
            await self.chat.say(path[count], user=USER, room=self.wizard.room)
            self._rows[tuple(path[: count + 1])] = await self.row()

    async def row(self) -> Row | None:
        async with self.store.sessions() as s:
            rows = list(await s.scalars(select(m.DialogSession)))
        assert len(rows) <= 1, rows
        return {name: getattr(rows[0], name) for name in _COLUMNS} if rows else None

    async def _restore(self, row: Row | None) -> None:
        async with self.store.sessions.begin() as s:
            await s.execute(delete(m.DialogSession))
            if row is not None:
                s.add(m.DialogSession(**row))


@pytest.fixture(params=list(WIZARDS))
async def steps(request: pytest.FixtureRequest, store: Store) -> AsyncIterator[Steps]:
    wizard = WIZARDS[request.param]
    await wizard.seed(store)
    async with Chat(store, clock=clock) as chat:
        yield Steps(chat, store, wizard)


# --- answers -------------------------------------------------------------------------------

CONTROLS = [
    "ok", "OK", "si", "sí", "yes", "cancelar", "Cancel", "atras", "atrás", "back", "ayuda",
    "help", "omitir", "skip", "listo", "done", "guardar", "save", "editar", "edit 3",
    "quitar", "remove 1", "agregar compra", "agregar caso", "add quote", "buscar ana", "ver 1",
]  # fmt: skip
NUMBERISH = [
    "0", "-0", "-1", "1e999", "1E-999", "NaN", "Infinity", "inf", "0x10", "1_000", "٣",
    "1.234,56", "1,234.56", "1,5", "12.50 €", "€12.50", "10%", "-5%", "150%", "100 %",
    "99999999999999999999999", "0.0000001", "1/2", "½", "IVA", "exento", "21 %", "3 4",
    "hoy", "mañana", "ayer", "31/02/2026", "29/02/2027", "2026-13-01", "0/0/0", "01/01/0001",
    "9999-12-31", "12/31/2026", "1 dic 2026", "next friday", "²", "①", "7" * 5000,
]  # fmt: skip


answers = st.one_of(
    st.sampled_from(CONTROLS),
    st.sampled_from(NUMBERISH),
    st.integers(-10, 12).map(lambda n: f"{numbered_word(n)} {n}"),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
    fuzz_text(),
    big_text(2_000, 20_000),
    st.tuples(st.sampled_from(CONTROLS + NUMBERISH), edge_chars).map("".join),
)


def numbered_word(n: int) -> str:
    """`editar`/`quitar` and their English words, by number, for `<word> <n>`."""
    return ("editar", "quitar", "edit", "remove")[abs(n) % 4]


# --- what must hold after any answer ------------------------------------------------------


def assert_whole_dialog(wizard: Wizard, was: Row, now: Row) -> None:
    """The dialog is at a step it can reach from where it was, holding computable values."""
    step = str(was["state"])
    history = json.loads(was["data"]).get("history") or [{}]
    reachable = {step, *wizard.next_steps(step), history[-1].get("state")}
    assert now["state"] in reachable, (step, now["state"])
    data = json.loads(now["data"])
    assert isinstance(data.get("fields"), dict)
    for line in data["fields"].get("lines", []):
        compute_line(line_input(line))  # raises on a line the money rules refuse


async def assert_whole_records(store: Store) -> None:
    """Every document has lines and totals that are their sums; every case is complete."""
    async with store.sessions() as s:
        documents = list(await s.scalars(select(m.Document)))
        for document in documents:
            lines: Sequence[m.DocumentLine] = list(
                await s.scalars(
                    select(m.DocumentLine).where(m.DocumentLine.document_id == document.id)
                )
            )
            assert lines, document.number
            for line in lines:
                assert line.net == line.gross - line.discount, document.number
                assert line.total == line.net + line.tax, document.number
            assert document.subtotal == sum((line.net for line in lines), Decimal(0))
            assert document.discount_total == sum((line.discount for line in lines), Decimal(0))
            assert document.tax_total == sum((line.tax for line in lines), Decimal(0))
            assert document.total == document.subtotal + document.tax_total
            assert document.title.strip()
        for case in await s.scalars(select(m.Case)):
            assert case.title.strip(), case.number
            assert case.status, case.number
            assert case.priority, case.number


async def record_count(store: Store) -> int:
    """Documents and cases, in one query."""
    documents = select(func.count()).select_from(m.Document).scalar_subquery()
    cases = select(func.count()).select_from(m.Case).scalar_subquery()
    async with store.sessions() as s:
        return int(await s.scalar(select(documents + cases)) or 0)


def assert_answered_clearly(chat: Chat, replies: list[str], answer: str, step: str = "") -> None:
    """A reply came, and the message did not fail (which answers with the internal error)."""
    assert replies, (step, answer)
    assert chat.last_outcome is Outcome.HANDLED, (step, answer, chat.last_outcome)


# The answers are read the same way on both databases: the sweep of every step runs on
# SQLite, the runs of answers below on both.
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
@given(answer=answers)
@scaled(0.25)
async def test_any_answer_at_any_step(steps: Steps, answer: str) -> None:
    wizard = steps.wizard
    for step in wizard.paths:
        was = await steps.at(step)
        records = await record_count(steps.store)
        replies = await steps.chat.say(answer, user=USER, room=wizard.room)
        assert_answered_clearly(steps.chat, replies, answer, step)
        now = await steps.row()
        made = await record_count(steps.store) - records
        if now is None:  # cancelled, or saved from the review
            assert made == 0 or (made == 1 and step == wizard.flow.review), (step, answer)
        else:
            assert made == 0, (step, answer)
            assert_whole_dialog(wizard, was, now)
        if made:
            await assert_whole_records(steps.store)


@given(start=st.integers(0, 99), answers=st.lists(answers, min_size=2, max_size=6))
@scaled(0.3)
async def test_a_run_of_answers_leaves_nothing_half_written(
    steps: Steps, start: int, answers: list[str]
) -> None:
    """Several answers in a row from any step: whatever happens, records stay whole."""
    wizard = steps.wizard
    await steps.at(list(wizard.paths)[start % len(wizard.paths)])
    for answer in answers:
        was = await steps.row()
        replies = await steps.chat.say(answer, user=USER, room=wizard.room)
        assert_answered_clearly(steps.chat, replies, answer)
        now = await steps.row()
        # Once cancelled, the next words may open another wizard, judged by its own steps.
        if was is not None and now is not None and now["wizard"] == was["wizard"]:
            assert_whole_dialog(WIZARDS[str(now["wizard"])], was, now)
    await assert_whole_records(steps.store)


# --- found by fuzzing ---------------------------------------------------------------------


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
@pytest.mark.parametrize("steps", ["purchase"], indirect=True)
async def test_a_digit_that_is_no_number_at_the_address_steps(steps: Steps) -> None:
    outcomes = []
    for step in (PurchaseStep.DELIVERY, PurchaseStep.BILLING):
        for answer in ("²", "①", "7" * 5000):
            await steps.at(step)
            await steps.chat.say(answer, user=USER, room=steps.wizard.room)
            outcomes.append(steps.chat.last_outcome)
    assert outcomes == [Outcome.HANDLED] * 6, outcomes
