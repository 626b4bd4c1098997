"""store.jsontext: the same JSON as the standard library, both ways, whatever the value."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store import jsontext

json_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_value)
def test_text_written_reads_back_the_same_with_either_library(value: Any) -> None:
    text = jsontext.dumps(value)
    assert json.loads(text) == value
    assert jsontext.loads(text) == value
    assert jsontext.loads(json.dumps(value, ensure_ascii=False)) == value


def test_non_ascii_is_kept_and_keys_become_strings_as_with_json() -> None:
    text = jsontext.dumps({"nombre": "Muñoz", 7: True})
    assert "Muñoz" in text
    assert json.loads(text) == json.loads(json.dumps({"nombre": "Muñoz", 7: True}))


def test_what_orjson_refuses_falls_back_to_the_standard_library() -> None:
    for huge in ({"n": 2**80}, {"n": -(2**63) - 1}):  # beyond orjson's 64-bit integers
        assert jsontext.loads(jsontext.dumps(huge)) == huge
        assert type(jsontext.loads(jsontext.dumps(huge))["n"]) is int


def test_other_types_go_to_default_exactly_as_with_json() -> None:
    value = {"at": dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC), "amount": Decimal("1.50")}
    assert json.loads(jsontext.dumps(value, default=str)) == json.loads(
        json.dumps(value, default=str)
    )
    with pytest.raises(TypeError):
        jsontext.dumps({"amount": Decimal("1.50")})


def test_text_that_is_not_json_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"Expecting|Extra data|Unterminated"):
        jsontext.loads("{nope")


def test_a_float_that_is_not_finite_is_written_as_null() -> None:
    assert jsontext.loads(jsontext.dumps({"x": float("inf"), "y": float("nan")})) == {
        "x": None,
        "y": None,
    }
