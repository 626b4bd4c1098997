"""What a user was last shown in a room, kept so a bare number or a page word can follow it."""

from __future__ import annotations

import json
from typing import Final

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from store import direct
from store.direct import DirectStatement
from store.models import ChatMemory
from store.models.base import table_of
from store.types import utcnow

JsonObject = dict[str, object]

# Core, built once: a `buscar` or a listing remembers what it showed at every message, and
# through the ORM that was a SELECT by key, an object to load and an UPDATE of its own at
# the flush; one upsert does it. No ChatMemory object is ever loaded into a session, so no
# stale copy can hide what an upsert or a delete of the same batch wrote.
_TABLE: Final = table_of(ChatMemory)
_KEY = (
    (_TABLE.c.room_id == bindparam("room_id"))
    & (_TABLE.c.user_id == bindparam("user_id"))
    & (_TABLE.c.thread_id == bindparam("thread_id"))
)
_RECALL: Final = DirectStatement(select(_TABLE.c.kind, _TABLE.c.data).where(_KEY))
_FORGET: Final = DirectStatement(delete(_TABLE).where(_KEY))


_PG_INSERT = pg_insert(_TABLE)
_SQLITE_INSERT = sqlite_insert(_TABLE)
_KEY_COLUMNS = [_TABLE.c.room_id, _TABLE.c.user_id, _TABLE.c.thread_id]
_REMEMBER: Final = {
    "postgresql": DirectStatement(
        _PG_INSERT.on_conflict_do_update(
            index_elements=_KEY_COLUMNS,
            set_={name: _PG_INSERT.excluded[name] for name in ("kind", "data", "updated_at")},
        )
    ),
    "sqlite": DirectStatement(
        _SQLITE_INSERT.on_conflict_do_update(
            index_elements=_KEY_COLUMNS,
            set_={name: _SQLITE_INSERT.excluded[name] for name in ("kind", "data", "updated_at")},
        )
    ),
}


def _key(room_id: str, user_id: str, thread_id: str) -> dict[str, object]:
    return {"room_id": room_id, "user_id": user_id, "thread_id": thread_id}


async def remember(
    session: AsyncSession, room_id: str, user_id: str, thread_id: str, kind: str, data: JsonObject
) -> None:
    """Replace what this user last saw in this room (and thread)."""
    values = _key(room_id, user_id, thread_id) | {
        "kind": kind,
        "data": json.dumps(data, ensure_ascii=False),
        "updated_at": utcnow(),
    }
    await direct.run(session, _REMEMBER[session.get_bind().dialect.name], values)


async def recall(
    session: AsyncSession, room_id: str, user_id: str, thread_id: str, kind: str
) -> JsonObject | None:
    """What was remembered, when it is of ``kind``."""
    found = await direct.fetch(session, _RECALL, _key(room_id, user_id, thread_id))
    if not found or found[0][0] != kind:
        return None
    data = json.loads(found[0][1])
    return data if isinstance(data, dict) else None


async def forget(session: AsyncSession, room_id: str, user_id: str, thread_id: str) -> None:
    """Drop what was remembered (a choice was made)."""
    await direct.run(session, _FORGET, _key(room_id, user_id, thread_id))
