"""The support-case wizard ("Agregar caso", DOMAIN §4): states, transitions, steps and save."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from sqlalchemy import func, select
from sqlalchemy.exc import DataError, IntegrityError

from bot.chat import Param
from dialogs.closing import SaveProblem
from dialogs.contact_steps import ContactSteps
from dialogs.flow import WizardSpec, back_to_review, step
from dialogs.io import Control, Saved
from dialogs.parsing import AnswerError, parse_choice, parse_text
from store.models import Case
from store.services.documents import CaseDraft, create_case
from store.text import fold
from store.vocab import CASE_PRIORITY, CASE_SEVERITY, CASE_STATUS, Labels, label

MAX_TITLE = 255
MAX_DESCRIPTION = 4000
MAX_CATEGORY = 60  # the column's width
MAX_CATEGORIES = 8  # how many categories are offered
# Offered until cases carry categories of their own (the demo data's set).
STARTER_CATEGORIES = {
    "es": ("Hardware", "Software", "Red", "Facturación", "Entrega", "Garantía"),
    "en": ("Hardware", "Software", "Network", "Billing", "Delivery", "Warranty"),
}


class S(StrEnum):
    """The case wizard's steps (persisted: rename only with an alias)."""

    TITLE = "title"
    CONTACT = "contact"
    CONTACT_PICK = "contact_pick"
    DESCRIPTION = "description"
    PRIORITY = "priority"
    SEVERITY = "severity"
    CATEGORY = "category"
    REVIEW = "review"


TRANSITIONS: list[dict[str, object]] = [
    # Coming back from ``editar n``: listed first, so they win over the forward steps.
    *back_to_review([S.TITLE, S.DESCRIPTION, S.PRIORITY, S.SEVERITY, S.CATEGORY], S.REVIEW),
    *(step(s, S.REVIEW, "returning", "route_one") for s in (S.CONTACT, S.CONTACT_PICK)),
    # The contact is asked only in a room not linked to one.
    step(S.TITLE, S.CONTACT, "contact_missing"),
    step(S.TITLE, S.DESCRIPTION),
    step(S.CONTACT, S.DESCRIPTION, "route_one"),
    step(S.CONTACT, S.CONTACT_PICK, "route_several"),
    step(S.CONTACT_PICK, S.DESCRIPTION, "route_one"),
    step(S.CONTACT_PICK, S.CONTACT_PICK, "route_several"),
    step(S.DESCRIPTION, S.PRIORITY),
    step(S.PRIORITY, S.SEVERITY),
    step(S.SEVERITY, S.CATEGORY),
    step(S.CATEGORY, S.REVIEW),
]


def _code(text: str, labels: Labels, locale: str) -> str:
    """The code meant by a list number, a label in either language, or the code itself."""
    codes = list(labels)
    other = "es" if locale == "en" else "en"
    for names in (
        [label(labels, code, locale) for code in codes],
        codes,
        [label(labels, code, other) for code in codes],
    ):
        index = parse_choice(text, names)
        if index is not None:
            return codes[index]
    raise AnswerError("bad_choice", {"max": len(codes)})


class CaseFlow(ContactSteps):
    """One case dialog during one message."""

    wizard: ClassVar[str] = "case"
    states: ClassVar[type[StrEnum]] = S
    transitions: ClassVar[list[dict[str, object]]] = TRANSITIONS
    initial: ClassVar[str] = S.TITLE
    review: ClassVar[str] = S.REVIEW
    editable: ClassVar[tuple[str, ...]] = (
        S.TITLE, S.CONTACT, S.DESCRIPTION, S.PRIORITY, S.SEVERITY, S.CATEGORY,
    )  # fmt: skip
    optional: ClassVar[frozenset[str]] = frozenset({S.PRIORITY, S.SEVERITY, S.CATEGORY})
    with_default: ClassVar[frozenset[str]] = frozenset(
        {S.TITLE, S.CONTACT, S.DESCRIPTION, S.PRIORITY, S.SEVERITY, S.CATEGORY}
    )

    def contact_missing(self, _event: object) -> bool:
        """No contact yet (the room is not linked): the contact step comes next."""
        return not self.fields.get("contact")

    def _keep(self, name: str) -> None:
        """``ok``: keep the value already entered (when editing), else say there is none."""
        if not self.fields.get(name):
            raise AnswerError("no_default", {})

    # --- título y descripción ---------------------------------------------------------
    async def ask_title(self) -> None:
        self.io.say("case_title", current=self.fields.get("title"))

    async def take_title(self) -> None:
        if self.control is Control.OK:
            self._keep("title")
        else:
            self.fields["title"] = parse_text(self.io.text, max_len=MAX_TITLE)
        self.accept()

    async def ask_description(self) -> None:
        self.io.say("case_description", current=self.fields.get("description"))

    async def take_description(self) -> None:
        if self.control is Control.OK:
            self._keep("description")
        else:
            text = parse_text(self.io.text, max_len=MAX_DESCRIPTION, multiline=True)
            self.fields["description"] = text
        self.accept()

    # --- prioridad y gravedad -----------------------------------------------------------
    def _options(self, labels: Labels) -> list[Param]:
        return [label(labels, code, self.io.locale) for code in labels]

    def _current(self, labels: Labels, name: str, default: str) -> str:
        return label(labels, self.fields.get(name, default), self.io.locale)

    async def ask_priority(self) -> None:
        current = self._current(CASE_PRIORITY, "priority", "normal")
        self.io.say("case_priority", options=self._options(CASE_PRIORITY), current=current)

    async def take_priority(self) -> None:
        self._choose("priority", CASE_PRIORITY, "normal")

    async def ask_severity(self) -> None:
        current = self._current(CASE_SEVERITY, "severity", "minor")
        self.io.say("case_severity", options=self._options(CASE_SEVERITY), current=current)

    async def take_severity(self) -> None:
        self._choose("severity", CASE_SEVERITY, "minor")

    def _choose(self, name: str, labels: Labels, default: str) -> None:
        if self.control is Control.OK:
            self.fields.setdefault(name, default)  # the value shown: kept when editing
        elif self.control is Control.SKIP:
            self.fields[name] = default
        else:
            self.fields[name] = _code(self.io.text, labels, self.io.locale)
        self.accept()

    # --- categoría ------------------------------------------------------------------------
    async def _categories(self) -> list[str]:
        """The categories cases already use, most used first; a starter set before any."""
        rows = await self.io.session.execute(
            select(Case.category)
            .where(Case.category != "")
            .group_by(Case.category)
            .order_by(func.count().desc(), Case.category)
            .limit(MAX_CATEGORIES)
        )
        used = [category for (category,) in rows]
        return used or list(STARTER_CATEGORIES["en" if self.io.locale == "en" else "es"])

    async def ask_category(self) -> None:
        options: list[Param] = [*await self._categories()]
        self.io.say("case_category", options=options, current=self.fields.get("category") or None)

    async def take_category(self) -> None:
        if self.control is Control.OK:
            self._keep("category")
        elif self.control is Control.SKIP:
            self.fields["category"] = ""
        else:
            self.fields["category"] = await self._category(self.io.text)
        self.accept()

    async def _category(self, text: str) -> str:
        options = await self._categories()
        typed = parse_text(text, max_len=MAX_CATEGORY)
        if typed.isdigit():
            index = parse_choice(typed, options)
            if index is None:
                raise AnswerError("bad_choice", {"max": len(options)})
            return options[index]
        # A listed category typed in any case or accents is that one, spelt as listed.
        same = [option for option in options if fold(option) == fold(typed)]
        return same[0] if same else typed

    # --- review and save ----------------------------------------------------------------
    def review_params(self) -> dict[str, Param]:
        """Everything the review shows."""
        return {
            "title": self.fields.get("title", ""),
            "contact": self.contact_name or "",
            "description": self.fields.get("description", ""),
            "priority": self._current(CASE_PRIORITY, "priority", "normal"),
            "severity": self._current(CASE_SEVERITY, "severity", "minor"),
            "category": self.fields.get("category", ""),
            "status": label(CASE_STATUS, "open", self.io.locale),
        }

    async def ask_review(self) -> None:
        self.io.say("case_review", **self.review_params())

    async def take_review(self) -> None:
        raise AnswerError("review_hint", {"max": len(self.editable)})

    def draft(self) -> CaseDraft:
        """The case to open from the collected fields."""
        return CaseDraft(
            contact_id=int(self.fields["contact"]["id"]),
            title=self.fields["title"],
            description=self.fields.get("description", ""),
            priority=self.fields.get("priority", "normal"),
            severity=self.fields.get("severity", "minor"),
            category=self.fields.get("category", ""),
            status="open",
            created_by=self.io.incoming.user.username,
            idempotency_key=self.idempotency_key(),
        )

    async def save(self) -> bool:
        """Open the case; on any failure stay at the review with the data intact."""
        problem = await self.contact_problem()
        if problem is None:
            try:
                async with self.io.session.begin_nested():
                    case, _ = await create_case(self.io.session, self.draft())
            except (DataError, ValueError) as error:
                problem = SaveProblem("invalid", detail=str(getattr(error, "orig", error)))
            except IntegrityError as error:
                # The contact vanished between the check and the insert.
                problem = SaveProblem("conflict", detail=str(error.orig))
        if problem is not None:
            self.io.say(
                "dialog_save_failed",
                reason=problem.reason,
                name=problem.name,
                detail=problem.detail,
                step=problem.step,
            )
            await self.ask(None)
            return False
        self.io.saved.append(Saved("case", case.id, case.number, case.contact_id))
        return True


CASE = WizardSpec(name="case", flow=CaseFlow, action="create_case")
