"""The steps purchase orders and quotes share: line items, terms, addresses, review, save."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from bot.chat import Param
from dialogs.flow import Flow
from dialogs.io import Control
from dialogs.parsing import (
    AnswerError,
    TaxOption,
    parse_choice,
    parse_discount,
    parse_quantity,
    parse_tax,
    parse_text,
    parse_unit_price,
)
from store.models import Product, Service
from store.money import (
    MAX_AMOUNT,
    LineAmounts,
    LineInput,
    MoneyError,
    compute_line,
    compute_totals,
)
from store.services.catalogue import CatalogueItem, catalogue_item, search_items, tax_rows
from store.text import fold
from store.vocab import DocumentKind

MAX_CHOICES = 10
MAX_SHOWN = 40  # how much of a refused answer is echoed back
MAX_TERMS = 2000
MAX_ADDRESS = 500
Line = dict[str, Any]


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def optional_decimal(value: object) -> Decimal | None:
    """A stored decimal string as Decimal; None or '' as None."""
    return None if value in (None, "") else Decimal(str(value))


def line_input(line: Line) -> LineInput:
    """A stored line as the money rules read it."""
    return LineInput(
        quantity=Decimal(line["quantity"]),
        unit_price=Decimal(line["unit_price"]),
        tax_rate=optional_decimal(line.get("tax_rate")),
        discount_percent=optional_decimal(line.get("discount_percent")),
        discount_amount=optional_decimal(line.get("discount_amount")),
    )


def _line_amounts(line: Line, typed: str) -> LineAmounts:
    """The line's amounts, or the AnswerError saying why the discount cannot apply."""
    try:
        gross = compute_line(line_input({**line, "discount_amount": None})).gross
        amount = optional_decimal(line.get("discount_amount"))
        if amount is not None and amount > gross:
            shown = " ".join(typed.split())[:MAX_SHOWN]
            raise AnswerError("discount_over_gross", {"typed": shown, "gross": gross})
        return compute_line(line_input(line))
    except MoneyError as error:
        # Quantity × price (plus tax) beyond what the CRM stores: only `atras` can fix it.
        raise AnswerError("line_too_large", {"max": MAX_AMOUNT}) from error


class LineItemsFlow(Flow):
    """Line-item loop and the tail of an inventory document; subclasses add the header steps."""

    kind: ClassVar[DocumentKind]

    # --- line items -------------------------------------------------------------------
    @property
    def lines(self) -> list[Line]:
        """The lines entered so far."""
        return self.fields.setdefault("lines", [])  # type: ignore[no-any-return]

    @property
    def line(self) -> Line:
        """The line being entered."""
        return self.data.setdefault("line", {})  # type: ignore[no-any-return]

    async def ask_item(self) -> None:
        self.io.say(f"{self.wizard}_item", count=len(self.lines))

    async def take_item(self) -> None:
        if self.control is Control.DONE:
            if not self.lines:
                raise AnswerError("no_lines", {})
            self.accept("done")
        elif self.control is Control.REMOVE:
            self._remove_line(self.io.number)
        else:
            await self._search_item(self.io.text)

    def _remove_line(self, number: int | None) -> None:
        if number is None or not 1 <= number <= len(self.lines):
            raise AnswerError("bad_line_number", {"max": len(self.lines)})
        removed = self.lines.pop(number - 1)
        self.io.say("lines_removed", number=number, item=removed["item_name"], **self._totals())
        self.accept("stay")

    async def _search_item(self, text: str) -> None:
        typed = parse_text(text, max_len=200)
        found: list[CatalogueItem] = [
            *await search_items(self.io.session, Product, typed, MAX_CHOICES),
            *await search_items(self.io.session, Service, typed, MAX_CHOICES),
        ]
        exact = [item for item in found if fold(item.sku) == fold(typed)]
        matches = exact or found
        if not matches:
            raise AnswerError("item_not_found", {"typed": typed})
        if len(matches) == 1:
            self._start_line(matches[0])
            self.accept("one")
            return
        self.data["choices"] = [self._choice(item) for item in matches[:MAX_CHOICES]]
        self.accept("several")

    @staticmethod
    def _choice(item: CatalogueItem) -> dict[str, object]:
        return {
            "kind": item.kind,
            "id": item.id,
            "name": item.name,
            "sku": item.sku,
            "price": str(item.unit_price),
        }

    def _start_line(self, item: CatalogueItem) -> None:
        self.data["line"] = {
            "item_name": item.name,
            "sku": item.sku,
            "product_id": item.id if item.kind == "product" else None,
            "service_id": item.id if item.kind == "service" else None,
            "catalogue_price": str(item.unit_price),
            "default_tax": item.tax_name,
            "default_rate": str(item.tax_rate) if item.tax_rate is not None else None,
        }

    async def ask_item_pick(self) -> None:
        choices: list[Param] = [
            {"name": c["name"], "sku": c["sku"], "price": optional_decimal(c.get("price"))}
            for c in self.data.get("choices", [])
        ]
        self.io.say("lines_item_pick", choices=choices, currency=self.io.currency)

    async def take_item_pick(self) -> None:
        if self.control in (Control.DONE, Control.REMOVE):
            await self.take_item()
            return
        choices: list[dict[str, Any]] = self.data.get("choices", [])
        index = parse_choice(self.io.text, [f"{c['sku']} {c['name']}" for c in choices])
        if index is None:
            await self._search_item(self.io.text)
            return
        picked = choices[index]
        item = await catalogue_item(self.io.session, picked["kind"], picked["id"])
        if item is None:
            raise AnswerError("item_not_found", {"typed": picked["name"]})
        self._start_line(item)
        self.accept("one")

    async def ask_quantity(self) -> None:
        self.io.say("lines_quantity", item=self.line.get("item_name", ""))

    async def take_quantity(self) -> None:
        self.line["quantity"] = str(parse_quantity(self.io.text, self.io.locale))
        self.accept()

    async def ask_price(self) -> None:
        default = optional_decimal(self.line.get("catalogue_price"))
        self.io.say("lines_price", default=default, currency=self.io.currency)

    async def take_price(self) -> None:
        if self.control is Control.OK:
            self.line["unit_price"] = self.line["catalogue_price"]
        else:
            self.line["unit_price"] = str(parse_unit_price(self.io.text, self.io.locale))
        self.accept()

    async def _tax_options(self) -> list[TaxOption]:
        return [TaxOption(*row) for row in await tax_rows(self.io.session)]

    async def ask_tax(self) -> None:
        options: list[Param] = [{"name": o.name, "rate": o.rate} for o in await self._tax_options()]
        self.io.say("lines_tax", options=options, default=self.line.get("default_tax"))

    async def take_tax(self) -> None:
        if self.control is Control.OK:
            if not self.line.get("default_tax"):
                raise AnswerError("no_default", {})
            self.line["tax_name"] = self.line.get("default_tax")
            self.line["tax_rate"] = self.line.get("default_rate")
        elif self.control is Control.SKIP:
            self.line["tax_name"] = self.line["tax_rate"] = None
        else:
            option = parse_tax(self.io.text, await self._tax_options(), self.io.locale)
            self.line["tax_name"] = option.name if option else None
            self.line["tax_rate"] = str(option.rate) if option else None
        self.accept()

    async def ask_discount(self) -> None:
        self.io.say("lines_discount")

    async def take_discount(self) -> None:
        percent: Decimal | None = None
        amount: Decimal | None = None
        if self.control is not Control.SKIP:
            percent, amount = parse_discount(self.io.text, self.io.locale)
        line = {**self.line, "discount_percent": _str(percent), "discount_amount": _str(amount)}
        amounts = _line_amounts(line, self.io.text)
        kept = {k: v for k, v in line.items() if not k.startswith(("catalogue_", "default_"))}
        self.lines.append(kept)
        self.data.pop("line", None)
        self.io.say(
            "lines_added",
            number=len(self.lines),
            item=line["item_name"],
            sku=line.get("sku", ""),
            quantity=Decimal(line["quantity"]),
            unit_price=Decimal(line["unit_price"]),
            tax_name=line.get("tax_name"),
            tax_rate=optional_decimal(line.get("tax_rate")),
            discount_percent=percent,
            discount_amount=amount,
            line_net=amounts.net,
            line_tax=amounts.tax,
            line_total=amounts.total,
            **self._totals(),
        )
        self.accept()

    def _totals(self) -> dict[str, Param]:
        totals = compute_totals([line_input(line) for line in self.lines])
        return {
            "subtotal": totals.subtotal,
            "discount_total": totals.discount_total,
            "tax_total": totals.tax_total,
            "total": totals.total,
            "lines_count": len(self.lines),
            "currency": self.io.currency,  # named where a price has more than 2 decimals
        }
