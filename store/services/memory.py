"""What a user was last shown in a room, kept so a bare number or a page word can follow it."""

from __future__ import annotations

import json

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ChatMemory
from store.types import utcnow

JsonObject = dict[str, object]


async def remember(
    session: AsyncSession, room_id: str, user_id: str, thread_id: str, kind: str, data: JsonObject
) -> None:
    """Replace what this user last saw in this room (and thread)."""
    row = await session.get(ChatMemory, (room_id, user_id, thread_id))
    if row is None:
        row = ChatMemory(room_id=room_id, user_id=user_id, thread_id=thread_id)
        session.add(row)
    row.kind = kind
    row.data = json.dumps(data, ensure_ascii=False)
    row.updated_at = utcnow()


async def recall(
    session: AsyncSession, room_id: str, user_id: str, thread_id: str, kind: str
) -> JsonObject | None:
    """What was remembered, when it is of ``kind``."""
    row = await session.get(ChatMemory, (room_id, user_id, thread_id))
    if row is None or row.kind != kind:
        return None
    data = json.loads(row.data)
    return data if isinstance(data, dict) else None


async def forget(session: AsyncSession, room_id: str, user_id: str, thread_id: str) -> None:
    """Drop what was remembered (a choice was made)."""
    await session.execute(
        delete(ChatMemory).where(
            ChatMemory.room_id == room_id,
            ChatMemory.user_id == user_id,
            ChatMemory.thread_id == thread_id,
        )
    )
