"""The closing steps of an inventory document: terms, addresses, the review and the save."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.chat import Param
from dialogs.io import Control, Saved
from dialogs.lines import MAX_ADDRESS, MAX_TERMS, LineItemsFlow, line_input, optional_decimal
from dialogs.parsing import AnswerError, parse_text
from store.money import MoneyError, compute_line
from store.services.addresses import (
    ContactAddress,
    address_line,
    company_address,
    contact_addresses,
)
from store.services.documents import DocumentDraft, DocumentError, LineDraft, create_document


@dataclass(frozen=True, slots=True)
class SaveProblem:
    """Why a save could not happen: a reason code, the record named, the step that fixes it."""

    reason: str  # vendor_gone, contact_gone, invalid, conflict
    name: str = ""
    detail: str = ""
    step: int | None = None  # the ``editar n`` that fixes it


class ClosingFlow(LineItemsFlow):
    """Terms, delivery and billing addresses, review and save; the header is the subclass's."""

    async def ask_terms(self) -> None:
        self.io.say("closing_terms", current=self.fields.get("terms") or None)

    async def take_terms(self) -> None:
        if self.control is Control.SKIP:
            self.fields["terms"] = ""
        elif self.control is Control.OK:
            if not self.fields.get("terms"):
                raise AnswerError("no_default", {})
        else:
            self.fields["terms"] = parse_text(self.io.text, max_len=MAX_TERMS, multiline=True)
        self.accept()

    async def _addresses(self, contact_id: int) -> list[ContactAddress]:
        """The contact's addresses, read once per message: a step asks for its default and
        its options, then the next step's question does the same (six reads became three)."""
        memo: dict[int, list[ContactAddress]] = self.__dict__.setdefault("_address_memo", {})
        if contact_id not in memo:
            memo[contact_id] = await contact_addresses(self.io.session, contact_id)
        return memo[contact_id]

    async def _address_options(self) -> list[str]:
        contact = self.fields.get("contact") or {}
        if not contact.get("id"):
            return []
        return [address_line(a) for a in await self._addresses(contact["id"])]

    async def _default_delivery(self) -> str:
        options = await self._address_options()
        return options[0] if options else ""

    async def _default_billing(self) -> str:
        contact = self.fields.get("contact") or {}
        if contact.get("id"):
            for address in await self._addresses(contact["id"]):
                if address.is_fiscal:
                    return address_line(address)
        return await company_address(self.io.session)

    async def ask_delivery(self) -> None:
        default = await self._default_delivery()
        options = await self._address_options()
        self.io.say("closing_delivery", default=default or None, options=options)  # type: ignore[arg-type]

    async def take_delivery(self) -> None:
        await self._take_address("delivery", await self._default_delivery())
        self.accept()

    async def ask_billing(self) -> None:
        default = await self._default_billing()
        options = await self._address_options()
        self.io.say("closing_billing", default=default or None, options=options)  # type: ignore[arg-type]

    async def take_billing(self) -> None:
        await self._take_address("billing", await self._default_billing())
        self.accept()

    async def _take_address(self, name: str, default: str) -> None:
        """Keep the answer, and whether it came from the contact (``ok`` or a number).

        Only the ones that came from the contact follow it when the contact is changed; a
        typed address, or an address left empty with ``omitir``, is the user's own choice.
        """
        self.fields[name], from_contact = await self._address_answer(default)
        followed: list[str] = [n for n in self.data.get("contact_addresses", []) if n != name]
        if from_contact:
            followed.append(name)
        self.data["contact_addresses"] = followed

    async def contact_changed(self) -> None:
        """Addresses taken from the old contact become the new contact's defaults."""
        followed: list[str] = self.data.get("contact_addresses", [])
        defaults = {"delivery": self._default_delivery, "billing": self._default_billing}
        changed: list[Param] = []
        for name in followed:
            value = await defaults[name]()
            if self.fields.get(name) != value:
                self.fields[name] = value
                changed.append(name)
        if changed:
            self.io.say("closing_addresses_followed", names=changed)

    async def _address_answer(self, default: str) -> tuple[str, bool]:
        """The address answered, and whether it is one of the contact's (or the default)."""
        if self.control is Control.OK:
            if not default:
                raise AnswerError("no_default", {})
            return default, True
        if self.control is Control.SKIP:
            return "", False
        text = self.io.text.strip()
        options = await self._address_options()
        if text.isascii() and text.isdigit() and len(text) <= 9:  # not "²", nor 5,000 digits
            number = int(text)
            if not 1 <= number <= len(options):
                raise AnswerError("bad_address_number", {"max": len(options)})
            return options[number - 1], True
        return parse_text(text, max_len=MAX_ADDRESS), False

    # --- review and save ----------------------------------------------------------------
    def review_params(self) -> dict[str, Param]:
        """Everything the review shows, with every line's amounts and the totals."""
        lines: list[Param] = []
        for number, line in enumerate(self.lines, 1):
            amounts = compute_line(line_input(line))
            lines.append(
                {
                    "number": number,
                    "item": line["item_name"],
                    "sku": line.get("sku", ""),
                    "quantity": Decimal(line["quantity"]),
                    "unit_price": Decimal(line["unit_price"]),
                    "tax_name": line.get("tax_name"),
                    "tax_rate": optional_decimal(line.get("tax_rate")),
                    "discount_percent": optional_decimal(line.get("discount_percent")),
                    "discount_amount": optional_decimal(line.get("discount_amount")),
                    "net": amounts.net,
                    "tax": amounts.tax,
                    "total": amounts.total,
                }
            )
        return {
            **self.header_params(),
            "lines": lines,
            "terms": self.fields.get("terms", ""),
            "delivery": self.fields.get("delivery", ""),
            "billing": self.fields.get("billing", ""),
            **self._totals(),
        }

    def header_params(self) -> dict[str, Param]:
        """The header fields the review shows (the subclass's own steps)."""
        raise NotImplementedError

    async def ask_review(self) -> None:
        self.io.say(f"{self.wizard}_review", **self.review_params())

    async def take_review(self) -> None:
        raise AnswerError("review_hint", {"max": len(self.editable)})

    def draft(self) -> DocumentDraft:
        """The document to create from the collected fields."""
        raise NotImplementedError

    def line_drafts(self) -> list[LineDraft]:
        """The collected lines as the document service takes them."""
        return [
            LineDraft(
                item_name=line["item_name"],
                sku=line.get("sku", ""),
                product_id=line.get("product_id"),
                service_id=line.get("service_id"),
                quantity=Decimal(line["quantity"]),
                unit_price=Decimal(line["unit_price"]),
                tax_name=line.get("tax_name"),
                tax_rate=optional_decimal(line.get("tax_rate")),
                discount_percent=optional_decimal(line.get("discount_percent")),
                discount_amount=optional_decimal(line.get("discount_amount")),
            )
            for line in self.lines
        ]

    async def save_problem(self) -> SaveProblem | None:
        """Why the record cannot be saved now (e.g. a chosen row was deleted), or None."""
        return None

    async def save(self) -> bool:
        """Create the document; on any failure stay at the review with the data intact."""
        problem = await self.save_problem()
        if problem is None:
            try:
                async with self.io.session.begin_nested():
                    document, _ = await create_document(self.io.session, self.draft())
            except (DocumentError, MoneyError, ValueError) as error:
                problem = SaveProblem("invalid", detail=str(error))
            except IntegrityError as error:
                # A row the draft points at vanished between the check and the insert.
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
        self.io.saved.append(
            Saved(self.kind.value, document.id, document.number, document.contact_id)
        )
        return True

    def date_field(self, name: str) -> dt.date | None:
        """A stored ISO date field."""
        value: Any = self.fields.get(name)
        return dt.date.fromisoformat(value) if value else None
