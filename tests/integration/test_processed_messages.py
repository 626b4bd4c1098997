"""claim_message_ids on SQLite and PostgreSQL: exactly the new ids, whatever the batch size."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.models import ProcessedMessage
from store.outbox import claim_message_ids
from store.sqlite_inline import InlineConnection
from tests.databases import TestDatabase


async def claim(sessions: async_sessionmaker[AsyncSession], ids: list[str]) -> set[str]:
    async with sessions.begin() as session:
        return await claim_message_ids(session, ids)


async def test_only_the_new_ids_come_back_for_batches_of_every_size(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await claim(sessions, []) == set()
    assert await claim(sessions, ["m1"]) == {"m1"}
    assert await claim(sessions, ["m1"]) == set()
    assert await claim(sessions, ["m2", "m1", "m2", "m3"]) == {"m2", "m3"}
    assert await claim(sessions, ["m3", "m2", "m1", "m3"]) == set()
    # Past insertmanyvalues' page of 1000 rows, so the rows go in several INSERTs; every
    # other id was claimed before, and each id appears twice.
    earlier = [f"x{n:04d}" for n in range(0, 2400, 2)]
    assert await claim(sessions, earlier) == set(earlier)
    batch = [f"x{n:04d}" for n in range(2400)] * 2
    assert await claim(sessions, batch) == {f"x{n:04d}" for n in range(1, 2400, 2)}
    assert await claim(sessions, ["m4", "x0001", "m5", "m4"]) == {"m4", "m5"}
    async with sessions() as session:
        count = await session.scalar(select(func.count()).select_from(ProcessedMessage))
    assert count == 5 + 2400


async def test_a_rolled_back_claim_leaves_the_ids_new(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        assert await claim_message_ids(session, ["a", "b"]) == {"a", "b"}
        await session.rollback()
    assert await claim(sessions, ["b", "a", "c"]) == {"a", "b", "c"}


async def test_ids_are_inserted_in_sorted_order(
    database: TestDatabase, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The deadlock guard: two processes with the same ids wait for each other in one order."""
    ids = [f"id-{n:03d}" for n in (7, 3, 250, 1, 99, 3, 42)]
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if "processed_messages" in statement and statement.lstrip().upper().startswith("INSERT"):
            sent.extend(value for value in flatten(parameters) if value in ids)

    def trace(statement: str) -> None:
        # On SQLite the inserts go straight to the driver (store.direct): read them from
        # sqlite3's own trace, which shows each statement with its values.
        if "processed_messages" in statement and statement.lstrip().upper().startswith("INSERT"):
            sent.extend(re.findall(r"id-[0-9]{3}", statement))

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with sessions.begin() as session:
            driver = (await (await session.connection()).get_raw_connection()).driver_connection
            if isinstance(driver, InlineConnection):
                driver.sqlite.set_trace_callback(trace)
            try:
                assert await claim_message_ids(session, ids) == set(ids)
            finally:
                if isinstance(driver, InlineConnection):
                    driver.sqlite.set_trace_callback(None)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
    assert sent == sorted(set(ids))


def flatten(parameters: Any) -> list[Any]:
    if isinstance(parameters, dict):
        return list(parameters.values())
    if isinstance(parameters, list | tuple):
        return [value for item in parameters for value in flatten(item)]
    return [parameters]
