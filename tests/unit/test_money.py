"""Examples for store.money: the DOMAIN §2 worked check, validation messages and formatting."""

from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

import pytest

from store.money import (
    CENT,
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
WORKED_LINES = (
    LineInput(D("10"), D("12.50"), tax_rate=D("21"), discount_percent=D("10")),
    LineInput(D("3"), D("40.00"), tax_rate=D("21"), discount_amount=D("5.00")),
)


def test_domain_worked_check() -> None:
    totals = compute_totals(WORKED_LINES)

    assert totals.lines == (
        LineAmounts(D("125.00"), D("12.50"), D("112.50"), D("23.63"), D("136.13")),
        LineAmounts(D("120.00"), D("5.00"), D("115.00"), D("24.15"), D("139.15")),
    )
    assert (totals.subtotal, totals.discount_total) == (D("227.50"), D("17.50"))
    assert (totals.tax_total, totals.total) == (D("47.78"), D("275.28"))
    assert money_str(totals.total) == "275.28"


def test_worked_check_ignores_the_callers_decimal_context() -> None:
    # A caller that lowered precision or changed rounding must not change the money.
    with localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = ROUND_DOWN
        assert compute_totals(WORKED_LINES).total == D("275.28")


def test_binary_floats_get_the_worked_check_wrong() -> None:
    # Why money is Decimal: the coreBOS webservice sums unrounded line taxes and rounds
    # once; 275.275 has no exact binary form (it is 275.27499...), so float gives 275.27.
    nets = [10 * 12.50 - 10 * 12.50 * 10 / 100, 3 * 40.00 - 5.00]
    assert round(sum(nets) + sum(n * 21 / 100 for n in nets), 2) == 275.27
    # Rounding each float tax first does not help: round(23.625, 2) is 23.62, not 23.63.
    assert round(nets[0] * 21 / 100, 2) == 23.62


def test_empty_document_is_all_zeros_with_two_decimals() -> None:
    totals = compute_totals([])
    amounts = (totals.subtotal, totals.discount_total, totals.tax_total, totals.total)
    assert totals.lines == ()
    assert [str(a) for a in amounts] == ["0.00"] * 4


def test_line_without_tax_or_discount() -> None:
    assert compute_line(LineInput(D("2.5"), D("0.0333"))) == LineAmounts(
        D("0.08"), D("0.00"), D("0.08"), D("0.00"), D("0.08")
    )


@pytest.mark.parametrize(
    ("validate", "value", "message"),
    [
        (validate_quantity, "0", "quantity must be greater than 0 and at most 9999999999.999"),
        (validate_quantity, "-1", "quantity must be greater than 0"),
        (validate_quantity, "-0", "quantity must be greater than 0"),
        (validate_quantity, "1.2345", "quantity may have at most 3 decimal places, got 1.2345"),
        (validate_quantity, "10000000000", "quantity must be .* at most 9999999999.999"),
        (validate_quantity, "NaN", "quantity must be a finite number, got NaN"),
        (validate_quantity, "sNaN", "quantity must be a finite number"),
        (validate_quantity, "Infinity", "quantity must be a finite number, got Infinity"),
        (validate_unit_price, "-0.01", "unit price must be between 0 and 9999999999.9999"),
        (validate_unit_price, "1.23456", "unit price may have at most 4 decimal places"),
        (validate_unit_price, "1E+10", "unit price must be between 0 and 9999999999.9999"),
        (validate_unit_price, "-Infinity", "unit price must be a finite number"),
        (validate_tax_rate, "-1", "tax rate must be between 0 and 100, got -1"),
        (validate_tax_rate, "100.001", "tax rate must be between 0 and 100, got 100.001"),
        (validate_tax_rate, "1.2345", "tax rate may have at most 3 decimal places"),
        (validate_discount_percent, "-0.5", "discount percent must be between 0 and 100"),
        (validate_discount_percent, "101", "discount percent must be between 0 and 100"),
        (validate_discount_percent, "0.0001", "discount percent may have at most 3 decimal"),
    ],
)
def test_validators_reject_bad_values(
    validate: Callable[[Decimal], Decimal], value: str, message: str
) -> None:
    with pytest.raises(MoneyError, match=message):
        validate(D(value))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            LineInput(D(1), D(10), discount_percent=D(5), discount_amount=D(1)),
            "a discount percent or a discount amount, not both",
        ),
        (
            LineInput(D(3), D(40), discount_amount=D("120.01")),
            r"discount amount must be between 0 and the line's gross 120\.00, got 120\.01",
        ),
        (
            LineInput(D(3), D(40), discount_amount=D("-1")),
            "discount amount must be between 0 and",
        ),
        (
            LineInput(D(3), D(40), discount_amount=D("1.005")),
            "discount amount may have at most 2 decimal places, got 1.005",
        ),
        (
            LineInput(D(1), D(1), tax_rate=D("NaN")),
            "tax rate must be a finite number",
        ),
        (
            LineInput(D("1000000"), D("1000000")),
            r"the line's gross \(quantity x unit price\) must be at most 999999999999\.99",
        ),
        (
            LineInput(D("1000"), D("999999999.99"), tax_rate=D(21)),
            r"the line's total must be at most 999999999999\.99",
        ),
    ],
)
def test_compute_line_rejects_bad_lines(line: LineInput, message: str) -> None:
    with pytest.raises(MoneyError, match=message):
        compute_line(line)


def test_document_total_must_fit_numeric_14_2() -> None:
    line = LineInput(D("1000"), D("500000000"))
    with pytest.raises(MoneyError, match="the document's total must be at most"):
        compute_totals([line, line])


def test_document_discount_total_must_fit_numeric_14_2() -> None:
    line = LineInput(D("1000"), D("500000000"), discount_percent=D(100))
    with pytest.raises(MoneyError, match="the document's discount total must be at most"):
        compute_totals([line, line])


@pytest.mark.parametrize(
    "call",
    [validate_quantity, validate_unit_price, validate_tax_rate, round_money, money_str],
)
@pytest.mark.parametrize("value", [1.5, 2, "2.5", None])
def test_non_decimals_raise_type_error(call: Callable[[Any], object], value: object) -> None:
    with pytest.raises(TypeError, match=r"must be a decimal\.Decimal, got .*Decimal\('12\.50'\)"):
        call(value)


@pytest.mark.parametrize(
    ("validate", "value", "expected"),
    [
        (validate_quantity, "2.500", "2.5"),
        (validate_quantity, "1E+2", "100"),
        (validate_unit_price, "-0", "0"),
        (validate_unit_price, "0.0000", "0"),
        (validate_tax_rate, "21.000", "21"),
        (validate_discount_percent, "100", "100"),
    ],
)
def test_validators_return_normalized_values(
    validate: Callable[[Decimal], Decimal], value: str, expected: str
) -> None:
    result = validate(D(value))
    assert str(result) == expected
    assert result == D(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234.5", "1234.50"),
        ("0", "0.00"),
        ("1E+3", "1000.00"),
        ("2.675", "2.68"),
        ("2.665", "2.67"),
        ("-1.005", "-1.01"),
        ("-0.001", "0.00"),
        ("999999999999.99", "999999999999.99"),
        ("0.1E-10", "0.00"),
    ],
)
def test_money_str(value: str, expected: str) -> None:
    assert money_str(D(value)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("21", "21"),
        ("21.000", "21"),
        ("2.50", "2.5"),
        ("0.125", "0.125"),
        ("1E+2", "100"),
        ("0E-5", "0"),
        ("-0", "0"),
        ("-0.000", "0"),
        ("0.00100", "0.001"),
        ("1.5E-7", "0.00000015"),
        ("-2.50", "-2.5"),
    ],
)
def test_plain_decimal_str(value: str, expected: str) -> None:
    assert plain_decimal_str(D(value)) == expected


@pytest.mark.parametrize("call", [money_str, plain_decimal_str, round_money])
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_formatting_rejects_non_finite(call: Callable[[Decimal], object], value: str) -> None:
    with pytest.raises(MoneyError, match="must be a finite number"):
        call(D(value))


def test_round_money_is_half_up_to_cents() -> None:
    assert round_money(D("23.625")) == D("23.63")
    assert round_money(D("23.625")).as_tuple().exponent == -2
    assert round_money(D("5")) == CENT * 500
