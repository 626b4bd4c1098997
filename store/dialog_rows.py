"""Dialog session rows through Core: read for a whole inbox batch at once, written at its end.

Through the ORM every answered step cost its own UPDATE (SQLite cannot report per-row
counts of an executemany, so the unit of work updates row by row), often two when a query
in the step autoflushed the new state before the data, plus identity-map and change
tracking for a row the dialog rewrites whole anyway. Here a batch reads its rows in one
SELECT (locked on PostgreSQL, in key order), the dialogs change plain objects, and
``write`` sends at most one DELETE, one INSERT and one UPDATE executemany.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from store import direct
from store.direct import DirectStatement
from store.models import DialogSession
from store.models.base import table_of

Key = tuple[str, str, str]  # (room_id, user_id, thread_id)

_TABLE = table_of(DialogSession)
_C = _TABLE.c
_KEY_COLUMNS = (_C.room_id, _C.user_id, _C.thread_id)
_FIELDS = ("wizard", "state", "data", "version", "created_at", "updated_at")
_MATCH_KEY = (
    (_C.room_id == bindparam("k_room"))
    & (_C.user_id == bindparam("k_user"))
    & (_C.thread_id == bindparam("k_thread"))
)
_SELECT = (
    select(*_KEY_COLUMNS, *(_C[name] for name in _FIELDS))
    .where(tuple_(*_KEY_COLUMNS).in_(bindparam("keys", expanding=True)))
    .order_by(*_KEY_COLUMNS)
)
# Straight on the driver (store.direct), a batch's rows are read one key at a time: cheaper
# there than one expanding IN through SQLAlchemy for the batches the inbox makes.
_SELECT_ONE = DirectStatement(
    select(*_KEY_COLUMNS, *(_C[name] for name in _FIELDS)).where(_MATCH_KEY)
)
_INSERT = DirectStatement(insert(_TABLE), columns=("room_id", "user_id", "thread_id", *_FIELDS))
# Bound names differ from the columns': Core reserves those for its own SET parameters.
_UPDATE = DirectStatement(
    update(_TABLE).where(_MATCH_KEY).values({name: bindparam(f"v_{name}") for name in _FIELDS})
)
_DELETE = DirectStatement(delete(_TABLE).where(_MATCH_KEY))


@dataclass(slots=True, eq=False)
class DialogRow:
    """One open wizard, as the engine reads and changes it."""

    room_id: str
    user_id: str
    thread_id: str
    wizard: str
    state: str
    data: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def key(self) -> Key:
        """Its primary key."""
        return self.room_id, self.user_id, self.thread_id

    def values(self) -> dict[str, object]:
        """Its columns, as the INSERT's parameters."""
        return {name: getattr(self, name) for name in ("room_id", "user_id", "thread_id", *_FIELDS)}

    def changes(self) -> dict[str, object]:
        """Its key and other columns, as the UPDATE's parameters."""
        return _key_params(self.key) | {f"v_{name}": getattr(self, name) for name in _FIELDS}


def _key_params(key: Key) -> dict[str, str]:
    room, user, thread = key
    return {"k_room": room, "k_user": user, "k_thread": thread}


class DialogRows:
    """The dialog rows one unit of work has read, and what it did to them since."""

    def __init__(self, *, locking: bool) -> None:
        # Two processes with messages for one dialog: the second waits for the first's commit.
        self._locking = locking
        self._rows: dict[Key, DialogRow | None] = {}
        self._stored: set[Key] = set()  # in the database, as far as this unit of work knows
        self._dirty: dict[Key, None] = {}  # an ordered set: written in the order changed

    async def load(self, session: AsyncSession, keys: Iterable[Key]) -> None:
        """Read the rows of ``keys`` not read yet (locked on PostgreSQL), in one query."""
        wanted = sorted({key for key in keys if key not in self._rows})
        if not wanted:
            return
        if await direct.straight(session):
            rows = await direct.fetch_each(session, _SELECT_ONE, [_key_params(k) for k in wanted])
        else:
            query = _SELECT.with_for_update() if self._locking else _SELECT
            connection = await session.connection()
            rows = [tuple(found) for found in await connection.execute(query, {"keys": wanted})]
        for found in rows:
            row = DialogRow(*found)
            self._rows[row.key] = row
            self._stored.add(row.key)
        for key in wanted:
            self._rows.setdefault(key, None)

    def get(self, key: Key) -> DialogRow | None:
        """The row of ``key`` as it stands now (``load`` it first); None when there is none."""
        return self._rows.get(key)

    def put(self, row: DialogRow) -> None:
        """``row`` is the dialog of its key from now on (new, or replacing an older one)."""
        self._rows[row.key] = row
        self._dirty[row.key] = None

    def changed(self, row: DialogRow) -> None:
        """``row`` was changed in place."""
        self._dirty[row.key] = None

    def remove(self, key: Key) -> None:
        """The dialog of ``key`` is over."""
        self._rows[key] = None
        self._dirty[key] = None

    async def write(self, session: AsyncSession) -> None:
        """Store every change since the last write: one statement per kind of change."""
        deletes: list[Key] = []
        inserts: list[DialogRow] = []
        updates: list[DialogRow] = []
        for key in self._dirty:
            row = self._rows[key]
            if row is None:
                if key in self._stored:
                    deletes.append(key)
            elif key in self._stored:
                updates.append(row)
            else:
                inserts.append(row)
        if not (deletes or inserts or updates):
            return
        await direct.run_many(session, _DELETE, [_key_params(key) for key in deletes])
        await direct.run_many(session, _INSERT, [row.values() for row in inserts])
        await direct.run_many(session, _UPDATE, [row.changes() for row in updates])
        self._stored.difference_update(deletes)
        self._stored.update(row.key for row in inserts)
        self._dirty.clear()
