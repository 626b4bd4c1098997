"""bot.numfmt gives exactly Babel's output, and chatfmt's formats are what they were."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

import pytest
from babel import Locale
from babel import numbers as babel_numbers
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.numfmt import babel_money, babel_quantity, babel_rate
from bot import chatfmt, numfmt

D = Decimal
NBSP = "\u00a0"
# The contract's locales, then ones that exercise other affixes, symbols and groupings
# (Indian 2-digit groups, RTL marks, narrow no-break space, de_CH's "'" which Babel mangles).
LOCALES = ("es", "en", "es_MX", "en_US", "de", "fr", "pt_BR")
OTHER_LOCALES = ("en_IN", "hi", "de_CH", "ar_EG", "he", "nl", "fa", "ja", "sw")
CURRENCIES = ("EUR", "USD", "MXN", "GBP", "JPY", "BHD", "CLP", "INR", "CHF")
EDGES = tuple(
    D(text)
    for text in (
        "999.995",
        "-999.995",
        "999999.9951",
        "0.005",
        "0.0049999",
        "-0",
        "-0.00",
        "0E-30",
        "-0E+5",
        "1E+30",
        "123456789012345678901234567890.125",
        "-98765432109876543210987654321098765.4321",
        "0.000000000000000000000000000000001",
    )
)


@st.composite
def decimals(draw: st.DrawFn) -> Decimal:
    """Signed decimals from tiny to 40+ digits, many fraction digits, and rounding edges."""
    if draw(st.booleans()):
        return draw(st.sampled_from(EDGES))
    coefficient = draw(
        st.one_of(
            st.integers(0, 10**6),
            st.integers(0, 10**42),
            st.sampled_from([5, 45, 995, 999_995, 99_999_995, 1_000_000]),
        )
    )
    digits = tuple(int(d) for d in str(coefficient))
    return Decimal((draw(st.integers(0, 1)), digits, draw(st.integers(-40, 12))))


# Babel runs in the caller's decimal context (chatfmt widens it), so the fast path must
# agree under any precision and rounding mode, errors included.
contexts = st.tuples(
    st.sampled_from([28, 80]), st.sampled_from([ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_DOWN])
)


def outcome(call: Callable[[], str], context: tuple[int, str]) -> str:
    prec, rounding = context
    with localcontext(prec=prec, rounding=rounding):
        try:
            return call()
        except (ArithmeticError, ValueError) as error:  # Babel's own failures must match too
            return f"raised {error!r}"


@settings(max_examples=400)
@given(
    decimals(),
    st.sampled_from(LOCALES + OTHER_LOCALES),
    st.sampled_from(CURRENCIES),
    contexts,
)
def test_currency_is_babels(
    value: Decimal, locale: str, currency: str, context: tuple[int, str]
) -> None:
    fast = outcome(lambda: numfmt.format_currency(value, currency, locale), context)
    slow = outcome(lambda: babel_numbers.format_currency(value, currency, locale=locale), context)
    assert fast == slow


@settings(max_examples=400)
@given(decimals(), st.sampled_from(LOCALES + OTHER_LOCALES), st.booleans(), contexts)
def test_decimal_and_percent_are_babels(
    value: Decimal, locale: str, quantize: bool, context: tuple[int, str]
) -> None:
    assert outcome(
        lambda: numfmt.format_decimal(value, locale, decimal_quantization=quantize), context
    ) == outcome(
        lambda: babel_numbers.format_decimal(value, locale=locale, decimal_quantization=quantize),
        context,
    )
    assert outcome(
        lambda: numfmt.format_percent(value, locale, decimal_quantization=quantize), context
    ) == outcome(
        lambda: babel_numbers.format_percent(value, locale=locale, decimal_quantization=quantize),
        context,
    )


DEFAULT = (28, ROUND_HALF_EVEN)


@settings(max_examples=400)
@given(decimals(), st.sampled_from(LOCALES + OTHER_LOCALES), st.sampled_from(CURRENCIES))
def test_chatfmt_formats_are_unchanged(value: Decimal, locale: str, currency: str) -> None:
    assert outcome(lambda: chatfmt.format_money(value, currency, locale), DEFAULT) == outcome(
        lambda: babel_money(value, currency, locale), DEFAULT
    )
    assert outcome(lambda: chatfmt.format_decimal(value, locale), DEFAULT) == outcome(
        lambda: babel_quantity(value, locale), DEFAULT
    )
    assert outcome(lambda: chatfmt.format_percent_rate(value, locale), DEFAULT) == outcome(
        lambda: babel_rate(value, locale), DEFAULT
    )


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        (D("1234.56"), "EUR", "es", f"1.234,56{NBSP}€"),  # 4 digits grouped, as Babel does
        (D("1234.56"), "EUR", "en", "€1,234.56"),
        (D("999.995"), "EUR", "es", f"1.000,00{NBSP}€"),  # half-up across a group boundary
        (D("-0.004"), "USD", "en_US", "$0.00"),  # never "-$0.00"
        (D("-1234.5"), "MXN", "es_MX", "-$1,234.50"),
        (D("1234.5"), "JPY", "en", "¥1,235"),
        (D("1234.5675"), "BHD", "en", "BHD1,234.568"),
        (D("1234567.5"), "CLP", "es", f"1.234.568{NBSP}CLP"),
        (D("1234.5"), "EUR", "fr", f"1\u202f234,50{NBSP}€"),
        (D("1234.5"), "BRL", "pt_BR", f"R${NBSP}1.234,50"),
        (D("1234567.5"), "INR", "en_IN", "₹12,34,567.50"),  # Indian grouping, fast path
    ],
)
def test_money_examples(amount: Decimal, currency: str, locale: str, expected: str) -> None:
    assert chatfmt.format_money(amount, currency, locale) == expected


def test_the_fast_path_does_not_call_babels_formatters(monkeypatch: pytest.MonkeyPatch) -> None:
    def babel_called(*args: object, **kwargs: object) -> str:
        raise AssertionError("fell back to Babel")

    for name in ("format_currency", "format_decimal", "format_percent"):
        monkeypatch.setattr(babel_numbers, name, babel_called)
    for locale in (*LOCALES, "en_IN", "ar_EG"):
        chatfmt.format_money(D("-1234.565"), "EUR", locale)
        chatfmt.format_decimal(D("1234.5"), locale)
        chatfmt.format_percent_rate(D("10.5"), locale)
    with pytest.raises(AssertionError, match="fell back"):
        chatfmt.format_money(D("1"), "EUR", "de_CH")  # its "'" group symbol goes to Babel


@pytest.mark.parametrize(
    "pattern",
    [
        "#,##0.00 ¤¤¤",  # plural currency name: depends on the value
        "#E0",  # scientific
        "@@@",  # significant digits
        "'#'#,##0.00 ¤",  # quoted literal text
    ],
)
def test_patterns_the_fast_path_does_not_model_are_left_to_babel(pattern: str) -> None:
    locale = Locale.parse("en")
    assert numfmt._plan(babel_numbers.parse_pattern(pattern), locale, "EUR") is None


def test_a_modelled_pattern_gets_a_plan() -> None:
    locale = Locale.parse("en")
    plan = numfmt._plan(babel_numbers.parse_pattern("¤¤ #,##0.00"), locale, "EUR")
    assert plan is not None
    assert plan.render(D("-1234.5"), decimal_quantization=True) == "-EUR 1,234.50"
