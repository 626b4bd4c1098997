"""What a user was last shown: replaced in one statement, read back inside the same batch."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.storage import Store
from store.models import ChatMemory
from store.services.memory import forget, recall, remember


async def test_remember_replaces_and_recall_sees_it_in_the_same_transaction(store: Store) -> None:
    async with store.sessions.begin() as session:
        await remember(session, "r1", "u1", "", "contacts", {"ids": [1, 2]})
        assert await recall(session, "r1", "u1", "", "contacts") == {"ids": [1, 2]}
        await remember(session, "r1", "u1", "", "listing", {"page": 2})  # the same key again
        assert await recall(session, "r1", "u1", "", "listing") == {"page": 2}
        assert await recall(session, "r1", "u1", "", "contacts") is None  # another kind now
        await remember(session, "r1", "u1", "t1", "contacts", {"ids": [3]})  # a thread apart
    async with store.sessions() as session:
        rows = await session.scalar(select(func.count()).select_from(ChatMemory))
        assert rows == 2
        assert await recall(session, "r1", "u1", "t1", "contacts") == {"ids": [3]}
        assert await recall(session, "r1", "u2", "", "listing") is None


async def test_forget_drops_only_that_key_and_a_later_remember_comes_back(store: Store) -> None:
    async with store.sessions.begin() as session:
        await remember(session, "r1", "u1", "", "contacts", {"ids": [1]})
        await remember(session, "r1", "u2", "", "contacts", {"ids": [2]})
        await forget(session, "r1", "u1", "")
        assert await recall(session, "r1", "u1", "", "contacts") is None
        assert await recall(session, "r1", "u2", "", "contacts") == {"ids": [2]}
        await remember(session, "r1", "u1", "", "contacts", {"ids": [9]})
    async with store.sessions() as session:
        assert await recall(session, "r1", "u1", "", "contacts") == {"ids": [9]}


async def test_text_is_kept_as_written(store: Store) -> None:
    data: dict[str, object] = {"query": "Muñoz «ñ» 東京 \u2060", "n": 1}
    async with store.sessions.begin() as session:
        await remember(session, "r1", "u1", "", "contacts", data)
    async with store.sessions() as session:
        assert await recall(session, "r1", "u1", "", "contacts") == data
