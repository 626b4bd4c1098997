"""Babel's currency, decimal and percent output, with the per-locale lookups done once.

Babel's ``format_*`` parse the locale, look up the pattern, the number symbols and the
currency symbol and precision, and run a quote-stripping regex on every call. Here those
are read once per (locale, currency) from Babel's own data into a ``_Plan``; each call then
repeats only the Decimal steps of ``NumberPattern.apply`` (same operations, in the
caller's decimal context, so rounding and overflow behave identically) plus string work.
Anything a plan does not model (scientific or significant-digit patterns, the plural
currency name ``¤¤¤``, quotes in affixes or symbols, infinities, an empty locale or
currency) goes to Babel itself, so the output can never differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from typing import Final

from babel import Locale
from babel import numbers as babel_numbers
from babel.numbers import NumberPattern

_PLANS: Final = 256  # (locale, currency) pairs kept; a deployment uses a handful
# Babel quantizes to Decimal(10) ** -n, computed per call. quantize reads only the
# exponent, which is exactly -n in any context whose Emin is below -n, so the usual
# quanta are made once.
_QUANTA: Final = tuple(Decimal(10) ** -n for n in range(9))


@dataclass(frozen=True, slots=True)
class _Plan:
    """What ``NumberPattern.apply`` needs, resolved for one locale (and currency)."""

    prefix: tuple[str, str]  # (positive, negative), currency symbol already substituted
    suffix: tuple[str, str]
    scale: int  # 2 for percent patterns: the value is shown times 100
    int_min: int  # integer digits always shown (zero-padded)
    grouping: tuple[int, int]  # (primary, secondary) group sizes; 1000 means none
    frac: tuple[int, int]  # (min, max) fraction digits
    group: str
    decimal: str

    def render(self, number: Decimal, *, decimal_quantization: bool) -> str:
        value = number.scaleb(self.scale)
        negative = int(value.is_signed())  # Babel's test: "-0" takes the negative affixes
        value = abs(value).normalize()
        frac_min, frac_max = self.frac
        if not decimal_quantization:  # Babel keeps every significant fraction digit
            exponent = value.as_tuple().exponent
            assert isinstance(exponent, int)  # finite: checked by the callers
            frac_max = max(frac_max, -exponent)
        quantum = _QUANTA[frac_max] if frac_max < len(_QUANTA) else Decimal(10) ** -frac_max
        whole, _, fraction = f"{value.quantize(quantum):f}".partition(".")
        return (
            self.prefix[negative]
            + self._grouped(whole)
            + self._fraction(fraction or "0", frac_min, frac_max)
            + self.suffix[negative]
        )

    def _grouped(self, digits: str) -> str:
        digits = digits.rjust(self.int_min, "0")
        head = len(digits) - self.grouping[0]  # digits before the last (primary) group
        if head <= 0:
            return digits
        size = self.grouping[1]  # the head splits into secondary groups, from the right
        if head <= size:  # the usual amount: one separator
            return digits[:head] + self.group + digits[head:]
        first = head % size or size
        groups = [digits[:first]]
        groups += [digits[i : i + size] for i in range(first, head, size)]
        groups.append(digits[head:])
        return self.group.join(groups)

    def _fraction(self, digits: str, frac_min: int, frac_max: int) -> str:
        digits = digits.ljust(frac_min, "0")
        # int() as Babel does, so even its error for >4300-digit fractions is the same.
        if frac_max == 0 or (frac_min == 0 and int(digits) == 0):
            return ""
        trimmed = digits.rstrip("0")
        return self.decimal + (trimmed if len(trimmed) >= frac_min else digits[:frac_min])


def _plan(pattern: NumberPattern, locale: Locale, currency: str | None) -> _Plan | None:
    if pattern.exp_prec or "@" in pattern.pattern or not pattern.number_pattern:
        return None
    if min(pattern.grouping) < 1:  # no CLDR pattern has an empty group
        return None
    symbols = locale.number_symbols.get("latn")  # Babel's default numbering system
    if symbols is None:
        return None
    group, decimal = symbols.get("group", ","), symbols.get("decimal", ".")
    prefix, suffix = pattern.prefix, pattern.suffix
    frac = pattern.frac_prec
    if currency is not None:
        if "¤¤¤" in "".join((*prefix, *suffix)):  # plural name: depends on the value
            return None
        code, symbol = currency.upper(), babel_numbers.get_currency_symbol(currency, locale)

        def sub(affix: str) -> str:
            return affix.replace("¤¤", code).replace("¤", symbol)

        prefix, suffix = (sub(prefix[0]), sub(prefix[1])), (sub(suffix[0]), sub(suffix[1]))
        frac = (currency_digits(currency),) * 2
    # Babel strips '...' quoting from the whole output; a quote anywhere (de_CH groups
    # with "'") could pair across the number, so such locales are left to Babel.
    if "'" in "".join((*prefix, *suffix, group, decimal)) or "¤" in group + decimal:
        return None
    return _Plan(
        prefix, suffix, pattern.scale, pattern.int_prec[0], pattern.grouping, frac, group, decimal
    )


@cache
def currency_digits(currency: str) -> int:
    """``babel.numbers.get_currency_precision``, cached: 2 for EUR, 0 for JPY, 3 for BHD."""
    return babel_numbers.get_currency_precision(currency)


@cache
def currency_quantum(currency: str) -> Decimal:
    """``Decimal(1).scaleb(-currency_digits(currency))``, made once: ``0.01`` for EUR."""
    return Decimal(1).scaleb(-currency_digits(currency))


@lru_cache(maxsize=_PLANS)
def _currency_plan(locale: str, currency: str) -> _Plan | None:
    loc = Locale.parse(locale)
    return _plan(loc.currency_formats["standard"], loc, currency)


@lru_cache(maxsize=_PLANS)
def _number_plan(locale: str, percent: bool) -> _Plan | None:
    loc = Locale.parse(locale)
    return _plan(loc.percent_formats[None] if percent else loc.decimal_formats[None], loc, None)


def format_currency(number: Decimal, currency: str, locale: str) -> str:
    """``babel.numbers.format_currency(number, currency, locale=locale)``, same output."""
    plan = _currency_plan(locale, currency) if locale and currency else None
    if plan is None or not number.is_finite():
        return babel_numbers.format_currency(number, currency, locale=locale)
    return plan.render(number, decimal_quantization=True)


def format_decimal(number: Decimal, locale: str, *, decimal_quantization: bool = True) -> str:
    """``babel.numbers.format_decimal`` with the locale's pattern, same output."""
    return _format_number(number, locale, False, decimal_quantization)


def format_percent(number: Decimal, locale: str, *, decimal_quantization: bool = True) -> str:
    """``babel.numbers.format_percent`` with the locale's pattern, same output."""
    return _format_number(number, locale, True, decimal_quantization)


def _format_number(number: Decimal, locale: str, percent: bool, decimal_quantization: bool) -> str:
    plan = _number_plan(locale, percent) if locale else None
    if plan is None or not number.is_finite():
        babel = babel_numbers.format_percent if percent else babel_numbers.format_decimal
        return babel(number, locale=locale, decimal_quantization=decimal_quantization)
    return plan.render(number, decimal_quantization=decimal_quantization)
