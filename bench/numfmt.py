"""Number formatting micro-benchmark: chatfmt's formats through Babel on every call vs numfmt.

``python -m bench.numfmt [--calls N] [--rounds R] [--json]``. For each case, R rounds
alternate the old path (Babel's ``format_*`` per call, as chatfmt did before ``bot.numfmt``)
and the new one (``bot.chatfmt`` as it is), N calls each over a mix of purchase-order
amounts, timed with ``time.process_time`` (CPU time: the machine is shared). Reported:
the median µs per call of each and old / new. Both paths' outputs are compared first.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from babel import __version__ as babel_version
from babel import numbers as babel_numbers

from bench.common import report
from bot import chatfmt

AMOUNTS = tuple(
    Decimal(text)
    for text in ("1234.56", "275.28", "0", "-1234.5", "0.125", "57.8", "12500", "999.995")
)
QUANTITIES = tuple(Decimal(text) for text in ("2.50", "1", "12", "1234.5", "0.001"))
RATES = tuple(Decimal(text) for text in ("21", "10", "4", "0", "10.5"))
Format = Callable[[Decimal], str]


# chatfmt's three formats as they were before bot.numfmt: Babel on every call (the
# benchmark's "old" side, and the reference of tests/unit/test_numfmt.py).
def babel_money(amount: Decimal, currency: str, locale: str) -> str:
    digits = babel_numbers.get_currency_precision(currency)
    with localcontext() as ctx:
        ctx.prec = max(28, len(amount.as_tuple().digits) + 10)
        rounded = amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        if rounded.is_zero():
            rounded = abs(rounded)
        return babel_numbers.format_currency(rounded, currency, locale=locale)


def babel_quantity(value: Decimal, locale: str) -> str:
    value = chatfmt._plain(value)
    with localcontext() as ctx:
        ctx.prec = max(28, len(value.as_tuple().digits) + 10)
        return babel_numbers.format_decimal(value, locale=locale, decimal_quantization=False)


def babel_rate(rate: Decimal, locale: str) -> str:
    fraction = chatfmt._plain(rate).scaleb(-2)
    with localcontext() as ctx:
        ctx.prec = max(28, len(fraction.as_tuple().digits) + 10)
        return babel_numbers.format_percent(fraction, locale=locale, decimal_quantization=False)


def cases() -> dict[str, tuple[Format, Format, tuple[Decimal, ...]]]:
    """name -> (old, new, values)."""
    return {
        "money es EUR": (
            lambda v: babel_money(v, "EUR", "es"),
            lambda v: chatfmt.format_money(v, "EUR", "es"),
            AMOUNTS,
        ),
        "money en USD": (
            lambda v: babel_money(v, "USD", "en"),
            lambda v: chatfmt.format_money(v, "USD", "en"),
            AMOUNTS,
        ),
        "decimal es": (
            lambda v: babel_quantity(v, "es"),
            lambda v: chatfmt.format_decimal(v, "es"),
            QUANTITIES,
        ),
        "percent es": (
            lambda v: babel_rate(v, "es"),
            lambda v: chatfmt.format_percent_rate(v, "es"),
            RATES,
        ),
    }


def _us_per_call(fmt: Format, values: tuple[Decimal, ...], calls: int) -> float:
    todo = (values * (calls // len(values) + 1))[:calls]
    start = time.process_time()
    for value in todo:
        fmt(value)
    return (time.process_time() - start) / calls * 1e6


def run(calls: int, rounds: int) -> dict[str, Any]:
    """Time every case; raise if the two paths ever disagree."""
    results: dict[str, Any] = {}
    for name, (old, new, values) in cases().items():
        for value in values:
            if old(value) != new(value):
                raise AssertionError(f"{name}: {old(value)!r} != {new(value)!r}")
        old_us: list[float] = []
        new_us: list[float] = []
        for _ in range(rounds):
            old_us.append(_us_per_call(old, values, calls))
            new_us.append(_us_per_call(new, values, calls))
        old_median, new_median = statistics.median(old_us), statistics.median(new_us)
        results[name] = {
            "old_us_per_call": round(old_median, 2),
            "new_us_per_call": round(new_median, 2),
            "ratio_old_over_new": round(old_median / new_median, 2),
            "old_runs_us": [round(x, 2) for x in old_us],
            "new_runs_us": [round(x, 2) for x in new_us],
        }
    return {
        "calls_per_round": calls,
        "rounds": rounds,
        "clock": "time.process_time",
        "python": platform.python_version(),
        "babel": babel_version,
        "cases": results,
    }


def table(results: dict[str, Any]) -> str:
    """The human summary of ``results``."""
    lines = ["{:<14}{:>12}{:>12}{:>9}".format("case", "old µs", "new µs", "old/new")]
    for name, case in results["cases"].items():
        lines.append(
            f"{name:<14}{case['old_us_per_call']:>12.2f}{case['new_us_per_call']:>12.2f}"
            f"{case['ratio_old_over_new']:>9.1f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the micro-benchmark and print JSON, then a table."""
    parser = argparse.ArgumentParser(prog="python -m bench.numfmt", description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000, help="calls per round and path")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print only the JSON document")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    results = run(args.calls, args.rounds)
    report(results, table, json_only=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
