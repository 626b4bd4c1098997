"""The ``atras`` history: differences instead of copies, and every step restored exactly."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs import history

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from([0.0, 1.0, 2.5]),
    st.text(max_size=3),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from("abcd"), inner, max_size=3)
    ),
    max_leaves=8,
)
dialog_data = st.dictionaries(
    st.sampled_from(["fields", "errors", "lines", "flag", "x"]), json_value
)


def stored(value: Any) -> Any:
    """As the session row keeps it: through JSON."""
    return json.loads(json.dumps(value))


@settings(max_examples=300, deadline=None)
@given(st.lists(dialog_data, min_size=1, max_size=8))
def test_popping_every_entry_gives_back_each_snapshot_exactly(
    snapshots: list[dict[str, Any]],
) -> None:
    kept: list[dict[str, Any]] = []
    for number, snapshot in enumerate(snapshots):
        history.push(kept, f"step{number}", copy.deepcopy(snapshot))
        kept = stored(kept)  # each message reads the row back
    for number in reversed(range(len(snapshots))):
        entry = history.pop(kept)
        assert entry is not None
        assert entry["state"] == f"step{number}"
        # Exact as JSON, types included: True stays True, 1 stays 1, 1.0 stays 1.0.
        assert json.dumps(entry["data"], sort_keys=True) == json.dumps(
            stored(snapshots[number]), sort_keys=True
        )
        kept = stored(kept)
    assert history.pop(kept) is None


@settings(max_examples=200, deadline=None)
@given(dialog_data, dialog_data)
def test_patch_undoes_diff(base: dict[str, Any], target: dict[str, Any]) -> None:
    base, target = stored(base), stored(target)
    rebuilt = history.patch(target, history.diff(target, base))
    assert json.dumps(rebuilt, sort_keys=True) == json.dumps(base, sort_keys=True)


def test_only_the_newest_entry_keeps_a_full_copy() -> None:
    kept: list[dict[str, Any]] = []
    fields: dict[str, Any] = {"title": "Pedido", "vendor": {"id": 7, "name": "Aceros Norte"}}
    for step in ("title", "vendor", "contact", "date", "status"):
        history.push(kept, step, {"fields": copy.deepcopy(fields), "errors": 0})
        fields[f"{step}_answer"] = f"answer to {step}"
    assert ["data" in entry for entry in kept] == [False, False, False, False, True]
    # An older entry holds only what its answer changed, not the vendor again.
    assert "Aceros Norte" not in json.dumps(kept[:-1])


def test_true_and_one_are_told_apart() -> None:
    kept: list[dict[str, Any]] = []
    history.push(kept, "a", {"flag": True})
    history.push(kept, "b", {"flag": 1})
    history.pop(kept)
    entry = history.pop(kept)
    assert entry is not None
    assert entry["data"] == {"flag": True}
    assert entry["data"]["flag"] is True


def test_entries_written_as_full_copies_by_an_older_version_still_pop() -> None:
    old_format = [
        {"state": "title", "data": {"fields": {}}},
        {"state": "vendor", "data": {"fields": {"title": "T"}}},
    ]
    history.push(old_format, "contact", {"fields": {"title": "T", "vendor": "V"}})
    popped = [history.pop(old_format) for _ in range(3)]
    assert [(p or {}).get("state") for p in popped] == ["contact", "vendor", "title"]
    assert [(p or {}).get("data") for p in popped] == [
        {"fields": {"title": "T", "vendor": "V"}},
        {"fields": {"title": "T"}},
        {"fields": {}},
    ]


def test_the_limit_keeps_the_newest_entries_restorable() -> None:
    kept: list[dict[str, Any]] = []
    for number in range(history.HISTORY_LIMIT + 10):
        history.push(kept, str(number), {"n": number})
    assert len(kept) == history.HISTORY_LIMIT
    restored = [history.pop(kept) for _ in range(history.HISTORY_LIMIT)]
    assert [(entry or {})["data"]["n"] for entry in restored] == list(
        reversed(range(10, history.HISTORY_LIMIT + 10))
    )
    assert history.pop(kept) is None


def test_a_popped_snapshot_shares_nothing_with_the_entry_left_below() -> None:
    kept: list[dict[str, Any]] = []
    history.push(kept, "a", {"fields": {"lines": [1]}})
    history.push(kept, "b", {"fields": {"lines": [1, 2]}})
    history.push(kept, "c", {"fields": {"lines": [1, 2, 3]}})
    history.pop(kept)
    entry = history.pop(kept)
    assert entry is not None
    entry["data"]["fields"]["lines"].append(99)  # the dialog goes on editing what it got back
    below = history.pop(kept)
    assert below is not None
    assert below["data"] == {"fields": {"lines": [1]}}


def test_a_damaged_entry_empties_the_history_instead_of_crashing() -> None:
    kept: list[dict[str, Any]] = [{"state": "a", "delta": {}}]
    assert history.pop(kept) is None
    assert kept == []


@given(dialog_data)
def test_a_copy_is_equal_as_json_and_shares_nothing_mutable(data: dict[str, Any]) -> None:
    copied = history.copy_dict(data)
    assert json.dumps(copied, sort_keys=True) == json.dumps(data, sort_keys=True)
    before = json.dumps(data, sort_keys=True)
    _mutate_every_container(copied)
    assert json.dumps(data, sort_keys=True) == before  # the original is untouched


def _mutate_every_container(value: Any) -> None:
    if isinstance(value, dict):
        for item in list(value.values()):
            _mutate_every_container(item)
        value["__added__"] = True
    elif isinstance(value, list):
        for item in value:
            _mutate_every_container(item)
        value.append("__added__")
