"""The CSV import's pure row checks: header matching, rejection reasons, no crash on any text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.importer_rows import (
    OPTIONAL,
    REQUIRED,
    ContactRow,
    Header,
    ImportFileError,
    ImportKind,
    RowError,
    email_problem,
    is_blank,
    parse_row,
    read_header,
    validate_stock,
)
from store.money import MoneyError
from store.services.catalogue import ItemData, VendorData
from store.services.contacts import AddressData, ContactData

C, V, P, S = ImportKind.CONTACTS, ImportKind.VENDORS, ImportKind.PRODUCTS, ImportKind.SERVICES

GOOD: dict[ImportKind, dict[str, str]] = {
    ImportKind.CONTACTS: {
        "first_name": "Ana",
        "last_name": "García",
        "email": "Ana.Garcia@Example.com",
        "phone": "+34 600 000 000",
        "account": "Acme",
        "street": "Calle Mayor 1",
        "city": "Madrid",
        "state": "Madrid",
        "postal_code": "28001",
        "country": "España",
    },
    ImportKind.VENDORS: {"name": "Suministros Ibérica", "email": "ventas@iberica.es", "phone": ""},
    ImportKind.PRODUCTS: {
        "sku": "P-1",
        "name": "Router",
        "unit_price": "12.50",
        "tax_rate": "21",
        "stock": "3.5",
    },
    ImportKind.SERVICES: {"sku": "S-1", "name": "Soporte", "unit_price": "90", "tax_rate": ""},
}


def header_for(kind: ImportKind) -> Header:
    return read_header(kind, [*REQUIRED[kind], *OPTIONAL[kind]])


def parse(kind: ImportKind, **changes: str) -> object:
    header = header_for(kind)
    values = {**GOOD[kind], **changes}
    cells = [""] * header.width
    for name, index in header.positions.items():
        cells[index] = values.get(name, "")
    return parse_row(header, cells)


def reason(kind: ImportKind, **changes: str) -> str:
    with pytest.raises(RowError) as caught:
        parse(kind, **changes)
    return str(caught.value)


# --- header -------------------------------------------------------------------------------


def test_header_matches_names_case_insensitively_after_strip_and_ignores_extras() -> None:
    header = read_header(ImportKind.CONTACTS, ["notes", " EMAIL ", "First_Name", "x"])
    assert header.width == 4
    assert dict(header.positions) == {"email": 1, "first_name": 2}


@pytest.mark.parametrize(
    ("kind", "cells", "fragment"),
    [
        (ImportKind.CONTACTS, ["first_name", "phone"], "no email column"),
        (ImportKind.CONTACTS, ["name"], "no first_name, email columns"),
        (ImportKind.VENDORS, ["vendor"], "no name column"),
        (ImportKind.PRODUCTS, ["sku", "name", "price"], "no unit_price column"),
        (ImportKind.SERVICES, ["SKU", "unit_price"], "no name column"),
        (ImportKind.CONTACTS, ["first_name;email"], "separated by ';'"),
        (ImportKind.VENDORS, ["name", "Name"], "column 'name' twice"),
    ],
)
def test_bad_header_is_a_file_error_naming_the_column(
    kind: ImportKind, cells: list[str], fragment: str
) -> None:
    with pytest.raises(ImportFileError, match=fragment):
        read_header(kind, cells)


# --- good rows ----------------------------------------------------------------------------


def test_good_contact_row() -> None:
    assert parse(ImportKind.CONTACTS) == ContactRow(
        contact=ContactData(
            first_name="Ana",
            last_name="García",
            email="ana.garcia@example.com",
            phone="+34 600 000 000",
            account="Acme",
        ),
        address=AddressData("Calle Mayor 1", "Madrid", "Madrid", "28001", "España"),
    )


def test_contact_row_with_only_required_columns_has_an_empty_address() -> None:
    header = read_header(ImportKind.CONTACTS, ["email", "first_name"])
    row = parse_row(header, ["  luis@example.org ", " Luis "])
    assert row == ContactRow(ContactData("Luis", email="luis@example.org"), AddressData())
    assert isinstance(row, ContactRow)
    assert row.address.is_empty()


@pytest.mark.parametrize(
    ("kind", "changes", "expected"),
    [
        (
            ImportKind.VENDORS,
            {},
            VendorData("Suministros Ibérica", "ventas@iberica.es", None),
        ),
        (
            ImportKind.PRODUCTS,
            {},
            ItemData("P-1", "Router", Decimal("12.5"), Decimal(21), Decimal("3.5")),
        ),
        (
            ImportKind.PRODUCTS,
            {"tax_rate": "", "stock": "", "unit_price": "0"},
            ItemData("P-1", "Router", Decimal(0), None, None),
        ),
        (
            ImportKind.PRODUCTS,
            {"unit_price": ".5", "tax_rate": "10.000", "stock": "-0"},
            ItemData("P-1", "Router", Decimal("0.5"), Decimal(10), Decimal(0)),
        ),
        (ImportKind.SERVICES, {}, ItemData("S-1", "Soporte", Decimal(90), None, None)),
    ],
)
def test_good_catalogue_rows(kind: ImportKind, changes: dict[str, str], expected: object) -> None:
    assert parse(kind, **changes) == expected


def test_extra_empty_cells_are_rejected_too() -> None:
    # An unquoted decimal comma shifts the cells; the empty one at the end proves nothing.
    header = read_header(P, ["sku", "name", "unit_price", "tax_rate", "stock"])
    with pytest.raises(RowError, match="6 cells but the header has 5"):
        parse_row(header, ["A", "B", "12", "50", "", ""])


# --- rejections ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "changes", "fragment"),
    [
        (C, {"first_name": "  "}, "first_name is empty (it is required)"),
        (C, {"email": ""}, "email is empty (it is required)"),
        (C, {"email": "ana"}, "email 'ana' is not a valid email address"),
        (C, {"email": "ana@example"}, "email 'ana@example' is not a valid"),
        (C, {"email": "a@b@example.com"}, "is not a valid email address"),
        (C, {"email": "ana garcia@example.com"}, "is not a valid email address"),
        (C, {"email": "@example.com"}, "is not a valid email address"),
        (C, {"email": "ana@example..com"}, "is not a valid email address"),
        (C, {"email": "a" * 250 + "@x.es"}, "255 characters long; at most 254"),
        (C, {"first_name": "A" * 101}, "first_name 'AAAA"),
        (C, {"first_name": "A" * 101}, "101 characters long; at most 100 allowed"),
        (C, {"postal_code": "1" * 21}, "postal_code"),
        (C, {"phone": "9" * 41}, "at most 40 allowed"),
        (C, {"account": "x\x00y"}, "account 'x\\x00y' contains a NUL character"),
        (V, {"name": ""}, "name is empty (it is required)"),
        (V, {"name": "N" * 201}, "at most 200 allowed"),
        (V, {"name": "\u0301"}, "has no letters or digits"),
        (V, {"name": "\ufdfa" * 20}, "too long once folded"),
        (V, {"email": "ventas"}, "email 'ventas' is not a valid email address"),
        (P, {"sku": ""}, "sku is empty (it is required)"),
        (P, {"sku": "S" * 65}, "at most 64 allowed"),
        (P, {"unit_price": ""}, "unit_price is empty (it is required)"),
        (P, {"unit_price": "12,50"}, "unit_price '12,50' is not a number: decimals use a dot"),
        (P, {"unit_price": "1,234.50"}, "decimals use a dot"),
        (P, {"unit_price": "abc"}, "unit_price 'abc' is not a number"),
        (P, {"unit_price": "1e3"}, "is not a number"),
        (P, {"unit_price": "NaN"}, "is not a number"),
        (P, {"unit_price": "1_000"}, "is not a number"),
        (P, {"unit_price": "١٢"}, "is not a number"),
        (P, {"unit_price": "-1"}, "unit_price '-1': unit price must be between 0"),
        (P, {"unit_price": "1.23456"}, "at most 4 decimal places"),
        (P, {"unit_price": "99999999999"}, "unit price must be between 0 and"),
        (P, {"tax_rate": "101"}, "tax_rate '101': tax rate must be between 0 and 100"),
        (P, {"tax_rate": "-1"}, "tax rate must be between 0 and 100"),
        (P, {"tax_rate": "21,5"}, "tax_rate '21,5' is not a number: decimals use a dot"),
        (P, {"tax_rate": "21.0001"}, "at most 3 decimal places"),
        (P, {"stock": "-2"}, "stock '-2': stock must be between 0"),
        (P, {"stock": "1.0001"}, "stock may have at most 3 decimal places"),
        (P, {"stock": "3,5"}, "decimals use a dot"),
        (S, {"name": " "}, "name is empty (it is required)"),
        (S, {"unit_price": "0,5"}, "decimals use a dot"),
    ],
)
def test_bad_value_is_rejected_with_a_reason(
    kind: ImportKind, changes: dict[str, str], fragment: str
) -> None:
    assert fragment in reason(kind, **changes)


def test_every_problem_of_a_row_is_reported_at_once() -> None:
    text = reason(P, sku="", unit_price="12,50", tax_rate="200")
    assert text.count("; ") == 2
    assert "sku is empty" in text
    assert "unit_price '12,50'" in text
    assert "tax_rate '200'" in text


def test_long_values_are_cut_short_in_the_reason() -> None:
    text = reason(V, name="N" * 5000)
    assert len(text) < 120
    assert "…" in text


@pytest.mark.parametrize(
    ("cells", "fragment"),
    [
        (["Acme"], "the row has 1 cells but the header has 2"),
        (["Acme", "a@b.es", "x"], "the row has 3 cells but the header has 2"),
        (["Acme", "12", "50"], "must be in double quotes"),
    ],
)
def test_wrong_number_of_cells_is_a_row_rejection(cells: list[str], fragment: str) -> None:
    header = read_header(V, ["name", "email"])
    with pytest.raises(RowError, match=fragment):
        parse_row(header, cells)


def test_stock_is_ignored_for_services() -> None:
    header = read_header(S, ["sku", "name", "unit_price", "stock"])
    assert header.positions.keys() == {"sku", "name", "unit_price"}
    assert parse_row(header, ["S", "N", "1", "-5,5"]) == ItemData("S", "N", Decimal(1))


@pytest.mark.parametrize("email", ["a@b.co", "ana.garcia+crm@mail.example.org", "x@xn--e1a.rf"])
def test_plausible_emails(email: str) -> None:
    assert email_problem(email) is None


def test_validate_stock_bounds() -> None:
    assert validate_stock(Decimal("999999999.999")) == Decimal("999999999.999")
    with pytest.raises(MoneyError):
        validate_stock(Decimal("1000000000"))


@pytest.mark.parametrize(("cells", "blank"), [([], True), (["", " "], True), (["", "x"], False)])
def test_is_blank(cells: list[str], blank: bool) -> None:
    assert is_blank(cells) is blank


# --- properties ---------------------------------------------------------------------------

cell_text = st.text(max_size=300) | st.sampled_from(["", " ", "12.5", "1,5", "a@b.es", "-0"])


@given(
    kind=st.sampled_from(list(ImportKind)),
    cells=st.lists(cell_text, min_size=12, max_size=12),
    cut=st.integers(-2, 2),
)
def test_any_cell_text_is_parsed_or_rejected_never_crashes(
    kind: ImportKind, cells: list[str], cut: int
) -> None:
    header = header_for(kind)
    # Mostly rows of the header's width, so the value checks (not the cell count) are probed.
    row = cells[: max(header.width + (cut if abs(cut) == 2 else 0), 0)]
    try:
        parsed = parse_row(header, row)
    except RowError as exc:
        outcome = str(exc)  # a rejection must say why
    else:
        outcome = type(parsed).__name__
    assert outcome


@given(kind=st.sampled_from(list(ImportKind)), cells=st.lists(st.text(max_size=40), max_size=8))
def test_any_header_is_matched_or_a_file_error(kind: ImportKind, cells: list[str]) -> None:
    try:
        header = read_header(kind, cells)
    except ImportFileError as exc:
        matched: set[str] = set()
        outcome = str(exc)
    else:
        matched = set(header.positions)
        outcome = "matched"
    assert outcome
    assert not matched or set(REQUIRED[kind]) <= matched
