"""One user's simultaneous messages: in one inbox batch, and in two ``crmbot serve``
processes on one PostgreSQL. Applied in order, never dropped, never interleaved."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import func, select, text

from bench.common import BenchUser, CountingTransport, incoming, purchase_script, seed
from bot.bootstrap import ChatApp, build_chat
from bot.commands.base import ChatConfig
from bot.inbox import Outcome
from bot.storage import Store
from dialogs.purchase import PurchaseFlow
from store.db import create_engine, session_factory
from store.filestore import FileStore
from store.models import DialogSession, Outbox
from tests.databases import TestDatabase

T = TypeVar("T")
CONFIG = ChatConfig(default_role="compras")
BEFORE_QUANTITY = 7  # `agregar compra` … the SKU: the dialog then asks for the quantity


@pytest.fixture
def pg_store(store: Store, database: TestDatabase) -> Store:
    if database.kind != "postgresql":
        pytest.skip("one SQLite file is never served by two processes")
    return store


@asynccontextmanager
async def running(*stores: Store) -> AsyncIterator[list[ChatApp]]:
    """A chat app per store, started; stopped afterwards."""
    apps = [build_chat(store, CountingTransport(), CONFIG, locale="es") for store in stores]
    for app in apps:
        app.start()
    try:
        yield apps
    finally:
        for app in apps:
            await app.stop()


@asynccontextmanager
async def second_process(store: Store, tmp_path: Path) -> AsyncIterator[Store]:
    """The same database through another engine and connection pool, like a second server."""
    engine = create_engine(store.engine.url.render_as_string(hide_password=False))
    try:
        yield Store(engine, session_factory(engine), FileStore(tmp_path / "files-2"))
    finally:
        await engine.dispose()


async def _row(store: Store, user: BenchUser) -> DialogSession:
    async with store.sessions() as session:
        row = await session.scalar(
            select(DialogSession).where(DialogSession.user_id == user.user.id)
        )
    assert row is not None
    return row


def _answers(row: DialogSession) -> tuple[Decimal, ...]:
    line = json.loads(row.data)["line"]
    return tuple(Decimal(line[key]) for key in ("quantity", "unit_price") if key in line)


async def _at_quantity(app: ChatApp, store: Store, users: int = 1) -> list[BenchUser]:
    """``users`` users whose purchase-order dialogs ask for a line's quantity, and one more
    user without a dialog (last)."""
    catalogue = await seed(store, users + 1)
    for user in catalogue.users[:users]:
        for message in purchase_script(user, catalogue).messages[:BEFORE_QUANTITY]:
            assert await app.inbox.submit(incoming(user, message)) is Outcome.HANDLED
        assert (await _row(store, user)).state == "quantity"
    return list(catalogue.users)


async def _while_row_locked(store: Store, user: BenchUser, *work: Awaitable[T]) -> list[T]:
    """Start ``work`` while another transaction holds the dialog row; release it once every
    job waits on a lock, so the messages truly arrive at the same moment."""
    async with store.engine.connect() as holder:
        await holder.execute(
            select(DialogSession).where(DialogSession.user_id == user.user.id).with_for_update()
        )
        tasks = [asyncio.ensure_future(job) for job in work]
        await _until_waiting(store, len(tasks))
        await holder.rollback()
    return list(await asyncio.gather(*tasks))


async def _until_waiting(store: Store, count: int) -> None:
    query = (
        select(func.count())
        .select_from(text("pg_stat_activity"))
        .where(text("datname = current_database() AND wait_event_type = 'Lock'"))
    )
    async with asyncio.timeout(30), store.engine.connect() as watcher:
        while (await watcher.scalar(query) or 0) < count:
            await asyncio.sleep(0.005)  # polling a condition, not timing a race
            await watcher.rollback()  # pg_stat_activity is read once per transaction


async def _one_batch(app: ChatApp, *messages: tuple[BenchUser, str]) -> list[Outcome]:
    """Submitted together, so the writer takes them as one batch."""
    batches = app.inbox.batches
    outcomes = await asyncio.gather(*(app.inbox.submit(incoming(u, text)) for u, text in messages))
    assert app.inbox.batches == batches + 1
    return list(outcomes)


async def test_one_batch_applies_each_users_messages_in_order(store: Store) -> None:
    async with running(store) as (app,):
        ana, cara, dan = await _at_quantity(app, store, users=2)
        before = (await _row(store, ana)).version
        outcomes = await _one_batch(
            app,
            (ana, "3"),
            (cara, "cancelar"),
            (ana, "7"),
            (dan, "agregar compra"),
            (cara, "agregar compra"),  # a new dialog where one was closed a moment ago
            (dan, "Pedido de dan"),  # the dialog opened a moment ago, in the same batch
        )
    assert set(outcomes) == {Outcome.HANDLED}
    assert app.inbox.reruns == 0  # right the first time, without a savepoint per message
    rows = {user.username: await _row(store, user) for user in (ana, cara, dan)}
    assert (rows[ana.username].state, rows[ana.username].version) == ("tax", before + 2)
    assert _answers(rows[ana.username]) == (Decimal(3), Decimal(7))
    assert (rows[cara.username].state, rows[cara.username].version) == ("title", 0)
    assert rows[dan.username].state == "vendor"
    assert json.loads(rows[dan.username].data)["fields"]["title"] == "Pedido de dan"


async def test_a_failing_message_leaves_the_rest_of_its_batch_intact(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = PurchaseFlow.take_quantity

    async def take_quantity(flow: PurchaseFlow) -> None:
        if flow.io.text == "boom":
            raise RuntimeError("a handler fault")
        await original(flow)

    monkeypatch.setattr(PurchaseFlow, "take_quantity", take_quantity)
    async with running(store) as (app,):
        ana, bea, _ = await _at_quantity(app, store, users=2)
        versions = [(await _row(store, user)).version for user in (ana, bea)]
        outcomes = await _one_batch(app, (ana, "3"), (bea, "boom"), (ana, "7"))
    assert outcomes == [Outcome.HANDLED, Outcome.FAILED, Outcome.HANDLED]
    assert app.inbox.reruns == 1
    rows = [await _row(store, user) for user in (ana, bea)]
    assert [(row.state, row.version, _answers(row)) for row in rows] == [
        ("tax", versions[0] + 2, (Decimal(3), Decimal(7))),
        ("quantity", versions[1], ()),  # the failed message changed nothing
    ]


async def test_two_answers_at_once_in_two_processes_apply_in_order(
    pg_store: Store, tmp_path: Path
) -> None:
    async with second_process(pg_store, tmp_path) as other, running(pg_store, other) as apps:
        user, _ = await _at_quantity(apps[0], pg_store)
        before = (await _row(pg_store, user)).version
        outcomes = await _while_row_locked(
            pg_store,
            user,
            apps[0].inbox.submit(incoming(user, "3")),
            apps[1].inbox.submit(incoming(user, "5")),
        )
    assert outcomes == [Outcome.HANDLED, Outcome.HANDLED]
    row = await _row(pg_store, user)
    # Whichever came first was the quantity, the other the price: both kept, none lost.
    assert _answers(row) in {(Decimal(3), Decimal(5)), (Decimal(5), Decimal(3))}
    assert (row.state, row.version) == ("tax", before + 2)
    async with pg_store.sessions() as session:
        keys = list(await session.scalars(select(Outbox.key).order_by(Outbox.seq)))
    assert keys[-2:] == ["lines_price", "lines_tax"]  # asked in order, each once


async def test_one_message_delivered_to_two_processes_is_handled_once(
    pg_store: Store, tmp_path: Path
) -> None:
    async with second_process(pg_store, tmp_path) as other, running(pg_store, other) as apps:
        user, _ = await _at_quantity(apps[0], pg_store)
        before = (await _row(pg_store, user)).version
        message = incoming(user, "4", message_id="redelivered-1")
        outcomes = await _while_row_locked(
            pg_store, user, apps[0].inbox.submit(message), apps[1].inbox.submit(message)
        )
    assert sorted(outcomes) == [Outcome.DUPLICATE, Outcome.HANDLED]
    row = await _row(pg_store, user)
    assert (row.state, row.version, _answers(row)) == ("price", before + 1, (Decimal(4),))
    async with pg_store.sessions() as session:
        keys = list(await session.scalars(select(Outbox.key).order_by(Outbox.seq)))
    assert keys.count("lines_price") == 1
