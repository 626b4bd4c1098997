"""The purchase-order wizard ("Agregar Compra", DOMAIN §3): states, transitions, header steps."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from bot.chat import Param
from dialogs.closing import ClosingFlow, SaveProblem
from dialogs.flow import WizardSpec, back_to_review, step
from dialogs.io import Control
from dialogs.parsing import AnswerError, parse_choice, parse_date, parse_text
from store.direct import exists
from store.models import Contact, Vendor
from store.services.catalogue import VendorData, search_vendors, upsert_vendor
from store.services.contacts import search_contacts
from store.services.documents import DocumentDraft
from store.vocab import PO_STATUS, DocumentKind, label

MAX_TITLE = 255
OFFERED_STATUSES = ("created", "approved", "sent", "received")


class S(StrEnum):
    """The purchase-order wizard's steps (persisted: rename only with an alias)."""

    TITLE = "title"
    VENDOR = "vendor"
    VENDOR_PICK = "vendor_pick"
    VENDOR_NEW = "vendor_new"
    CONTACT = "contact"
    CONTACT_PICK = "contact_pick"
    DATE = "date"
    STATUS = "status"
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


_SEARCHED = (S.VENDOR, S.VENDOR_PICK, S.VENDOR_NEW)
TRANSITIONS: list[dict[str, object]] = [
    # Coming back from ``editar n``: listed first, so they win over the forward steps.
    *back_to_review([S.TITLE, S.DATE, S.STATUS, S.TERMS, S.DELIVERY, S.BILLING], S.REVIEW),
    *(step(s, S.REVIEW, "returning", "route_one") for s in (*_SEARCHED, S.CONTACT, S.CONTACT_PICK)),
    *(step(s, S.REVIEW, "returning", "route_done") for s in (S.ITEM, S.ITEM_PICK)),
    step(S.TITLE, S.VENDOR),
    *(step(s, S.CONTACT, "route_one") for s in _SEARCHED),
    *(step(s, S.VENDOR_PICK, "route_several") for s in _SEARCHED),
    *(step(s, S.VENDOR_NEW, "route_none") for s in _SEARCHED),
    step(S.CONTACT, S.DATE, "route_one"),
    step(S.CONTACT, S.CONTACT_PICK, "route_several"),
    step(S.CONTACT_PICK, S.DATE, "route_one"),
    step(S.CONTACT_PICK, S.CONTACT_PICK, "route_several"),
    step(S.DATE, S.STATUS),
    step(S.STATUS, S.ITEM),
    step(S.ITEM, S.QUANTITY, "route_one"),
    step(S.ITEM, S.ITEM_PICK, "route_several"),
    step(S.ITEM, S.TERMS, "route_done"),
    {
        "trigger": "answer",
        "source": str(S.ITEM),
        "dest": None,
        "conditions": ["accepted", "route_stay"],
    },
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
]


class PurchaseFlow(ClosingFlow):
    """One purchase-order dialog during one message."""

    wizard: ClassVar[str] = "purchase"
    kind: ClassVar[DocumentKind] = DocumentKind.PURCHASE_ORDER
    states: ClassVar[type[StrEnum]] = S
    transitions: ClassVar[list[dict[str, object]]] = TRANSITIONS
    initial: ClassVar[str] = S.TITLE
    review: ClassVar[str] = S.REVIEW
    editable: ClassVar[tuple[str, ...]] = (
        S.TITLE, S.VENDOR, S.CONTACT, S.DATE, S.STATUS, S.ITEM, S.TERMS, S.DELIVERY, S.BILLING,
    )  # fmt: skip
    optional: ClassVar[frozenset[str]] = frozenset(
        {S.STATUS, S.TAX, S.DISCOUNT, S.TERMS, S.DELIVERY, S.BILLING}
    )
    with_default: ClassVar[frozenset[str]] = frozenset(
        {S.TITLE, S.VENDOR, S.VENDOR_NEW, S.CONTACT, S.DATE, S.STATUS, S.PRICE, S.TAX, S.TERMS,
         S.DELIVERY, S.BILLING}
    )  # fmt: skip
    line_states: ClassVar[frozenset[str]] = frozenset({S.ITEM, S.ITEM_PICK})

    # --- título -----------------------------------------------------------------------
    async def ask_title(self) -> None:
        self.io.say("purchase_title", current=self.fields.get("title"))

    async def take_title(self) -> None:
        if self.control is Control.OK:
            if not self.fields.get("title"):
                raise AnswerError("no_default", {})
            self.accept()
            return
        self.fields["title"] = parse_text(self.io.text, max_len=MAX_TITLE)
        self.accept()

    # --- proveedor --------------------------------------------------------------------
    async def ask_vendor(self) -> None:
        self.io.say("purchase_vendor", current=(self.fields.get("vendor") or {}).get("name"))

    async def take_vendor(self) -> None:
        if self.control is Control.OK:
            if not self.fields.get("vendor"):
                raise AnswerError("no_default", {})
            self.accept("one")
            return
        typed = parse_text(self.io.text, max_len=200)
        found = await search_vendors(self.io.session, typed)
        if len(found) == 1:
            self.fields["vendor"] = {"id": found[0].id, "name": found[0].name}
            self.io.say("purchase_vendor_taken", name=found[0].name)
            self.accept("one")
        elif found:
            self.data["choices"] = [{"id": v.id, "name": v.name} for v in found]
            self.accept("several")
        else:
            self.data["new_vendor"] = typed
            self.accept("none")

    async def ask_vendor_pick(self) -> None:
        self.io.say("purchase_vendor_pick", choices=self.data.get("choices", []))

    async def take_vendor_pick(self) -> None:
        choices: list[dict[str, Any]] = self.data.get("choices", [])
        index = _pick(self.io.text, [c["name"] for c in choices])
        if index is None:
            await self.take_vendor()
            return
        self.fields["vendor"] = choices[index]
        self.accept("one")

    async def ask_vendor_new(self) -> None:
        self.io.say("purchase_vendor_new", name=self.data.get("new_vendor", ""))

    async def take_vendor_new(self) -> None:
        if self.control is not Control.OK:
            await self.take_vendor()
            return
        if not self.io.can("create_vendor"):
            raise AnswerError("vendor_needs_role", {"role": "compras"})
        vendor, _ = await upsert_vendor(self.io.session, VendorData(self.data["new_vendor"]))
        self.fields["vendor"] = {"id": vendor.id, "name": vendor.name}
        self.io.say("purchase_vendor_created", name=vendor.name)
        self.accept("one")

    # --- contacto ---------------------------------------------------------------------
    async def ask_contact(self) -> None:
        self.io.say("purchase_contact", current=(self.fields.get("contact") or {}).get("name"))

    async def take_contact(self) -> None:
        if self.control is Control.OK:
            if not self.fields.get("contact"):
                raise AnswerError("no_default", {})
            self.accept("one")
            return
        typed = parse_text(self.io.text, max_len=200)
        found = await search_contacts(self.io.session, typed)
        if not found:
            raise AnswerError("contact_not_found", {"typed": typed})
        if len(found) == 1:
            await self.choose_contact(_contact(found[0]))
            self.accept("one")
            return
        self.data["choices"] = [_contact(c) for c in found]
        self.accept("several")

    async def ask_contact_pick(self) -> None:
        self.io.say("purchase_contact_pick", choices=self.data.get("choices", []))

    async def take_contact_pick(self) -> None:
        choices: list[dict[str, Any]] = self.data.get("choices", [])
        index = _pick(self.io.text, [c["name"] for c in choices])
        if index is None:
            await self.take_contact()
            return
        await self.choose_contact(choices[index])
        self.accept("one")

    # --- fecha y estado ---------------------------------------------------------------
    async def ask_date(self) -> None:
        self.io.say("purchase_date", default=self.io.today)

    async def take_date(self) -> None:
        if self.control is Control.OK:
            chosen = self.io.today
        else:
            chosen = parse_date(self.io.text, self.io.locale, self.io.today)
        self.fields["date"] = chosen.isoformat()
        self.accept()

    def _status_labels(self) -> list[str]:
        return [label(PO_STATUS, code, self.io.locale) for code in OFFERED_STATUSES]

    async def ask_status(self) -> None:
        self.io.say("purchase_status", options=self._status_labels())  # type: ignore[arg-type]

    async def take_status(self) -> None:
        if self.control in (Control.OK, Control.SKIP):
            self.fields["status"] = "created"
            self.accept()
            return
        index = parse_choice(self.io.text, self._status_labels())
        if index is None:
            index = parse_choice(self.io.text, list(OFFERED_STATUSES))
        if index is None:
            raise AnswerError("bad_choice", {"max": len(OFFERED_STATUSES)})
        code = OFFERED_STATUSES[index]
        if code == "approved" and not self.io.can("approve_purchase"):
            raise AnswerError("approval_needs_role", {"role": "admin"})
        self.fields["status"] = code
        self.accept()

    # --- review -------------------------------------------------------------------------
    def header_params(self) -> dict[str, Param]:
        status = self.fields.get("status", "created")
        return {
            "title": self.fields.get("title", ""),
            "vendor": (self.fields.get("vendor") or {}).get("name", ""),
            "contact": (self.fields.get("contact") or {}).get("name", ""),
            "date": self.date_field("date"),
            "status": label(PO_STATUS, status, self.io.locale),
        }

    async def save_problem(self) -> SaveProblem | None:
        vendor, contact = self.fields.get("vendor") or {}, self.fields.get("contact") or {}
        if not vendor.get("id") or not await exists(self.io.session, Vendor, vendor["id"]):
            step = self.editable.index(S.VENDOR) + 1
            return SaveProblem("vendor_gone", vendor.get("name", ""), step=step)
        if not contact.get("id") or not await exists(self.io.session, Contact, contact["id"]):
            step = self.editable.index(S.CONTACT) + 1
            return SaveProblem("contact_gone", contact.get("name", ""), step=step)
        if self.fields.get("status") == "approved" and not self.io.can("approve_purchase"):
            # Chosen while the user could approve; the role changed before `guardar`.
            step = self.editable.index(S.STATUS) + 1
            needed = self.io.needed("approve_purchase")
            return SaveProblem("approval_needs_role", needed, step=step)
        return None

    def draft(self) -> DocumentDraft:
        return DocumentDraft(
            kind=DocumentKind.PURCHASE_ORDER,
            contact_id=int(self.fields["contact"]["id"]),
            title=self.fields["title"],
            date=self.date_field("date") or self.io.today,
            lines=self.line_drafts(),
            status=self.fields.get("status", "created"),
            vendor_id=int(self.fields["vendor"]["id"]),
            terms=self.fields.get("terms", ""),
            delivery_address=self.fields.get("delivery", ""),
            billing_address=self.fields.get("billing", ""),
            currency=self.io.currency,
            created_by=self.io.incoming.user.username,
            idempotency_key=self.idempotency_key(),
        )


def _pick(text: str, names: list[str]) -> int | None:
    """The chosen index; None for text to search again; a number off the list is an error."""
    index = parse_choice(text, names)
    if index is None and text.strip().isdigit():
        raise AnswerError("bad_choice", {"max": len(names)})
    return index


def _contact(contact: Any) -> dict[str, object]:
    return {"id": contact.id, "name": f"{contact.first_name} {contact.last_name}".strip()}


PURCHASE = WizardSpec(name="purchase", flow=PurchaseFlow, action="create_purchase")
