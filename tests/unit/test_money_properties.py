"""Property tests for store.money: totals add up, amounts are cents, bounds hold, no floats."""

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.money import (
    MAX_QUANTITY,
    MAX_UNIT_PRICE,
    LineAmounts,
    LineInput,
    MoneyError,
    compute_line,
    compute_totals,
    money_str,
    plain_decimal_str,
    round_money,
    validate_discount_percent,
    validate_quantity,
    validate_tax_rate,
    validate_unit_price,
)

D = Decimal


def _decimals(low: str, high: str, places: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(D(low), D(high), places=places, allow_nan=False, allow_infinity=False)


# Kept small enough that up to 8 lines, each at most twice its gross, fit NUMERIC(14,2).
quantities = _decimals("0.001", "100000", 3)
prices = _decimals("0", "100000", 4)
percents = _decimals("0", "100", 3)
optional_rates = st.none() | percents


@st.composite
def lines(draw: st.DrawFn) -> LineInput:
    line = LineInput(draw(quantities), draw(prices), tax_rate=draw(optional_rates))
    kind = draw(st.sampled_from(["none", "percent", "amount"]))
    if kind == "percent":
        return replace(line, discount_percent=draw(percents))
    if kind == "amount":
        gross = compute_line(line).gross
        return replace(line, discount_amount=draw(_decimals("0", str(gross), 2)))
    return line


documents = st.lists(lines(), max_size=8)


def _amounts(line: LineAmounts) -> tuple[Decimal, ...]:
    return (line.gross, line.discount, line.net, line.tax, line.total)


@given(documents)
def test_totals_are_the_sums_of_their_lines(inputs: list[LineInput]) -> None:
    totals = compute_totals(inputs)
    assert totals.lines == tuple(compute_line(line) for line in inputs)
    assert totals.subtotal == sum(line.net for line in totals.lines)
    assert totals.discount_total == sum(line.discount for line in totals.lines)
    assert totals.tax_total == sum(line.tax for line in totals.lines)
    assert totals.total == totals.subtotal + totals.tax_total


@given(documents)
def test_every_amount_has_exactly_two_decimals(inputs: list[LineInput]) -> None:
    totals = compute_totals(inputs)
    amounts = [a for line in totals.lines for a in _amounts(line)]
    amounts += [totals.subtotal, totals.discount_total, totals.tax_total, totals.total]
    assert all(a.as_tuple().exponent == -2 for a in amounts)
    assert all(money_str(a) == str(a) for a in amounts)


@given(lines())
def test_line_amounts_are_consistent(line: LineInput) -> None:
    amounts = compute_line(line)
    assert D(0) <= amounts.discount <= amounts.gross
    assert amounts.net == amounts.gross - amounts.discount
    assert D(0) <= amounts.tax <= amounts.net
    assert amounts.total == amounts.net + amounts.tax


@given(quantities, prices, percents)
def test_percent_discounts_in_range_are_accepted(
    qty: Decimal, price: Decimal, pct: Decimal
) -> None:
    amounts = compute_line(LineInput(qty, price, discount_percent=pct))
    assert amounts.discount == round_money(amounts.gross * pct / 100)


@given(quantities, prices, _decimals("100.001", "1E+6", 3) | _decimals("-1E+6", "-0.001", 3))
def test_percent_discounts_out_of_range_are_rejected(
    qty: Decimal, price: Decimal, pct: Decimal
) -> None:
    with pytest.raises(MoneyError, match="discount percent must be between 0 and 100"):
        compute_line(LineInput(qty, price, discount_percent=pct))


@given(quantities, prices, st.data())
def test_amount_discounts_up_to_the_gross_are_accepted(
    qty: Decimal, price: Decimal, data: st.DataObject
) -> None:
    gross = compute_line(LineInput(qty, price)).gross
    amount = data.draw(_decimals("0", str(gross), 2))
    assert compute_line(LineInput(qty, price, discount_amount=amount)).discount == amount


@given(quantities, prices, _decimals("0.01", "1E+6", 2), st.booleans())
def test_amount_discounts_out_of_range_are_rejected(
    qty: Decimal, price: Decimal, excess: Decimal, negative: bool
) -> None:
    gross = compute_line(LineInput(qty, price)).gross
    amount = -excess if negative else gross + excess
    with pytest.raises(MoneyError, match="discount amount must be between 0 and the line's gross"):
        compute_line(LineInput(qty, price, discount_amount=amount))


def _half_up_cents(units: int, places: int) -> int:
    """Independent reference: round units * 10**-places to whole cents, ties away from 0."""
    if places <= 2:
        scale: int = 10 ** (2 - places)  # annotated: mypy types int ** int as Any
        return units * scale
    divisor: int = 10 ** (places - 2)
    cents, rest = divmod(abs(units), divisor)
    if 2 * rest >= divisor:
        cents += 1
    return cents if units >= 0 else -cents


@given(st.integers(-(10**30), 10**30), st.integers(0, 12))
def test_round_money_agrees_with_integer_half_up(units: int, places: int) -> None:
    value = D(f"{units}E-{places}")  # parsed from text: exact at any size
    expected = D(f"{_half_up_cents(units, places)}E-2")
    assert round_money(value) == expected
    assert round_money(value).as_tuple().exponent == -2


@given(_decimals("0.001", str(MAX_QUANTITY), 3), _decimals("0", str(MAX_UNIT_PRICE), 4))
def test_values_within_bounds_validate_to_the_same_number(qty: Decimal, price: Decimal) -> None:
    assert validate_quantity(qty) == qty
    assert validate_unit_price(price) == price
    assert D(plain_decimal_str(validate_quantity(qty))) == qty


floats = st.floats(allow_nan=True, allow_infinity=True)


@given(floats)
def test_float_inputs_raise_type_error(value: float) -> None:
    loose: Any = value  # what an untyped caller could pass despite the annotations
    for call in (
        validate_quantity,
        validate_unit_price,
        validate_tax_rate,
        validate_discount_percent,
        round_money,
        money_str,
        plain_decimal_str,
    ):
        with pytest.raises(TypeError, match="float"):
            call(loose)


@given(floats, st.sampled_from(["quantity", "unit_price", "tax_rate", "discount_amount"]))
def test_float_line_fields_raise_type_error(value: float, field: str) -> None:
    changes: dict[str, Any] = {field: value}
    line = replace(LineInput(D(1), D(10)), **changes)
    with pytest.raises(TypeError, match="float"):
        compute_line(line)
