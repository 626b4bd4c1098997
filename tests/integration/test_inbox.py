"""The group-commit inbox: one transaction per batch, a savepoint per message, dedupe."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from bot.chat import ChatUser, Incoming, RoomRef, decode_params
from bot.commands.base import ChatConfig, Ctx
from bot.inbox import ERROR_KEY, Inbox, Outcome, Turn
from bot.pipeline import Pipeline
from bot.routing import Command, Route
from bot.storage import Store
from store.direct import Sent
from store.models import Comment, Outbox, ProcessedMessage
from store.services.contacts import ContactData, upsert_contact
from store.services.users import set_role


def message(mid: str, text: str) -> Incoming:
    return Incoming(mid, RoomRef("r1", kind="d"), ChatUser("u1", "ana"), text)


async def _handler(turn: Turn) -> None:
    """Stores a comment, then fails when told to: the failure must undo only its own write."""
    turn.session.add(Comment(contact_id=1, author="ana", text=turn.incoming.text))
    await turn.session.flush()
    if turn.incoming.text == "boom":
        raise RuntimeError("handler failure")
    turn.reply("echo", text=turn.incoming.text)


async def test_batch_dedupes_and_isolates_a_failing_message(store: Store) -> None:
    async with store.sessions.begin() as session:
        await upsert_contact(session, ContactData("Ana", "Gil", "ana@example.com"))
    inbox = Inbox(store.sessions, _handler)
    inbox.start()
    try:
        outcomes = await asyncio.gather(
            inbox.submit(message("a", "uno")),
            inbox.submit(message("a", "uno")),  # redelivered in the same batch
            inbox.submit(message("b", "boom")),
            inbox.submit(message("c", "tres")),
        )
        again = await inbox.submit(message("c", "tres"))  # redelivered later
    finally:
        await inbox.stop()
    assert list(outcomes) == [Outcome.HANDLED, Outcome.DUPLICATE, Outcome.FAILED, Outcome.HANDLED]
    assert again is Outcome.DUPLICATE
    assert inbox.batches >= 1
    async with store.sessions() as session:
        texts = sorted(await session.scalars(select(Comment.text)))
        keys = list(await session.scalars(select(Outbox.key).order_by(Outbox.seq)))
        processed = set(await session.scalars(select(ProcessedMessage.message_id)))
    assert texts == ["tres", "uno"]  # the failing message's comment was rolled back alone
    assert sorted(keys) == sorted(["echo", ERROR_KEY, "echo"])
    assert processed == {"a", "b", "c"}


async def test_submit_before_start_is_refused(store: Store) -> None:
    inbox = Inbox(store.sessions, _handler)
    with pytest.raises(RuntimeError, match="not running"):
        await inbox.submit(message("x", "uno"))


async def test_the_roles_of_a_batch_are_read_together_not_per_message(store: Store) -> None:
    """Each sender gets their own role (or the default), with one role query per batch."""
    async with store.sessions.begin() as session:
        await set_role(session, "ana", "compras")
        await set_role(session, "luis", "lectura")

    async def role_echo(ctx: Ctx, _route: Route) -> None:
        ctx.reply("echo", text=ctx.role)

    pipeline = Pipeline(ChatConfig(default_role="ventas"), {Command.HELP: role_echo})
    role_queries: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if "FROM chat_users" in statement:
            role_queries.append(statement)

    def count_direct(statement: str) -> None:  # sent past SQLAlchemy, by store.direct
        count(None, None, statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", count)
    Sent.listeners.append(count_direct)
    inbox = Inbox(store.sessions, pipeline)
    inbox.start()
    try:
        senders = ["ana", "luis", "nadie", "ana"]
        await asyncio.gather(
            *(
                inbox.submit(
                    Incoming(f"m{n}", RoomRef("r1", kind="d"), ChatUser(f"u{n}", who), "ayuda")
                )
                for n, who in enumerate(senders)
            )
        )
    finally:
        await inbox.stop()
        event.remove(store.engine.sync_engine, "before_cursor_execute", count)
        Sent.listeners.remove(count_direct)
    async with store.sessions() as session:
        rows = (await session.execute(select(Outbox.params).order_by(Outbox.seq))).scalars()
        said = [decode_params(params)["text"] for params in rows]
    assert said == ["compras", "lectura", "ventas", "compras"]
    assert inbox.batches == 1  # all four were queued before the writer ran
    # Never one per message: one IN query per batch, or on SQLite one short lookup per
    # distinct sender straight on the driver (ana's second message costs nothing).
    assert len(role_queries) == (1 if store.engine.dialect.name == "postgresql" else 3)


async def _unflushed_writer(turn: Turn) -> None:
    """Writes without flushing: a bad write surfaces only when the batch is flushed."""
    if turn.incoming.text == "clash":
        turn.session.add(ProcessedMessage(message_id="a"))  # "a" is already recorded
    else:
        turn.session.add(Comment(contact_id=1, author="ana", text=turn.incoming.text))
    turn.reply("echo", text=turn.incoming.text)


async def test_a_batch_is_flushed_once_and_a_write_error_found_then_fails_only_its_message(
    store: Store,
) -> None:
    async with store.sessions.begin() as session:
        await upsert_contact(session, ContactData("Ana", "Gil", "ana@example.com"))
    flushes = 0

    def count(*_args: object) -> None:
        nonlocal flushes
        flushes += 1

    sync_session = Session  # every session; the listener is removed right after the batch
    inbox = Inbox(store.sessions, _unflushed_writer)
    inbox.start()
    try:
        outcomes = await asyncio.gather(
            *(inbox.submit(message(mid, text)) for mid, text in (("x", "uno"), ("y", "dos")))
        )
        event.listen(sync_session, "after_flush", count)
        try:
            clean = await asyncio.gather(
                *(inbox.submit(message(m, t)) for m, t in (("p", "p1"), ("q", "q1"), ("s", "s1")))
            )
        finally:
            event.remove(sync_session, "after_flush", count)
        failing = await asyncio.gather(
            inbox.submit(message("a", "tres")),
            inbox.submit(message("b", "clash")),
            inbox.submit(message("c", "cuatro")),
        )
    finally:
        await inbox.stop()
    assert list(outcomes) == [Outcome.HANDLED] * 2
    assert list(clean) == [Outcome.HANDLED] * 3
    assert flushes == 1  # three messages' writes, one unit of work
    assert list(failing) == [Outcome.HANDLED, Outcome.FAILED, Outcome.HANDLED]
    assert inbox.reruns == 1
    async with store.sessions() as session:
        texts = set(await session.scalars(select(Comment.text)))
        errors = list(await session.scalars(select(Outbox.key).where(Outbox.key == ERROR_KEY)))
    assert texts == {"uno", "dos", "p1", "q1", "s1", "tres", "cuatro"}
    assert errors == [ERROR_KEY]
