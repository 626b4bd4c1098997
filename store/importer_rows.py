"""Checking one CSV import row against CONTRACT §6 and the models, without touching a database."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import InstrumentedAttribute

from store.models import Address, Contact, Product, Vendor
from store.money import MoneyError, validate_tax_rate, validate_unit_price
from store.services.catalogue import ItemData, VendorData
from store.services.contacts import AddressData, ContactData
from store.text import fold


class ImportKind(StrEnum):
    """What a CSV file holds; the word the CLI takes (``crmbot import contacts …``)."""

    CONTACTS = "contacts"
    VENDORS = "vendors"
    PRODUCTS = "products"
    SERVICES = "services"


class ImportFileError(Exception):
    """The whole file is unusable (unreadable, not UTF-8, empty, bad header); one clear line."""


class RowError(ValueError):
    """Why one row cannot be imported; the message is the reason the report shows."""


# CONTRACT §6 "CSV columns"; the required ones are the bold ones.
REQUIRED: Mapping[ImportKind, tuple[str, ...]] = {
    ImportKind.CONTACTS: ("first_name", "email"),
    ImportKind.VENDORS: ("name",),
    ImportKind.PRODUCTS: ("sku", "name", "unit_price"),
    ImportKind.SERVICES: ("sku", "name", "unit_price"),
}
OPTIONAL: Mapping[ImportKind, tuple[str, ...]] = {
    ImportKind.CONTACTS: (
        "last_name",
        "phone",
        "account",
        "street",
        "city",
        "state",
        "postal_code",
        "country",
    ),
    ImportKind.VENDORS: ("email", "phone"),
    ImportKind.PRODUCTS: ("tax_rate", "stock"),
    ImportKind.SERVICES: ("tax_rate",),
}

_ADDRESS_COLUMNS = ("street", "city", "state", "postal_code", "country")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# Products.stock is NUMERIC(12,3): nine integer digits and three decimals.
MAX_STOCK = Decimal("999999999.999")
_EMAIL_MAX = 254
_SHOWN_CHARS = 40


def column_length(attribute: InstrumentedAttribute[str] | InstrumentedAttribute[str | None]) -> int:
    """The VARCHAR length of a model column, so the limits follow the models, not a copy."""
    column_type = attribute.property.columns[0].type
    if not isinstance(column_type, String) or column_type.length is None:
        raise TypeError(f"{attribute} is not a column of bounded length")
    return column_type.length


@dataclass(frozen=True, slots=True)
class ContactRow:
    """A valid contacts row: the contact, and its address (empty when no column was given)."""

    contact: ContactData
    address: AddressData


ParsedRow = ContactRow | VendorData | ItemData


@dataclass(frozen=True, slots=True)
class Header:
    """Where each known column of one kind sits in the file's rows."""

    kind: ImportKind
    width: int
    positions: Mapping[str, int]


def read_header(kind: ImportKind, cells: Sequence[str]) -> Header:
    """Match the header's names (case-insensitive, stripped); a missing required one is fatal."""
    known = REQUIRED[kind] + OPTIONAL[kind]
    positions: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = cell.strip().lower()
        if name not in known:
            continue  # extra columns are ignored (CONTRACT §6)
        if name in positions:
            raise ImportFileError(f"the header names the column {name!r} twice")
        positions[name] = index
    missing = [name for name in REQUIRED[kind] if name not in positions]
    if missing:
        raise ImportFileError(_missing_columns_text(kind, missing, cells))
    return Header(kind=kind, width=len(cells), positions=positions)


def _missing_columns_text(kind: ImportKind, missing: list[str], cells: Sequence[str]) -> str:
    plural = "s" if len(missing) > 1 else ""
    text = (
        f"the header (the first line) has no {', '.join(missing)} column{plural}; "
        f"a {kind} file needs {', '.join(REQUIRED[kind])}"
    )
    # Spreadsheets set to a comma-decimal locale save with ';' between columns.
    if len(cells) == 1 and ";" in cells[0]:
        text += " (the columns seem separated by ';': save the file as comma-separated CSV)"
    return text


def is_blank(cells: Sequence[str]) -> bool:
    """An empty line or a row of empty cells (spreadsheets leave these at the end)."""
    return not any(cell.strip() for cell in cells)


def parse_row(header: Header, cells: Sequence[str]) -> ParsedRow:
    """The row as the store's data classes, or RowError naming every problem found."""
    values = _values(header, cells)
    match header.kind:
        case ImportKind.CONTACTS:
            return _parse_contact(_Cells(values))
        case ImportKind.VENDORS:
            return _parse_vendor(_Cells(values))
        case ImportKind.PRODUCTS | ImportKind.SERVICES:
            return _parse_item(_Cells(values), with_stock=header.kind is ImportKind.PRODUCTS)


def _values(header: Header, cells: Sequence[str]) -> dict[str, str]:
    count = len(cells)
    # Refused, not guessed: "A,B,12,50," under sku,name,unit_price,tax_rate,stock is a
    # decimal comma that shifted every later cell, even though the extra cell is empty.
    if count != header.width:
        hint = (
            "a value containing a comma must be in double quotes, and decimals use a dot"
            if count > header.width
            else "a separator or a closing quote may be missing"
        )
        raise RowError(f"the row has {count} cells but the header has {header.width}: {hint}")
    return {name: cells[index] for name, index in header.positions.items()}


def show(value: str) -> str:
    """A cell value quoted for a reason, cut short so one reason stays one readable line."""
    if len(value) > _SHOWN_CHARS:
        value = value[: _SHOWN_CHARS - 1] + "…"
    return repr(value)


def email_problem(email: str) -> str | None:
    """Why ``email`` is not a plausible address, or None; deliberately simple, not RFC 5322."""
    local, at, domain = email.partition("@")
    if len(email) > _EMAIL_MAX:
        return f"is {len(email)} characters long; at most {_EMAIL_MAX} are allowed"
    labels = domain.split(".")
    plausible = (
        at
        and local
        and "@" not in domain
        and len(labels) > 1
        and all(labels)
        and not any(ch.isspace() for ch in email)
    )
    return None if plausible else "is not a valid email address (expected name@example.com)"


class _Cells:
    """One row's values by column; gathers every problem so the report names them all at once."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values
        self.problems: list[str] = []

    def text(self, column: str, limit: int, *, required: bool = False, key: bool = False) -> str:
        """The stripped value; ``key`` also checks the folded search key fits and is not empty."""
        value = self._values.get(column, "").strip()
        if "\x00" in value:
            self.problems.append(f"{column} {show(value)} contains a NUL character")
        elif required and not value:
            self.problems.append(f"{column} is empty (it is required)")
        elif len(value) > limit:
            self.problems.append(
                f"{column} {show(value)} is {len(value)} characters long; at most {limit} allowed"
            )
        elif key and value and not fold(value):
            self.problems.append(f"{column} {show(value)} has no letters or digits")
        elif key and len(fold(value)) > limit:
            # Folding expands some characters (ß → ss, ligatures); the key column must fit too.
            self.problems.append(f"{column} {show(value)} is too long once folded for search")
        return value

    def email(self, column: str, *, required: bool = False) -> str | None:
        known = len(self.problems)
        # Lowercased here, as the services store it, so the length check sees the stored form.
        value = self.text(column, _EMAIL_MAX, required=required).lower()
        problem = email_problem(value) if value and len(self.problems) == known else None
        if problem:
            self.problems.append(f"{column} {show(value)} {problem}")
        return value or None

    def number(self, column: str, check: Callable[[Decimal], Decimal]) -> Decimal | None:
        """A dot-decimal passed through ``check`` (a store.money validator); None when empty."""
        raw = self._values.get(column, "").strip()
        if not raw:
            return None
        if not _DECIMAL.fullmatch(raw):
            hint = (
                "decimals use a dot (12.50) and no thousands separator"
                if "," in raw
                else "expected a number such as 12.50"
            )
            self.problems.append(f"{column} {show(raw)} is not a number: {hint}")
            return None
        try:
            return check(Decimal(raw))
        except MoneyError as exc:
            self.problems.append(f"{column} {show(raw)}: {exc}")
            return None

    def required_number(self, column: str, check: Callable[[Decimal], Decimal]) -> Decimal:
        if not self._values.get(column, "").strip():
            self.problems.append(f"{column} is empty (it is required)")
        # Zero only stands in when a problem was recorded, and then done() refuses the row.
        return self.number(column, check) or Decimal(0)

    def done(self) -> None:
        if self.problems:
            raise RowError("; ".join(self.problems))


def validate_stock(stock: Decimal) -> Decimal:
    """Stock on hand: 0..MAX_STOCK with at most 3 decimals (what ``products.stock`` holds)."""
    if not 0 <= stock <= MAX_STOCK:
        raise MoneyError(f"stock must be between 0 and {MAX_STOCK}, got {stock}")
    if stock != stock.quantize(Decimal("0.001")):
        raise MoneyError(f"stock may have at most 3 decimal places, got {stock}")
    return abs(stock)  # -0 stored as 0


def _parse_contact(cells: _Cells) -> ContactRow:
    contact = ContactData(
        first_name=cells.text("first_name", column_length(Contact.first_name), required=True),
        last_name=cells.text("last_name", column_length(Contact.last_name)),
        email=cells.email("email", required=True),
        phone=cells.text("phone", column_length(Contact.phone)) or None,
        account=cells.text("account", column_length(Contact.account)) or None,
    )
    parts = {
        name: cells.text(name, column_length(getattr(Address, name))) for name in _ADDRESS_COLUMNS
    }
    cells.done()
    return ContactRow(contact=contact, address=AddressData(**parts))


def _parse_vendor(cells: _Cells) -> VendorData:
    vendor = VendorData(
        name=cells.text("name", column_length(Vendor.name), required=True, key=True),
        email=cells.email("email"),
        phone=cells.text("phone", column_length(Vendor.phone)) or None,
    )
    cells.done()
    return vendor


def _parse_item(cells: _Cells, *, with_stock: bool) -> ItemData:
    item = ItemData(
        sku=cells.text("sku", column_length(Product.sku), required=True, key=True),
        name=cells.text("name", column_length(Product.name), required=True, key=True),
        unit_price=cells.required_number("unit_price", validate_unit_price),
        tax_rate=cells.number("tax_rate", validate_tax_rate),
        stock=cells.number("stock", validate_stock) if with_stock else None,
    )
    cells.done()
    return item
