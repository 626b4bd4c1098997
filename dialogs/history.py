"""The ``atras`` history of a dialog, kept small: one full snapshot, the rest as differences.

Each accepted answer remembers the step and the data before it. Stored as full copies, a
purchase order's history grows with the square of its steps (6 KB of JSON by the review,
written back at every step); most of that repeats. So only the newest entry keeps its full
data; each older one keeps what differs from the entry above it, which is exact whatever
changed in between (a miss counted, a flag cleared): an entry is rebuilt from the very
snapshot it was compared with. Entries written by an older version (full, ``data``) stay
readable wherever they are in the list.
"""

from __future__ import annotations

from typing import Any

Data = dict[str, Any]
HISTORY_LIMIT = 50

_FULL = "data"
_DELTA = "delta"
_SET, _UNSET, _NESTED = "set", "unset", "sub"


def copy_data(value: Any) -> Any:
    """A deep copy of dialog data, which is JSON (dicts, lists and immutable leaves).

    ``copy.deepcopy`` keeps a memo of every object it meets, for cycles and shared
    references that JSON cannot have; taking a dialog's snapshot at every step with it
    cost a tenth of the step's own work.
    """
    if isinstance(value, dict):
        return {key: copy_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_data(item) for item in value]
    return value


def copy_dict(data: Data) -> Data:
    """``copy_data`` of a dict."""
    return {key: copy_data(item) for key, item in data.items()}


def diff(base: Data, target: Data) -> Data:
    """What turns ``base`` into ``target``: keys to set, keys to drop, dicts to descend into."""
    to_set: Data = {}
    nested: Data = {}
    for key, value in target.items():
        if key not in base:
            to_set[key] = value
            continue
        old = base[key]
        if _same(old, value):
            continue
        if isinstance(old, dict) and isinstance(value, dict):
            nested[key] = diff(old, value)
        else:
            to_set[key] = value
    delta: Data = {}
    if to_set:
        delta[_SET] = to_set
    unset = [key for key in base if key not in target]
    if unset:
        delta[_UNSET] = unset
    if nested:
        delta[_NESTED] = nested
    return delta


def _same(a: object, b: object) -> bool:
    """Equal as JSON: ``True == 1`` and ``1 == 1.0`` in Python, not once stored and read back."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(map(_same, a, b))
    return a == b


def patch(base: Data, delta: Data) -> Data:
    """``base`` changed by ``delta`` (from ``diff``), as a new copy sharing nothing with either."""
    unset = delta.get(_UNSET, ())
    result = copy_dict({key: value for key, value in base.items() if key not in unset})
    for key, sub in delta.get(_NESTED, {}).items():
        result[key] = patch(result.get(key) or {}, sub)
    result.update(copy_dict(delta.get(_SET, {})))
    return result


def push(history: list[Data], state: str, data: Data) -> None:
    """Remember ``state`` and ``data`` (the caller's own copy) as the newest entry."""
    if history and _FULL in history[-1]:
        # The entry below keeps only its difference from the new one's snapshot.
        below = history[-1]
        history[-1] = {"state": below["state"], _DELTA: diff(data, below[_FULL])}
    history.append({"state": state, _FULL: data})
    # Dropping the oldest loses nothing the others need: each is based on the one above.
    del history[:-HISTORY_LIMIT]


def pop(history: list[Data]) -> Data | None:
    """The newest entry, ``{"state": …, "data": …}``, removed; None when there is none."""
    if not history:
        return None
    top = history.pop()
    if _FULL not in top:  # not written by this module: no base to rebuild anything from
        history.clear()
        return None
    if history and _DELTA in history[-1]:
        below = history[-1]
        history[-1] = {"state": below["state"], _FULL: patch(top[_FULL], below[_DELTA])}
    return top
