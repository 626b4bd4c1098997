"""Reply parameters survive the outbox exactly: money stays Decimal, dates stay dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.chat import Param, decode_params, encode_params


def test_parameters_come_back_with_their_exact_types() -> None:
    when = dt.datetime(2026, 11, 28, 23, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    params: dict[str, Param] = {
        "total": Decimal("1234.50"),
        "at": when,
        "day": dt.date(2026, 12, 1),
        "lines": [{"sku": "A-1", "qty": Decimal("2.000"), "price": Decimal("0.10")}],
        "name": "Pérez",
        "count": 3,
        "more": False,
        "note": None,
        "nested": {"inner": [Decimal("-0.01"), {"d": dt.date(2026, 1, 2)}]},
    }
    decoded = decode_params(encode_params(params))
    assert decoded == params
    assert str(decoded["total"]) == "1234.50"  # the scale kept, not only the value
    at = decoded["at"]
    assert isinstance(at, dt.datetime)
    assert at.utcoffset() == dt.timedelta(hours=1)
    assert type(decoded["day"]) is dt.date


def test_a_one_key_object_that_merely_looks_tagged_stays_an_object() -> None:
    assert decode_params('{"x": {"$dec": 5}}') == {"x": {"$dec": 5}}
    assert decode_params('{"x": {"$dec": "1", "other": 2}}') == {"x": {"$dec": "1", "other": 2}}


@pytest.mark.parametrize("stored", ['{"x": 1.5}', '{"x": [NaN]}', '{"x": Infinity}'])
def test_a_stored_float_is_refused_never_read_as_money(stored: str) -> None:
    with pytest.raises(TypeError):
        decode_params(stored)


@pytest.mark.parametrize("stored", ["[1, 2]", '"text"', "null"])
def test_stored_parameters_must_be_an_object(stored: str) -> None:
    with pytest.raises(TypeError):
        decode_params(stored)
