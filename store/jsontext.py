"""JSON text for the data written at every message: dialog data, reply parameters.

A purchase order's dialog data (about 2.4 KB by the review) is written back at every step,
and every reply's parameters are encoded into the outbox: with the standard library's
encoder that was about a twentieth of a step's CPU, and orjson's takes a fraction of it.
Its output is plain JSON that the standard library reads back identically.

Reading stays with the standard library: orjson reads an integer below -2**63 as a float,
silently, and a value must never change on its way through the database.
Writing falls back to the standard library for what orjson refuses (integers beyond 64
bits, say), so nothing that could be written before fails now. The one difference left:
a float that is not finite (our data has none; money is Decimal) becomes ``null`` instead
of the ``NaN``/``Infinity`` that JSON does not have.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

# Int keys become strings, as json.dumps does; datetimes and dataclasses go to ``default``
# (or fail) exactly as with json.dumps, instead of orjson's own rendering of them.
_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def dumps(value: Any, *, default: Callable[[Any], Any] | None = None) -> str:
    """``value`` as compact JSON text, non-ASCII kept as it is (``ensure_ascii=False``)."""
    try:
        return orjson.dumps(value, default=default, option=_OPTIONS).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, default=default, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """The value of JSON ``text``; ``ValueError`` when it is not JSON."""
    return json.loads(text)
