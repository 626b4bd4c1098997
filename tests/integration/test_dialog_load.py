"""1,000 purchase-order dialogs typed at once by 1,000 users end in exactly 1,000 correct POs."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import func, select

from bench.common import BenchUser, CountingTransport, Order, incoming, purchase_script, seed
from bot.bootstrap import ChatApp, build_chat
from bot.chat import decode_params
from bot.commands.base import ChatConfig
from bot.inbox import Outcome
from bot.storage import Store
from store.models import DialogSession, Document, DocumentLine, Outbox, Vendor
from store.money import LineInput, compute_line, compute_totals

USERS = 1000


async def _type(app: ChatApp, user: BenchUser, messages: Sequence[str]) -> list[Outcome]:
    """One user: each message waits for the previous one's durable ack, as a person does."""
    return [await app.inbox.submit(incoming(user, text)) for text in messages]


async def _run_all(store: Store, orders: dict[str, tuple[BenchUser, Order]]) -> None:
    app = build_chat(store, CountingTransport(), ChatConfig(default_role="compras"), locale="es")
    app.start()
    try:
        outcomes = await asyncio.gather(
            *(_type(app, user, order.messages) for user, order in orders.values())
        )
    finally:
        await app.stop()
    assert {outcome for per_user in outcomes for outcome in per_user} == {Outcome.HANDLED}
    assert app.inbox.batches < app.inbox.messages / 10  # the users' messages shared batches


async def test_thousand_concurrent_dialogs_make_thousand_correct_orders(store: Store) -> None:
    catalogue = await seed(store, USERS)
    orders = {u.username: (u, purchase_script(u, catalogue)) for u in catalogue.users}

    await _run_all(store, orders)

    async with store.sessions() as session:
        documents = list(await session.scalars(select(Document).order_by(Document.number)))
        lines = {line.document_id: line for line in await session.scalars(select(DocumentLine))}
        vendors = {
            row.id: row.name for row in await session.execute(select(Vendor.id, Vendor.name))
        }
        saved = list(
            await session.execute(
                select(Outbox.room_id, Outbox.params).where(Outbox.key == "dialog_saved")
            )
        )
        open_dialogs = await session.scalar(select(func.count()).select_from(DialogSession))
    assert [d.number for d in documents] == [f"OC-{n:05d}" for n in range(1, USERS + 1)]
    assert open_dialogs == 0
    for document in documents:
        user, order = orders[document.created_by]
        line = lines[document.id]
        assert (document.title, document.contact_id) == (order.title, user.contact_id)
        assert (vendors[document.vendor_id], document.kind) == (order.vendor, "purchase_order")
        entered = LineInput(order.quantity, order.item.price, order.item.tax_rate)
        stored = LineInput(line.quantity, line.unit_price, line.tax_rate)
        assert (line.sku, stored) == (order.item.sku, entered)
        assert (line.net, line.tax, line.total) == _amounts(entered)
        totals = compute_totals([stored])
        assert (document.subtotal, document.discount_total, document.tax_total, document.total) == (
            totals.subtotal,
            totals.discount_total,
            totals.tax_total,
            totals.total,
        )
    # Each user was told their own PO's number, once.
    numbers = {d.number: d.created_by for d in documents}
    told = sorted((room, decode_params(params)["number"]) for room, params in saved)
    rooms = {user.username: user.room_id for user, _ in orders.values()}
    assert told == sorted((rooms[username], number) for number, username in numbers.items())


def _amounts(line: LineInput) -> tuple[object, ...]:
    amounts = compute_line(line)
    return amounts.net, amounts.tax, amounts.total
