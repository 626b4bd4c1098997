"""Dialog rows through Core: read together, changed in memory, written in one go per kind."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from bench.common import CountingTransport, incoming, purchase_script, seed
from bot.bootstrap import build_chat
from bot.commands.base import ChatConfig
from bot.inbox import Outcome
from bot.storage import Store
from store.dialog_rows import DialogRow, DialogRows, Key
from store.direct import Sent
from store.models import DialogSession

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def row(key: Key, state: str = "title", data: str = "{}") -> DialogRow:
    room, user, thread = key
    return DialogRow(room, user, thread, "purchase", state, data, 0, NOW, NOW)


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement sent meanwhile (an executemany counts once)."""
    seen: list[str] = []

    def record(_c: object, _cur: object, statement: str, *_rest: object) -> None:
        seen.append(statement.split()[0].upper())

    def record_direct(statement: str) -> None:  # sent past SQLAlchemy, by store.direct
        seen.append(statement.split()[0].upper())

    event.listen(Engine, "before_cursor_execute", record)
    Sent.listeners.append(record_direct)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)
        Sent.listeners.remove(record_direct)


async def stored(store: Store) -> dict[Key, tuple[str, str, int]]:
    async with store.sessions() as session:
        found = await session.scalars(select(DialogSession))
        return {(r.room_id, r.user_id, r.thread_id): (r.state, r.data, r.version) for r in found}


async def test_changes_are_written_with_one_statement_per_kind(store: Store) -> None:
    keys = [("r1", "u1", ""), ("r1", "u2", ""), ("r2", "u1", "t9"), ("r3", "u3", "")]
    async with store.sessions.begin() as session:
        rows = DialogRows(locking=False)
        await rows.load(session, keys[:3])
        for key in keys[:3]:
            rows.put(row(key))
        await rows.write(session)
    assert set(await stored(store)) == set(keys[:3])

    async with store.sessions.begin() as session:
        rows = DialogRows(locking=store.engine.dialect.name == "postgresql")
        await rows.load(session, keys)
        assert rows.get(keys[3]) is None
        first, second = rows.get(keys[0]), rows.get(keys[1])
        assert first is not None
        assert second is not None
        first.state, first.version = "vendor", 1
        rows.changed(first)
        second.state = "date"
        rows.changed(second)
        rows.remove(keys[2])  # stored: deleted
        rows.put(row(keys[3], state="contact"))  # new: inserted
        rows.put(row(("r9", "u9", ""), state="x"))
        rows.remove(("r9", "u9", ""))  # new and gone again: never written
        with statements() as sent:
            await rows.write(session)
            await rows.write(session)  # nothing changed since: nothing sent
    assert sorted(sent) == ["DELETE", "INSERT", "UPDATE"]
    assert await stored(store) == {
        keys[0]: ("vendor", "{}", 1),
        keys[1]: ("date", "{}", 0),
        keys[3]: ("contact", "{}", 0),
    }


async def test_a_row_removed_and_put_again_replaces_the_stored_one(store: Store) -> None:
    key = ("r1", "u1", "")
    async with store.sessions.begin() as session:
        rows = DialogRows(locking=False)
        await rows.load(session, [key])
        rows.put(row(key, state="review", data='{"old": true}'))
        await rows.write(session)
    async with store.sessions.begin() as session:
        rows = DialogRows(locking=False)
        await rows.load(session, [key])
        rows.remove(key)  # an expired dialog …
        rows.put(row(key, state="title", data='{"new": true}'))  # … replaced by a new one
        await rows.write(session)
    assert await stored(store) == {key: ("title", '{"new": true}', 0)}


async def test_times_come_back_aware(store: Store) -> None:
    key = ("r1", "u1", "")
    async with store.sessions.begin() as session:
        rows = DialogRows(locking=False)
        await rows.load(session, [key])
        rows.put(row(key))
        await rows.write(session)
    async with store.sessions() as session:
        rows = DialogRows(locking=False)
        await rows.load(session, [key])
        again = rows.get(key)
    assert again is not None
    assert again.updated_at == NOW
    assert again.created_at.tzinfo is not None


async def test_an_inbox_batch_of_dialog_steps_writes_their_rows_once(store: Store) -> None:
    catalogue = await seed(store, 6, prefix="rows")
    app = build_chat(store, CountingTransport(), ChatConfig(default_role="compras"), locale="es")
    scripts = {u.index: purchase_script(u, catalogue).messages for u in catalogue.users}
    app.inbox.start()
    try:
        for user in catalogue.users:  # every user opens a purchase order, one by one
            assert await app.inbox.submit(incoming(user, scripts[user.index][0])) is Outcome.HANDLED
        batches = app.inbox.batches
        with statements() as sent:
            outcomes = await asyncio.gather(
                *(app.inbox.submit(incoming(u, scripts[u.index][1])) for u in catalogue.users)
            )
    finally:
        await app.inbox.stop()
    assert outcomes == [Outcome.HANDLED] * len(catalogue.users)
    assert app.inbox.batches == batches + 1  # the six answers made one batch
    # One UPDATE carries all six rows (the ORM sent one per row, often two).
    assert sent.count("UPDATE") == 1
    rows = await stored(store)
    assert len(rows) == len(catalogue.users)
    assert {state for state, _data, _version in rows.values()} == {"vendor"}
    assert {version for _state, _data, version in rows.values()} == {1}
