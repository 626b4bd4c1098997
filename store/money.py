"""Line-item money rules of DOMAIN §2: validation, half-up cent rounding and document totals.

Everything is ``decimal.Decimal``; a float anywhere is a TypeError, a bad value a MoneyError.

Bounds (chosen so every stored amount fits ``NUMERIC(14,2)``, i.e. 12 integer digits):

- quantity: > 0, at most 3 decimals, at most 10 integer digits (<= 9999999999.999);
- unit price: >= 0, at most 4 decimals, at most 10 integer digits (<= 9999999999.9999);
- tax rate and discount percent: 0..100, at most 3 decimals (the CRM stores ``N(7,3)``);
- discount amount: 0..the line's gross, at most 2 decimals;
- every computed amount (a line's gross and total, the document's total and
  discount total) must be <= 999999999999.99, so any valid line's gross fits in
  12 integer digits; the other amounts are bounded by these.

Validated quantities and rates come back normalized: no trailing zeros, no exponent, no -0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext


class MoneyError(ValueError):
    """A quantity, price, rate or discount that DOMAIN §2 does not allow."""


CENT = Decimal("0.01")
MAX_QUANTITY = Decimal("9999999999.999")
MAX_UNIT_PRICE = Decimal("9999999999.9999")
MAX_AMOUNT = Decimal("999999999999.99")
_ZERO = Decimal("0.00")
_HUNDRED = Decimal(100)
# A private context so a caller's decimal settings can never change our results. 10+3 and
# 10+4 digit operands give a 27-digit product, so with 50 digits every product is exact
# and the only rounding is the explicit half-up quantize to cents.
_CTX = Context(prec=50, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class LineInput:
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal | None = None
    discount_percent: Decimal | None = None
    discount_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LineAmounts:
    gross: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class Totals:
    lines: tuple[LineAmounts, ...]
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    places: int
    low: Decimal
    high: Decimal
    low_open: bool = False  # True when the low bound itself is not allowed (quantity > 0)
    high_text: str | None = None  # how to name the high bound when it is not a constant

    def range_text(self) -> str:
        high = self.high_text or plain_decimal_str(self.high)
        if self.low_open:
            return f"greater than {plain_decimal_str(self.low)} and at most {high}"
        return f"between {plain_decimal_str(self.low)} and {high}"


_QUANTITY = _Rule("quantity", 3, Decimal(0), MAX_QUANTITY, low_open=True)
_UNIT_PRICE = _Rule("unit price", 4, Decimal(0), MAX_UNIT_PRICE)
_TAX_RATE = _Rule("tax rate", 3, Decimal(0), _HUNDRED)
_DISCOUNT_PERCENT = _Rule("discount percent", 3, Decimal(0), _HUNDRED)


def _require_decimal(name: str, value: object) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(
            f"{name} must be a decimal.Decimal, got {type(value).__name__} {value!r}; "
            f"build it from text, e.g. Decimal('12.50'), because floats cannot hold cents exactly"
        )
    if not value.is_finite():  # before any comparison: comparing a signalling NaN raises
        raise MoneyError(f"{name} must be a finite number, got {value}")
    return value


def _check(rule: _Rule, value: object) -> Decimal:
    number = _require_decimal(rule.name, value)
    too_low = number <= rule.low if rule.low_open else number < rule.low
    if too_low or number > rule.high:
        raise MoneyError(f"{rule.name} must be {rule.range_text()}, got {number}")
    # Bounded above, so this quantize cannot overflow the context.
    if number.quantize(Decimal(1).scaleb(-rule.places), context=_CTX) != number:
        raise MoneyError(f"{rule.name} may have at most {rule.places} decimal places, got {number}")
    normal = number.normalize(_CTX)
    if normal == normal.to_integral_value(context=_CTX):
        normal = normal.quantize(Decimal(1), context=_CTX)  # 1E+2 -> 100
    return normal.copy_abs()  # only -0 can be negative here; store it as 0


def validate_quantity(q: Decimal) -> Decimal:
    return _check(_QUANTITY, q)


def validate_unit_price(p: Decimal) -> Decimal:
    return _check(_UNIT_PRICE, p)


def validate_tax_rate(r: Decimal) -> Decimal:
    return _check(_TAX_RATE, r)


def validate_discount_percent(p: Decimal) -> Decimal:
    return _check(_DISCOUNT_PERCENT, p)


def round_money(value: Decimal) -> Decimal:
    """Half-up (ties away from zero) to cents; the result always has exponent -2."""
    number = _require_decimal("amount", value)
    try:
        return number.quantize(CENT, rounding=ROUND_HALF_UP, context=_CTX)
    except InvalidOperation:
        raise MoneyError(f"amount is too large to round to cents, got {number}") from None


def _fits(label: str, amount: Decimal) -> Decimal:
    if amount > MAX_AMOUNT:
        raise MoneyError(
            f"{label} must be at most {MAX_AMOUNT} (the most the CRM can store), got {amount}"
        )
    return amount


def _percent_of(base: Decimal, percent: Decimal) -> Decimal:
    with localcontext(_CTX):
        return round_money(base * percent / _HUNDRED)


def _discount(line: LineInput, gross: Decimal) -> Decimal:
    if line.discount_percent is not None and line.discount_amount is not None:
        raise MoneyError(
            "a line may have a discount percent or a discount amount, not both; keep one of them"
        )
    if line.discount_percent is not None:
        return _percent_of(gross, validate_discount_percent(line.discount_percent))
    if line.discount_amount is not None:
        rule = _Rule("discount amount", 2, Decimal(0), gross, high_text=f"the line's gross {gross}")
        return round_money(_check(rule, line.discount_amount))
    return _ZERO


def compute_line(line: LineInput) -> LineAmounts:
    qty = validate_quantity(line.quantity)
    price = validate_unit_price(line.unit_price)
    rate = None if line.tax_rate is None else validate_tax_rate(line.tax_rate)
    with localcontext(_CTX):
        gross = _fits("the line's gross (quantity x unit price)", round_money(qty * price))
        discount = _discount(line, gross)
        net = gross - discount
        tax = _ZERO if rate is None else _percent_of(net, rate)
        total = _fits("the line's total", net + tax)
    return LineAmounts(gross=gross, discount=discount, net=net, tax=tax, total=total)


def compute_totals(lines: Sequence[LineInput]) -> Totals:
    amounts = tuple(compute_line(line) for line in lines)
    with localcontext(_CTX):
        # Start from 0.00 so an empty document still has exponent -2 amounts.
        subtotal = sum((a.net for a in amounts), _ZERO)
        discount_total = sum((a.discount for a in amounts), _ZERO)
        tax_total = sum((a.tax for a in amounts), _ZERO)
        total = subtotal + tax_total
    return Totals(
        lines=amounts,
        subtotal=subtotal,
        discount_total=_fits("the document's discount total", discount_total),
        tax_total=tax_total,
        total=_fits("the document's total", total),  # subtotal, tax_total <= total
    )


def money_str(value: Decimal) -> str:
    """Exactly two decimals, half-up, never an exponent or "-0.00": "1234.50"."""
    cents = round_money(value)
    return format(cents.copy_abs() if cents == 0 else cents, "f")


def plain_decimal_str(value: Decimal) -> str:
    """Shortest plain form for quantities and rates: "21", "2.5", "0.125"."""
    text = format(_require_decimal("value", value), "f")  # "f" never uses an exponent
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
