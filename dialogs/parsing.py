"""Wizard answer parsers: typed text to numbers, dates, taxes, choices and text, or AnswerError.

Pure and synchronous. Every parser returns a value or raises ``AnswerError(key, params)``:
``key`` names the reply template (the wizard renders it in the user's locale) and ``params``
say what was typed and what would be right. ``ERRORS`` lists the params of every key.

Numbers (DOMAIN §3): ``1.234,56``, ``1234,56`` and ``1234.56`` all mean 1234.56 in ``es``
(in ``en``: ``1,234.56``, ``1234.56``, ``1234,56``). With both marks the last one is the
decimal mark; with one kind only, the locale's decimal mark is decimal, and the other mark
separates thousands only when it groups exactly three digits (es ``1.234`` = 1234, es
``12.5`` = 12.5, es ``0.125`` = 0.125 since no grouped number starts with 0). A leading mark
is allowed (``,5`` = 0.5), a trailing one is not (``5,`` looks unfinished). Never a float.

Taxes: a bare integer from 1 to the number of options is always the list number, any other
number is a rate. With the demo set (IVA 21 %, IVA 10 %, IVA 4 %, Exento 0 %) ``2`` is
IVA 10 %, ``21`` is IVA 21 %, and ``4`` is option 4 (Exento): IVA 4 % is ``4%`` or ``4,0``.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Final, TypeVar

from store.money import (
    MAX_AMOUNT,
    MAX_QUANTITY,
    MAX_UNIT_PRICE,
    MoneyError,
    round_money,
    validate_discount_percent,
    validate_quantity,
    validate_unit_price,
)
from store.text import fold

Param = str | int | Decimal | None
T = TypeVar("T")

# key -> the params it carries; templates `<key>.j2` in both locales may use exactly these.
ERRORS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "bad_number": ("typed", "example"),
        "bad_quantity": ("typed", "example", "max", "places"),
        "bad_price": ("typed", "example", "max", "places"),
        "bad_date": ("typed", "example", "iso"),
        "bad_percent": ("typed", "example", "max", "places"),
        "bad_discount": ("typed", "example", "example_percent", "places"),
        "bad_tax": ("typed", "names", "count"),
        "ambiguous": ("typed", "matches", "count"),
        "too_long": ("max", "length"),
        "empty": (),
    }
)

MAX_DIGITS: Final = 15  # the most digits a typed number may have (prices need 14)
_MAX_NUMBER_TEXT: Final = 100  # longer text is not a number; the regexes never see it
_TYPED_SHOWN: Final = 40  # how much of a bad answer is echoed back
_HUNDRED: Final = Decimal(100)


class AnswerError(ValueError):
    """An answer the wizard cannot take: ``key`` names the reply, ``params`` fill it."""

    def __init__(self, key: str, params: Mapping[str, Param] | None = None) -> None:
        self.key = key
        self.params: dict[str, Param] = dict(params or {})
        super().__init__(f"{key}: {self.params}")


@dataclass(frozen=True, slots=True)
class TaxOption:
    """One tax the user may pick, in the order it is offered (list numbers are 1-based)."""

    id: int | None
    name: str
    rate: Decimal


@dataclass(frozen=True, slots=True)
class _Style:
    decimal: str
    group: str
    month_first: bool
    number: str  # examples shown after a bad answer, already in the locale
    quantity: str
    price: str
    percent: str


_ES: Final = _Style(",", ".", False, "1234,56", "2,5", "12,50", "10 %")
_EN: Final = _Style(".", ",", True, "1234.56", "2.5", "12.50", "10%")


def _style(locale: str) -> _Style:
    # Like the router: any English locale (en, en-US, en_GB) reads English, the rest Spanish.
    return _EN if locale.lower().startswith("en") else _ES


def _shown(text: str) -> str:
    """The answer as echoed in an error: one line, at most _TYPED_SHOWN characters."""
    line = " ".join(text.split())
    return line if len(line) <= _TYPED_SHOWN else line[: _TYPED_SHOWN - 1] + "…"


# ---------------------------------------------------------------------------- numbers

# ASCII digits only: `\d` and Decimal() also take other scripts' digits, and `_` and
# exponents, none of which anyone types as an amount.
_WITH_CURRENCY = re.compile(r"(€|eur)?\s*\+?([0-9.,]+)\s*(€|eur)?", re.IGNORECASE)
_PLAIN = re.compile(r"\s*\+?([0-9.,]+)\s*")


def _grouped(groups: Sequence[str]) -> bool:
    """True when ``groups`` read as thousands groups: ``1|234|567``, not ``12|5``, ``0|125``."""
    head, *rest = groups
    return bool(rest) and 1 <= len(head) <= 3 and head[0] != "0" and all(len(g) == 3 for g in rest)


def _canonical(body: str, style: _Style) -> str | None:
    """``body`` (digits and marks) as ``"1234.56"``, or None when the marks make no sense."""
    marks = {ch for ch in body if ch in ".,"}
    if not marks:
        return body
    group: str | None = None
    if len(marks) == 2:
        decimal = body[max(body.rfind("."), body.rfind(","))]
        group = "," if decimal == "." else "."
    else:
        (decimal,) = marks
        if decimal != style.decimal and _grouped(body.split(decimal)):
            return body.replace(decimal, "")
    if body.count(decimal) != 1:
        return None
    whole, fraction = body.split(decimal)
    if group is not None:
        groups = whole.split(group)
        if not _grouped(groups):
            return None
        whole = "".join(groups)
    if not fraction:
        return None
    return f"{whole or '0'}.{fraction}"


def _number(text: str, locale: str, *, currency: bool) -> Decimal | None:
    """The non-negative number in ``text``, or None; ``currency`` allows "€"/"EUR" around it."""
    if len(text) > _MAX_NUMBER_TEXT:
        return None
    if currency:
        match = _WITH_CURRENCY.fullmatch(text.strip())
        if match is None or (match[1] and match[3]):
            return None
        body = match[2]
    else:
        match = _PLAIN.fullmatch(text)
        if match is None:
            return None
        body = match[1]
    canonical = _canonical(body, _style(locale))
    if canonical is None or sum(ch.isdigit() for ch in canonical) > MAX_DIGITS:
        return None
    return Decimal(canonical)  # digits and one "." only: exact, finite, never an exponent


def parse_decimal(text: str, locale: str) -> Decimal:
    """A non-negative number as typed (``"12,50 €"`` -> 12.50); else ``bad_number``."""
    number = _number(text, locale, currency=True)
    if number is None:
        raise AnswerError("bad_number", {"typed": _shown(text), "example": _style(locale).number})
    return number


def _validated(
    number: Decimal | None, validate: Callable[[Decimal], T], key: str, params: dict[str, Param]
) -> T:
    if number is not None:
        with contextlib.suppress(MoneyError):
            return validate(number)
    raise AnswerError(key, params)


def parse_quantity(text: str, locale: str) -> Decimal:
    """> 0 with at most 3 decimals, normalized (``"2,500"`` -> 2.5); else ``bad_quantity``."""
    params: dict[str, Param] = {
        "typed": _shown(text),
        "example": _style(locale).quantity,
        "max": MAX_QUANTITY,
        "places": 3,
    }
    return _validated(
        _number(text, locale, currency=False), validate_quantity, "bad_quantity", params
    )


def parse_unit_price(text: str, locale: str) -> Decimal:
    """>= 0 with at most 4 decimals, "€" allowed, normalized; else ``bad_price``."""
    params: dict[str, Param] = {
        "typed": _shown(text),
        "example": _style(locale).price,
        "max": MAX_UNIT_PRICE,
        "places": 4,
    }
    return _validated(
        _number(text, locale, currency=True), validate_unit_price, "bad_price", params
    )


# ---------------------------------------------------------------------------- discount


def _discount_amount(amount: Decimal) -> Decimal:
    # Whether it exceeds the line's gross is the caller's check (store.money knows the gross).
    if amount > MAX_AMOUNT or round_money(amount) != amount:
        raise MoneyError("not a discount amount")
    return round_money(amount)


def parse_discount(text: str, locale: str) -> tuple[Decimal | None, Decimal | None]:
    """``(percent, None)`` for ``"10 %"``, ``(None, amount)`` for ``"5,00"``; zero is no discount.

    Percent: 0..100, at most 3 decimals, else ``bad_percent``. Amount: >= 0, at most 2
    decimals, returned in cents (``"5"`` -> 5.00), "€" allowed, else ``bad_discount``.
    ``(None, None)`` means no discount (``"0"``, ``"0 %"``).
    """
    style = _style(locale)
    body = text.strip()
    if body.endswith(("%", "％")):
        params: dict[str, Param] = {
            "typed": _shown(text),
            "example": style.percent,
            "max": _HUNDRED,
            "places": 3,
        }
        number = _number(body[:-1], locale, currency=False)
        percent = _validated(number, validate_discount_percent, "bad_percent", params)
        return (None, None) if percent == 0 else (percent, None)
    params = {
        "typed": _shown(text),
        "example": style.price,
        "example_percent": style.percent,
        "places": 2,
    }
    amount = _validated(
        _number(text, locale, currency=True), _discount_amount, "bad_discount", params
    )
    return (None, None) if amount == 0 else (None, amount)


# ---------------------------------------------------------------------------- dates

_RELATIVE_DAYS: Final = MappingProxyType(
    {"hoy": 0, "today": 0, "manana": 1, "tomorrow": 1, "ayer": -1, "yesterday": -1}
)
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_ES_DATE = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})")  # one separator
_EN_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4}|[0-9]{2})")
# A document dated before 1900 or after 2199 is a typo ("0026" for "2026"), not a date.
_FIRST_YEAR: Final = 1900
_LAST_YEAR: Final = 2199


def _ymd(text: str, style: _Style) -> tuple[int, int, int] | None:
    """(year, month, day) as written, not yet checked; None when the form is not a date."""
    if match := _ISO_DATE.fullmatch(text):
        return int(match[1]), int(match[2]), int(match[3])
    if style.month_first:
        if match := _EN_DATE.fullmatch(text):
            month, day, year = match[1], match[2], match[3]
            return _full_year(year), int(month), int(day)
    elif match := _ES_DATE.fullmatch(text):
        day, month, year = match[1], match[3], match[4]
        return _full_year(year), int(month), int(day)
    return None


def _full_year(year: str) -> int:
    return 2000 + int(year) if len(year) == 2 else int(year)


def parse_date(text: str, locale: str, today: date) -> date:
    """hoy/today, mañana/tomorrow, ayer/yesterday, ISO ``aaaa-mm-dd``, and ``dd/mm/aaaa``,
    ``dd-mm-aaaa``, ``dd.mm.aaaa`` (es) or ``mm/dd/yyyy`` (en); 2-digit years are 20xx.

    Anything else, an impossible date (31/02/2026) or a year outside 1900..2199 is ``bad_date``.
    """
    style = _style(locale)
    folded = fold(text)
    with contextlib.suppress(OverflowError, ValueError):
        if folded in _RELATIVE_DAYS:
            return today + timedelta(days=_RELATIVE_DAYS[folded])
        ymd = _ymd(folded, style)
        if ymd is not None and _FIRST_YEAR <= ymd[0] <= _LAST_YEAR:
            return date(*ymd)
    day, month = f"{today.day:02d}", f"{today.month:02d}"
    example = f"{month}/{day}/{today.year}" if style.month_first else f"{day}/{month}/{today.year}"
    raise AnswerError(
        "bad_date", {"typed": _shown(text), "example": example, "iso": today.isoformat()}
    )


# ---------------------------------------------------------------------------- taxes

_NO_TAX: Final = frozenset(
    {"exento", "exenta", "exempt", "ninguno", "ninguna", "none", "sin impuesto", "no tax"}
)
# Tax names compare word by word, with numbers and "%" as words of their own, so
# "IVA 10 %", "iva 10%" and "IVA10%" are one name and "iva 10" is a prefix of it, but
# "iva 1" is not (no guessing which rate starting with 1 was meant).
_NAME_WORDS = re.compile(r"[0-9]+(?:[.,][0-9]+)?|[^\W\d_]+|%")


def _list_number(folded: str, count: int) -> int | None:
    """The 0-based index of a bare list number 1..count, else None."""
    # At most 9 digits: int() refuses very long digit strings, and no list is that long.
    if folded.isascii() and folded.isdigit() and len(folded) <= 9 and 1 <= int(folded) <= count:
        return int(folded) - 1
    return None


def _rate(text: str, locale: str) -> Decimal | None:
    """The rate in ``"21"``, ``"21 %"``, ``"10,0"``; None when the text is not one."""
    body = text.strip()
    if body.endswith(("%", "％")):
        body = body[:-1]
    return _number(body, locale, currency=False)


def _one(typed: str, found: Sequence[T], names: Callable[[T], str]) -> T | None:
    """The only one found, None for none, AnswerError ``ambiguous`` for several."""
    if len(found) > 1:
        matches = ", ".join(names(item) for item in found)
        raise AnswerError(
            "ambiguous", {"typed": _shown(typed), "matches": matches, "count": len(found)}
        )
    return found[0] if found else None


def _tax_by_name(text: str, options: Sequence[TaxOption]) -> TaxOption | None:
    typed = _NAME_WORDS.findall(fold(text))
    if not typed:
        return None
    words = [_NAME_WORDS.findall(fold(option.name)) for option in options]
    exact = [o for o, w in zip(options, words, strict=True) if w == typed]
    prefix = [o for o, w in zip(options, words, strict=True) if w[: len(typed)] == typed]
    return _one(text, exact or prefix, lambda option: option.name)


def _zero_rate(options: Sequence[TaxOption]) -> TaxOption | None:
    return next((option for option in options if option.rate == 0), None)


def parse_tax(text: str, options: Sequence[TaxOption], locale: str) -> TaxOption | None:
    """An option by list number, rate or name; None (or the 0 % option) for no tax.

    In this order: a bare integer 1..len(options) -> that option (so "2" is option 2 even
    if some rate is 2); a no-tax word (exento, exempt, ninguno, none) or rate 0 -> the 0 %
    option if offered, else None; any other number, with or without "%" -> the option with
    that rate ("21" -> IVA 21 %); else a folded name, whole words, exact before prefix.
    Several matches -> ``ambiguous``; no match -> ``bad_tax`` with the names.
    """
    folded = fold(text)
    index = _list_number(folded, len(options))
    if index is not None:
        return options[index]
    rate = None if folded in _NO_TAX else _rate(text, locale)
    if folded in _NO_TAX or rate == 0:
        return _zero_rate(options)
    if rate is not None:
        found = _one(text, [o for o in options if o.rate == rate], lambda option: option.name)
    else:
        found = _tax_by_name(text, options)
    if found is None:
        names = ", ".join(option.name for option in options)
        raise AnswerError("bad_tax", {"typed": _shown(text), "names": names, "count": len(options)})
    return found


# ---------------------------------------------------------------------------- choices and text


def parse_choice(text: str, labels: Sequence[str]) -> int | None:
    """The 0-based index of the label meant by ``text``; None when nothing matches.

    A number 1..len(labels) is that label (numbers win over labels that look like numbers);
    otherwise the folded text is compared with the folded labels, exact matches before
    prefixes ("apro" -> "Aprobada"). Several matches -> AnswerError ``ambiguous``.
    """
    folded = fold(text)
    if not folded:
        return None
    if folded.isascii() and folded.isdigit():
        return _list_number(folded, len(labels))
    keys = [fold(label) for label in labels]
    exact = [i for i, key in enumerate(keys) if key == folded]
    prefix = [i for i, key in enumerate(keys) if key.startswith(folded)]
    return _one(text, exact or prefix, lambda i: labels[i])


def _without_controls(text: str) -> str:
    # Control characters (NUL among them, which PostgreSQL refuses in text) carry nothing a
    # user meant; newlines and tabs are whitespace and handled by the caller.
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def parse_text(text: str, *, max_len: int, required: bool = True, multiline: bool = False) -> str:
    """The answer trimmed, NFC-normalized and without control characters.

    Single-line fields collapse every run of whitespace (newlines too) to one space; multiline
    fields keep their lines, minus trailing spaces. Longer than ``max_len`` characters ->
    ``too_long``; nothing left and ``required`` -> ``empty``; optional and empty -> ``""``.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    # splitlines() first: it also splits \r and \x1c-\x1e, which _without_controls would drop.
    lines = [_without_controls(line) for line in unicodedata.normalize("NFC", text).splitlines()]
    if multiline:
        clean = "\n".join(line.replace("\t", " ").rstrip() for line in lines).strip()
    else:
        clean = " ".join(" ".join(lines).split())
    if len(clean) > max_len:
        raise AnswerError("too_long", {"max": max_len, "length": len(clean)})
    if not clean and required:
        raise AnswerError("empty", {})
    return clean
