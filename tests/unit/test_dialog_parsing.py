"""dialogs.parsing: every answer form of DOMAIN §3 in both locales, error keys and params."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.chatfmt import format_decimal, format_money
from dialogs.parsing import (
    ERRORS,
    MAX_DIGITS,
    AnswerError,
    TaxOption,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_discount,
    parse_quantity,
    parse_tax,
    parse_text,
    parse_unit_price,
)
from store.money import MAX_QUANTITY, MAX_UNIT_PRICE, round_money

D = Decimal
NBSP = "\u00a0"
TODAY = date(2026, 11, 28)
IVA21 = TaxOption(1, "IVA 21 %", D(21))
IVA10 = TaxOption(2, "IVA 10 %", D(10))
IVA4 = TaxOption(3, "IVA 4 %", D(4))
EXENTO = TaxOption(4, "Exento 0 %", D(0))
DEMO_TAXES = (IVA21, IVA10, IVA4, EXENTO)
DEMO_NAMES = "IVA 21 %, IVA 10 %, IVA 4 %, Exento 0 %"
PO_STATUSES = ("Creada", "Aprobada", "Enviada al proveedor", "Recibida")
CASE_STATUSES = ("Abierto", "En curso", "En espera de respuesta", "Cerrado")


def answer_error(call: Callable[[], object]) -> AnswerError:
    """The AnswerError ``call`` raises, checked to carry exactly the params its key documents."""
    with pytest.raises(AnswerError) as caught:
        call()
    error = caught.value
    assert error.key in ERRORS
    assert set(error.params) == set(ERRORS[error.key]), error.params
    return error


def outcome(call: Callable[[], object]) -> object:
    """What ``call`` returns, or the AnswerError it raises; any other exception propagates."""
    try:
        return call()
    except AnswerError as error:
        return error


# ---------------------------------------------------------------------------- parse_decimal


@pytest.mark.parametrize(
    ("locale", "text", "value"),
    [
        # DOMAIN §3: the three forms are one number in es
        ("es", "1.234,56", "1234.56"),
        ("es", "1234,56", "1234.56"),
        ("es", "1234.56", "1234.56"),
        # one kind of mark: es decimal comma; a dot groups only exactly three digits
        ("es", "1.234", "1234"),
        ("es", "12.5", "12.5"),
        ("es", "1.000", "1000"),
        ("es", "1.234.567", "1234567"),
        ("es", "1.234.567,89", "1234567.89"),
        ("es", "0.125", "0.125"),  # a grouped number never starts with 0
        ("es", "1.2345", "1.2345"),
        ("es", "2,500", "2.500"),
        ("es", "0,5", "0.5"),
        ("es", ",5", "0.5"),
        # both marks: the last one is the decimal mark, whatever the locale
        ("es", "1,234.56", "1234.56"),
        ("es", "1,234,567.5", "1234567.5"),
        # plain integers, signs, spaces, currency
        ("es", "2", "2"),
        ("es", "0", "0"),
        ("es", "000123", "123"),
        ("es", "+2,5", "2.5"),
        ("es", "  7  ", "7"),
        ("es", "12,50 €", "12.50"),
        ("es", "12,50€", "12.50"),
        ("es", "€12,50", "12.50"),
        ("es", "€ 12,50", "12.50"),
        ("es", "EUR 12,50", "12.50"),
        ("es", "12,50 eur", "12.50"),
        ("es", f"{NBSP}12,50{NBSP}€{NBSP}", "12.50"),
        ("es", f"1.234,56{NBSP}€", "1234.56"),  # what format_money shows
        ("es", "123456789012345", "123456789012345"),  # 15 digits
        ("es", "1234567890,12345", "1234567890.12345"),
        # en mirrors es; a lone comma with other than 3 digits is a decimal comma
        ("en", "1,234.56", "1234.56"),
        ("en", "1234.56", "1234.56"),
        ("en", "1234,56", "1234.56"),
        ("en", "1,234", "1234"),
        ("en", "12,5", "12.5"),
        ("en", "0,125", "0.125"),
        ("en", "1.234", "1.234"),
        ("en", "1,234,567.89", "1234567.89"),
        ("en", "1.234,56", "1234.56"),
        ("en", "€1,234.56", "1234.56"),
        ("en", "EUR1,234.56", "1234.56"),
        ("en", ".5", "0.5"),
        ("en-US", "1,234.5", "1234.5"),
        ("EN_gb", "1,234", "1234"),
        ("fr", "1.234", "1234"),  # any non-English locale reads Spanish
    ],
)
def test_parse_decimal(locale: str, text: str, value: str) -> None:
    parsed = parse_decimal(text, locale)
    assert parsed == D(value)
    assert isinstance(parsed, Decimal)


@pytest.mark.parametrize("locale", ["es", "en"])
@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "-5",
        "−5",
        "- 5",
        "5-",
        "1e3",
        "1E3",
        "NaN",
        "nan",
        "sNaN",
        "inf",
        "Infinity",
        "1_000",
        "0x10",
        "1,2,3",
        "1.2.3",
        "1.234,56,7",
        "1,234.567,8",
        "12.34.567,5",
        "1.2,5",
        "5,",
        "5.",
        ".",
        ",",
        "+",
        "++5",
        "+-5",
        "1 234,56",
        "1234567890123456",  # 16 digits
        "€5 €",
        "EUR 5 EUR",
        "5 € €",
        "$5",
        "5 USD",
        "12,5%",
        "٥",
        "１２",
        "½",
        "2²",
        "1" * 200,
    ],
)
def test_parse_decimal_rejects(locale: str, text: str) -> None:
    error = answer_error(lambda: parse_decimal(text, locale))
    assert error.key == "bad_number"
    assert error.params["example"] == ("1234.56" if locale == "en" else "1234,56")


def test_bad_answers_are_echoed_on_one_short_line() -> None:
    assert answer_error(lambda: parse_decimal(" a\n  b ", "es")).params["typed"] == "a b"
    long = answer_error(lambda: parse_decimal("x" * 500, "es")).params["typed"]
    assert long == "x" * 39 + "…"


@given(st.text(), st.sampled_from(["es", "en"]))
def test_parse_decimal_raises_only_answer_error(text: str, locale: str) -> None:
    number = outcome(lambda: parse_decimal(text, locale))
    if isinstance(number, AnswerError):
        assert number.key == "bad_number"
    else:
        assert isinstance(number, Decimal)
        assert number.is_finite()
        assert number >= 0


@given(st.text(alphabet="0123456789.,+-€EURe %\u00a0\u202f"), st.sampled_from(["es", "en"]))
def test_parse_decimal_raises_only_answer_error_on_number_like_text(text: str, locale: str) -> None:
    try:
        number = parse_decimal(text, locale)
    except AnswerError:
        return
    assert number.is_finite()
    assert number >= 0
    assert len(number.as_tuple().digits) <= MAX_DIGITS


def _in_locale(text: str, locale: str) -> str:
    """``format(d, "f")``/``format(d, ",f")`` output with the locale's marks."""
    return text if locale == "en" else text.translate(str.maketrans(",.", ".,"))


@st.composite
def decimals_up_to_4_places(draw: st.DrawFn) -> Decimal:
    places = draw(st.integers(0, 4))
    high = D(10) ** (MAX_DIGITS - 4) - 1  # 11 integer digits + 4 decimals = MAX_DIGITS
    return draw(st.decimals(0, high, places=places, allow_nan=False, allow_infinity=False))


@given(decimals_up_to_4_places(), st.sampled_from(["es", "en"]), st.booleans())
def test_parse_decimal_round_trips_the_locale_form(d: Decimal, locale: str, grouped: bool) -> None:
    text = _in_locale(format(d, ",f" if grouped else "f"), locale)
    assert parse_decimal(text, locale) == d


@given(decimals_up_to_4_places(), st.sampled_from(["es", "en"]))
def test_what_the_bot_shows_can_be_typed_back(d: Decimal, locale: str) -> None:
    assert parse_decimal(format_money(d, "EUR", locale), locale) == round_money(d)
    if d > 0 and d <= MAX_QUANTITY and d == d.quantize(D("0.001")):
        assert parse_quantity(format_decimal(d, locale), locale) == d


# ---------------------------------------------------------------------------- quantity, price


@pytest.mark.parametrize(
    ("locale", "text", "value"),
    [
        ("es", "2", "2"),
        ("es", "2,5", "2.5"),
        ("es", "2,500", "2.5"),
        ("es", "1.000", "1000"),
        ("es", "1.000,5", "1000.5"),
        ("es", "0,001", "0.001"),
        ("es", "+3", "3"),
        ("es", "9999999999,999", "9999999999.999"),
        ("en", "2.5", "2.5"),
        ("en", "1,000", "1000"),
        ("en", "1.000", "1"),
        ("en", "2,5", "2.5"),
    ],
)
def test_parse_quantity(locale: str, text: str, value: str) -> None:
    parsed = parse_quantity(text, locale)
    assert parsed == D(value)
    assert str(parsed) == value  # normalized: no trailing zeros, no exponent


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("es", "0"),
        ("es", "0,000"),
        ("es", "-1"),
        ("es", "2,0001"),
        ("es", "abc"),
        ("es", ""),
        ("es", "10000000000"),
        ("es", "2 €"),
        ("es", "2,5 kg"),
        ("en", "0.0005"),
        ("en", "two"),
    ],
)
def test_parse_quantity_rejects(locale: str, text: str) -> None:
    error = answer_error(lambda: parse_quantity(text, locale))
    assert error.key == "bad_quantity"
    assert error.params == {
        "typed": text.strip(),
        "example": "2.5" if locale == "en" else "2,5",
        "max": MAX_QUANTITY,
        "places": 3,
    }


@pytest.mark.parametrize(
    ("locale", "text", "value"),
    [
        ("es", "12,50", "12.5"),
        ("es", "12,50 €", "12.5"),
        ("es", "0", "0"),
        ("es", "0,0001", "0.0001"),
        ("es", "1.234,5678", "1234.5678"),
        ("es", "1234.56", "1234.56"),
        ("es", "€1.234", "1234"),
        ("en", "12.50", "12.5"),
        ("en", "€1,234.56", "1234.56"),
        ("en", "1234,56", "1234.56"),
    ],
)
def test_parse_unit_price(locale: str, text: str, value: str) -> None:
    assert str(parse_unit_price(text, locale)) == value


@pytest.mark.parametrize(
    ("locale", "text"),
    [("es", "-1"), ("es", "1,23456"), ("es", "abc"), ("es", "10000000000"), ("en", "12.50%")],
)
def test_parse_unit_price_rejects(locale: str, text: str) -> None:
    error = answer_error(lambda: parse_unit_price(text, locale))
    assert error.params == {
        "typed": text,
        "example": "12.50" if locale == "en" else "12,50",
        "max": MAX_UNIT_PRICE,
        "places": 4,
    }
    assert error.key == "bad_price"


# ---------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [
        ("es", "hoy", TODAY),
        ("es", " Hoy ", TODAY),
        ("es", "HOY", TODAY),
        ("es", "mañana", date(2026, 11, 29)),
        ("es", "Mañana", date(2026, 11, 29)),
        ("es", "manana", date(2026, 11, 29)),
        ("es", "ayer", date(2026, 11, 27)),
        ("es", "today", TODAY),  # both languages work in both locales
        ("es", "tomorrow", date(2026, 11, 29)),
        ("es", "yesterday", date(2026, 11, 27)),
        ("es", "28/11/2026", TODAY),
        ("es", "1/12/2026", date(2026, 12, 1)),
        ("es", "01/12/26", date(2026, 12, 1)),
        ("es", "1/2/26", date(2026, 2, 1)),
        ("es", "31/12/99", date(2099, 12, 31)),
        ("es", "28-11-2026", TODAY),
        ("es", "28.11.2026", TODAY),
        ("es", "29/02/2028", date(2028, 2, 29)),
        ("es", "2026-11-28", TODAY),
        ("es", "2026-1-5", date(2026, 1, 5)),
        ("es", "01/01/1900", date(1900, 1, 1)),
        ("en", "today", TODAY),
        ("en", "Tomorrow", date(2026, 11, 29)),
        ("en", "yesterday", date(2026, 11, 27)),
        ("en", "hoy", TODAY),
        ("en", "11/28/2026", TODAY),
        ("en", "12/1/2026", date(2026, 12, 1)),
        ("en", "2/1/26", date(2026, 2, 1)),
        ("en", "2026-11-28", TODAY),
    ],
)
def test_parse_date(locale: str, text: str, expected: date) -> None:
    assert parse_date(text, locale, TODAY) == expected


def test_relative_dates_cross_months_and_years() -> None:
    assert parse_date("mañana", "es", date(2026, 12, 31)) == date(2027, 1, 1)
    assert parse_date("ayer", "es", date(2026, 3, 1)) == date(2026, 2, 28)


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("es", "31/02/2026"),
        ("es", "29/02/2026"),
        ("es", "32/01/2026"),
        ("es", "00/01/2026"),
        ("es", "1/13/2026"),
        ("es", "11/28/2026"),  # month 28: es is day first
        ("es", "28/11"),
        ("es", "28/11/202"),
        ("es", "28-11/2026"),
        ("es", "2026-02-30"),
        ("es", "2026/11/28"),
        ("es", "2026-11-28T10:00"),
        ("es", "31/12/1899"),
        ("es", "01/01/2200"),
        ("es", "0026-11-28"),
        ("es", "pasado mañana"),
        ("es", "mañana por la tarde"),
        ("es", ""),
        ("es", "-1/12/2026"),
        ("en", "28/11/2026"),
        ("en", "28.11.2026"),
        ("en", "11-28-2026"),
        ("en", "2/30/2026"),
        ("en", "soon"),
    ],
)
def test_parse_date_rejects(locale: str, text: str) -> None:
    error = answer_error(lambda: parse_date(text, locale, TODAY))
    assert error.key == "bad_date"
    example = "11/28/2026" if locale == "en" else "28/11/2026"
    assert error.params == {"typed": text, "example": example, "iso": "2026-11-28"}


def test_bad_date_example_pads_day_and_month() -> None:
    error = answer_error(lambda: parse_date("x", "es", date(2026, 3, 5)))
    assert (error.params["example"], error.params["iso"]) == ("05/03/2026", "2026-03-05")


# ---------------------------------------------------------------------------- discounts


@pytest.mark.parametrize(
    ("locale", "text", "percent", "amount"),
    [
        ("es", "10%", "10", None),
        ("es", "10 %", "10", None),
        ("es", f"10{NBSP}%", "10", None),
        ("es", "10,5%", "10.5", None),
        ("es", f"10,5{NBSP}%", "10.5", None),  # what format_percent_rate shows
        ("es", "0,125 %", "0.125", None),
        ("es", "100%", "100", None),
        ("es", "100,000 %", "100", None),
        ("es", "10％", "10", None),
        ("es", "5", None, "5.00"),
        ("es", "5,00", None, "5.00"),
        ("es", "5,5", None, "5.50"),
        ("es", "5 €", None, "5.00"),
        ("es", "€5", None, "5.00"),
        ("es", "1.234,5", None, "1234.50"),
        ("es", "0", None, None),
        ("es", "0%", None, None),
        ("es", "0 %", None, None),
        ("es", "0,00 €", None, None),
        ("en", "10.5%", "10.5", None),
        ("en", "10,5%", "10.5", None),
        ("en", "5.00", None, "5.00"),
        ("en", "€5", None, "5.00"),
        ("en", "1,234.50", None, "1234.50"),
    ],
)
def test_parse_discount(locale: str, text: str, percent: str | None, amount: str | None) -> None:
    parsed = parse_discount(text, locale)
    assert parsed == (
        None if percent is None else D(percent),
        None if amount is None else D(amount),
    )
    if amount is not None:
        assert str(parsed[1]) == amount  # amounts come back in cents


@pytest.mark.parametrize(
    ("locale", "text", "key"),
    [
        ("es", "101%", "bad_percent"),
        ("es", "100,001%", "bad_percent"),
        ("es", "-5%", "bad_percent"),
        ("es", "abc%", "bad_percent"),
        ("es", "%", "bad_percent"),
        ("es", "10,1234%", "bad_percent"),
        ("es", "10 € %", "bad_percent"),
        ("es", "10%%", "bad_percent"),
        ("en", "150%", "bad_percent"),
        ("es", "5,001", "bad_discount"),
        ("es", "-5", "bad_discount"),
        ("es", "abc", "bad_discount"),
        ("es", "", "bad_discount"),
        ("es", "10 pct", "bad_discount"),
        ("es", "1000000000000", "bad_discount"),
        ("en", "5.001", "bad_discount"),
    ],
)
def test_parse_discount_rejects(locale: str, text: str, key: str) -> None:
    error = answer_error(lambda: parse_discount(text, locale))
    assert error.key == key
    assert error.params["typed"] == text
    percent_example = "10%" if locale == "en" else "10 %"
    if key == "bad_percent":
        assert (error.params["example"], error.params["max"]) == (percent_example, D(100))
        assert error.params["places"] == 3
    else:
        assert error.params["example"] == ("12.50" if locale == "en" else "12,50")
        assert (error.params["example_percent"], error.params["places"]) == (percent_example, 2)


# ---------------------------------------------------------------------------- taxes


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [
        # by list number (1-based): a bare integer 1..4 is always the list number
        ("es", "1", IVA21),
        ("es", "2", IVA10),
        ("es", " 2 ", IVA10),
        ("es", "3", IVA4),
        ("es", "4", EXENTO),  # option 4, not the 4 % rate: that is "4%" or "4,0"
        # by rate: any other number, with or without "%"
        ("es", "21", IVA21),
        ("es", "21%", IVA21),
        ("es", "21 %", IVA21),
        ("es", f"21{NBSP}%", IVA21),
        ("es", "10", IVA10),
        ("es", "10%", IVA10),
        ("es", "10,0", IVA10),
        ("es", "4%", IVA4),
        ("es", "4 %", IVA4),
        ("es", "4,0", IVA4),
        ("es", "21,000 %", IVA21),
        ("en", "10.0", IVA10),
        ("en", "21%", IVA21),
        # by name, folded, whole words
        ("es", "IVA 10 %", IVA10),
        ("es", "iva 10 %", IVA10),
        ("es", "iva 10%", IVA10),
        ("es", "IVA10%", IVA10),
        ("es", "iva 10", IVA10),
        ("es", "Iva 21", IVA21),
        ("es", "iva  4", IVA4),
        ("es", "Exento 0 %", EXENTO),
        ("es", "exento 0", EXENTO),
        # no tax -> the 0 % option when it is offered
        ("es", "exento", EXENTO),
        ("es", "EXENTO", EXENTO),
        ("es", "exenta", EXENTO),
        ("es", "ninguno", EXENTO),
        ("es", "sin impuesto", EXENTO),
        ("en", "exempt", EXENTO),
        ("en", "None", EXENTO),
        ("es", "0", EXENTO),
        ("es", "0%", EXENTO),
        ("es", "0 %", EXENTO),
        ("es", "0,0", EXENTO),
    ],
)
def test_parse_tax(locale: str, text: str, expected: TaxOption) -> None:
    assert parse_tax(text, DEMO_TAXES, locale) is expected


@pytest.mark.parametrize("text", ["exento", "exempt", "0", "0%", "ninguno", "none"])
def test_no_tax_without_a_zero_rate_option_is_none(text: str) -> None:
    assert parse_tax(text, (IVA21, IVA10, IVA4), "es") is None


@pytest.mark.parametrize(
    "text", ["5", "7%", "2,5", "-21", "abc", "", "iva 7", "iva 1", "exen", "igic", "99999999999"]
)
def test_parse_tax_rejects_naming_the_options(text: str) -> None:
    error = answer_error(lambda: parse_tax(text, DEMO_TAXES, "es"))
    assert error.key == "bad_tax"
    assert error.params == {"typed": text, "names": DEMO_NAMES, "count": 4}


def test_parse_tax_with_nothing_offered() -> None:
    assert parse_tax("exento", (), "es") is None
    error = answer_error(lambda: parse_tax("1", (), "es"))
    assert error.params == {"typed": "1", "names": "", "count": 0}


def test_parse_tax_ambiguity() -> None:
    error = answer_error(lambda: parse_tax("iva", DEMO_TAXES, "es"))
    assert error.key == "ambiguous"
    assert error.params == {"typed": "iva", "matches": "IVA 21 %, IVA 10 %, IVA 4 %", "count": 3}
    igic = TaxOption(None, "IGIC 21", D(21))
    error = answer_error(lambda: parse_tax("21 %", (IVA21, igic), "es"))
    assert (error.key, error.params["matches"]) == ("ambiguous", "IVA 21 %, IGIC 21")


def test_an_exact_tax_name_beats_a_longer_one() -> None:
    general, reduced = TaxOption(1, "IVA", D(21)), TaxOption(2, "IVA reducido", D(10))
    assert parse_tax("iva", (general, reduced), "es") is general
    assert parse_tax("iva reducido", (general, reduced), "es") is reduced


# ---------------------------------------------------------------------------- choices


@pytest.mark.parametrize(
    ("labels", "text", "index"),
    [
        (PO_STATUSES, "1", 0),
        (PO_STATUSES, " 4 ", 3),
        (PO_STATUSES, "creada", 0),
        (PO_STATUSES, "CREADA", 0),
        (PO_STATUSES, "aprobada", 1),
        (PO_STATUSES, "apro", 1),
        (PO_STATUSES, "enviada", 2),
        (PO_STATUSES, "Enviada al proveedor", 2),
        (PO_STATUSES, "enviada   al  proveedor", 2),
        (PO_STATUSES, "recibída", 3),
        (CASE_STATUSES, "en curso", 1),
        (CASE_STATUSES, "en e", 2),
        (("Normal", "Normal alta"), "normal", 0),  # exact before prefix
        (("2026", "Otro"), "2", 1),  # a number is the list number ...
        (("2026", "Otro"), "20", None),  # ... never a label prefix
        (PO_STATUSES, "0", None),
        (PO_STATUSES, "5", None),
        (PO_STATUSES, "99999999999999999999", None),
        (PO_STATUSES, "9" * 5000, None),
        (PO_STATUSES, "proveedor", None),
        (PO_STATUSES, "xyz", None),
        (PO_STATUSES, "", None),
        (PO_STATUSES, "   ", None),
        ((), "1", None),
    ],
)
def test_parse_choice(labels: tuple[str, ...], text: str, index: int | None) -> None:
    assert parse_choice(text, labels) == index


@pytest.mark.parametrize(
    ("labels", "text", "matches", "count"),
    [
        (CASE_STATUSES, "en", "En curso, En espera de respuesta", 2),
        (PO_STATUSES, "e", "Enviada al proveedor", 1),
        (("Sí", "Si"), "si", "Sí, Si", 2),
    ],
)
def test_parse_choice_ambiguity(
    labels: tuple[str, ...], text: str, matches: str, count: int
) -> None:
    if count == 1:
        assert parse_choice(text, labels) == labels.index(matches)
        return
    error = answer_error(lambda: parse_choice(text, labels))
    assert error.key == "ambiguous"
    assert error.params == {"typed": text, "matches": matches, "count": count}


# ---------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("text", "multiline", "expected"),
    [
        ("  Hola  ", False, "Hola"),
        ("Compra de\npapel", False, "Compra de papel"),
        ("a\r\n\r\nb", False, "a b"),
        ("a \t  b", False, "a b"),
        ("a\x00b\x07c", False, "abc"),
        ("e\u0301", False, "é"),
        ("a\r\nb  \n\n c \n", True, "a\nb\n\n c"),
        ("\n\n  uno\tdos\n", True, "uno dos"),
        ("a\rb\u2028c", True, "a\nb\nc"),
        ("x\x00y\nz", True, "xy\nz"),
    ],
)
def test_parse_text(text: str, multiline: bool, expected: str) -> None:
    assert parse_text(text, max_len=255, multiline=multiline) == expected


def test_parse_text_length_is_counted_after_cleaning() -> None:
    assert parse_text(" " + "x" * 10 + " ", max_len=10) == "x" * 10
    assert parse_text("e\u0301" * 10, max_len=10) == "é" * 10
    error = answer_error(lambda: parse_text("x" * 11, max_len=10))
    assert (error.key, error.params) == ("too_long", {"max": 10, "length": 11})


@pytest.mark.parametrize("multiline", [False, True])
@pytest.mark.parametrize("text", ["", "   ", "\n \t\n", "\x00"])
def test_parse_text_empty(text: str, multiline: bool) -> None:
    error = answer_error(lambda: parse_text(text, max_len=10, multiline=multiline))
    assert (error.key, error.params) == ("empty", {})
    assert parse_text(text, max_len=10, required=False, multiline=multiline) == ""


def test_parse_text_needs_a_positive_max_len() -> None:
    with pytest.raises(ValueError, match="max_len"):
        parse_text("x", max_len=0)


def test_answer_error_is_a_value_error_with_a_readable_message() -> None:
    error = AnswerError("bad_number", {"typed": "abc", "example": "2,5"})
    assert isinstance(error, ValueError)
    assert (error.key, error.params) == ("bad_number", {"typed": "abc", "example": "2,5"})
    assert "bad_number" in str(error)
    assert AnswerError("empty").params == {}


# ---------------------------------------------------------------------------- every parser


@given(st.text(), st.sampled_from(["es", "en"]))
def test_every_parser_raises_only_answer_error(text: str, locale: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: parse_quantity(text, locale),
        lambda: parse_unit_price(text, locale),
        lambda: parse_discount(text, locale),
        lambda: parse_date(text, locale, TODAY),
        lambda: parse_tax(text, DEMO_TAXES, locale),
        lambda: parse_choice(text, PO_STATUSES),
        lambda: parse_text(text, max_len=20, multiline=len(text) % 2 == 0),
    ]
    for call in calls:
        result = outcome(call)
        if isinstance(result, AnswerError):
            assert set(result.params) == set(ERRORS[result.key])
