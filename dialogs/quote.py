"""The quote wizard ("Agregar cotización", DOMAIN §4): states, transitions, header steps."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from bot.chat import Param
from dialogs.closing import ClosingFlow, SaveProblem
from dialogs.contact_steps import ContactSteps
from dialogs.flow import TRIGGER_ANSWER, WizardSpec, back_to_review, step
from dialogs.io import Control
from dialogs.parsing import AnswerError, parse_choice, parse_date, parse_text
from store.services.documents import DocumentDraft
from store.vocab import QUOTE_STATUS, DocumentKind, label

MAX_TITLE = 255
VALID_DAYS = 30  # the validity offered by default
STAGES = tuple(QUOTE_STATUS)


class S(StrEnum):
    """The quote wizard's steps (persisted: rename only with an alias)."""

    TITLE = "title"
    CONTACT = "contact"
    CONTACT_PICK = "contact_pick"
    VALID_UNTIL = "valid_until"
    STAGE = "stage"
    ITEM = "item"
    ITEM_PICK = "item_pick"
    QUANTITY = "quantity"
    PRICE = "price"
    TAX = "tax"
    DISCOUNT = "discount"
    TERMS = "terms"
    DELIVERY = "delivery"
    BILLING = "billing"
    REVIEW = "review"


TRANSITIONS: list[dict[str, object]] = [
    # Coming back from ``editar n``: listed first, so they win over the forward steps.
    *back_to_review([S.TITLE, S.VALID_UNTIL, S.STAGE, S.TERMS, S.DELIVERY, S.BILLING], S.REVIEW),
    *(step(s, S.REVIEW, "returning", "route_one") for s in (S.CONTACT, S.CONTACT_PICK)),
    *(step(s, S.REVIEW, "returning", "route_done") for s in (S.ITEM, S.ITEM_PICK)),
    step(S.TITLE, S.CONTACT),
    step(S.CONTACT, S.VALID_UNTIL, "route_one"),
    step(S.CONTACT, S.CONTACT_PICK, "route_several"),
    step(S.CONTACT_PICK, S.VALID_UNTIL, "route_one"),
    step(S.CONTACT_PICK, S.CONTACT_PICK, "route_several"),
    step(S.VALID_UNTIL, S.STAGE),
    step(S.STAGE, S.ITEM),
    # The line-item loop, as in the purchase order.
    step(S.ITEM, S.QUANTITY, "route_one"),
    step(S.ITEM, S.ITEM_PICK, "route_several"),
    step(S.ITEM, S.TERMS, "route_done"),
    {"trigger": TRIGGER_ANSWER, "source": str(S.ITEM), "dest": None,
     "conditions": ["accepted", "route_stay"]},
    step(S.ITEM_PICK, S.QUANTITY, "route_one"),
    step(S.ITEM_PICK, S.ITEM_PICK, "route_several"),
    step(S.ITEM_PICK, S.TERMS, "route_done"),
    step(S.ITEM_PICK, S.ITEM, "route_stay"),
    step(S.QUANTITY, S.PRICE),
    step(S.PRICE, S.TAX),
    step(S.TAX, S.DISCOUNT),
    step(S.DISCOUNT, S.ITEM),
    step(S.TERMS, S.DELIVERY),
    step(S.DELIVERY, S.BILLING),
    step(S.BILLING, S.REVIEW),
]  # fmt: skip


class QuoteFlow(ContactSteps, ClosingFlow):
    """One quote dialog during one message."""

    wizard: ClassVar[str] = "quote"
    kind: ClassVar[DocumentKind] = DocumentKind.QUOTE
    states: ClassVar[type[StrEnum]] = S
    transitions: ClassVar[list[dict[str, object]]] = TRANSITIONS
    initial: ClassVar[str] = S.TITLE
    review: ClassVar[str] = S.REVIEW
    editable: ClassVar[tuple[str, ...]] = (
        S.TITLE, S.CONTACT, S.VALID_UNTIL, S.STAGE, S.ITEM, S.TERMS, S.DELIVERY, S.BILLING,
    )  # fmt: skip
    optional: ClassVar[frozenset[str]] = frozenset(
        {S.STAGE, S.TAX, S.DISCOUNT, S.TERMS, S.DELIVERY, S.BILLING}
    )
    with_default: ClassVar[frozenset[str]] = frozenset(
        {S.TITLE, S.CONTACT, S.VALID_UNTIL, S.STAGE, S.PRICE, S.TAX, S.TERMS, S.DELIVERY,
         S.BILLING}
    )  # fmt: skip
    line_states: ClassVar[frozenset[str]] = frozenset({S.ITEM, S.ITEM_PICK})

    # --- título -----------------------------------------------------------------------
    async def ask_title(self) -> None:
        self.io.say("quote_title", current=self.fields.get("title"))

    async def take_title(self) -> None:
        if self.control is Control.OK:
            if not self.fields.get("title"):
                raise AnswerError("no_default", {})
        else:
            self.fields["title"] = parse_text(self.io.text, max_len=MAX_TITLE)
        self.accept()

    # --- válida hasta -----------------------------------------------------------------
    def _valid_default(self) -> dt.date:
        # When editing from the review, the date already chosen is what ``ok`` keeps,
        # unless the dialog outlived it.
        chosen = self.date_field("valid_until")
        if chosen is not None and chosen >= self.io.today:
            return chosen
        return self.io.today + dt.timedelta(days=VALID_DAYS)

    async def ask_valid_until(self) -> None:
        default = self._valid_default()
        days = (default - self.io.today).days
        self.io.say("quote_valid_until", default=default, days=days)

    async def take_valid_until(self) -> None:
        if self.control is Control.OK:
            chosen = self._valid_default()
        else:
            chosen = parse_date(self.io.text, self.io.locale, self.io.today)
            if chosen < self.io.today:
                raise AnswerError("quote_past_date", {"typed": self.io.text.strip()[:40]})
        self.fields["valid_until"] = chosen.isoformat()
        self.accept()

    # --- etapa ------------------------------------------------------------------------
    def _stage_labels(self) -> list[str]:
        return [label(QUOTE_STATUS, code, self.io.locale) for code in STAGES]

    async def ask_stage(self) -> None:
        options: list[Param] = [*self._stage_labels()]
        current = label(QUOTE_STATUS, self.fields.get("status", "created"), self.io.locale)
        self.io.say("quote_stage", options=options, current=current)

    async def take_stage(self) -> None:
        if self.control is Control.OK:
            self.fields.setdefault("status", "created")
        elif self.control is Control.SKIP:
            self.fields["status"] = "created"
        else:
            index = parse_choice(self.io.text, self._stage_labels())
            if index is None:
                index = parse_choice(self.io.text, list(STAGES))
            if index is None:
                raise AnswerError("bad_choice", {"max": len(STAGES)})
            self.fields["status"] = STAGES[index]
        self.accept()

    # --- review -------------------------------------------------------------------------
    def header_params(self) -> dict[str, Param]:
        return {
            "title": self.fields.get("title", ""),
            "contact": self.contact_name or "",
            "date": self.io.today,
            "valid_until": self.date_field("valid_until"),
            "status": label(QUOTE_STATUS, self.fields.get("status", "created"), self.io.locale),
        }

    async def save_problem(self) -> SaveProblem | None:
        return await self.contact_problem()

    def draft(self) -> DocumentDraft:
        return DocumentDraft(
            kind=DocumentKind.QUOTE,
            contact_id=int(self.fields["contact"]["id"]),
            title=self.fields["title"],
            date=self.io.today,
            lines=self.line_drafts(),
            status=self.fields.get("status", "created"),
            vendor_id=None,
            valid_until=self.date_field("valid_until"),
            terms=self.fields.get("terms", ""),
            delivery_address=self.fields.get("delivery", ""),
            billing_address=self.fields.get("billing", ""),
            currency=self.io.currency,
            created_by=self.io.incoming.user.username,
            idempotency_key=self.idempotency_key(),
        )


QUOTE = WizardSpec(name="quote", flow=QuoteFlow, action="create_quote")
