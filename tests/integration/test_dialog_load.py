"""1,000 purchase-order dialogs typed at once by 1,000 users end in exactly 1,000 correct POs."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import func, select

from bench.common import BenchUser, CountingTransport, Order, incoming, purchase_script, seed
from bot.bootstrap import ChatApp, build_chat
from bot.chat import decode_params
from bot.commands.base import ChatConfig
from bot.inbox import Outcome
from bot.storage import Store
from store.models import DialogSession, Document, DocumentLine, Outbox, Vendor
from store.money import LineInput, Totals, compute_line, compute_totals

USERS = 1000


async def _type(app: ChatApp, user: BenchUser, messages: Sequence[str]) -> list[Outcome]:
    """One user: each message waits for the previous one's durable ack, as a person does."""
    return [await app.inbox.submit(incoming(user, text)) for text in messages]


async def _run_all(store: Store, orders: dict[str, tuple[BenchUser, Order]]) -> None:
    # A fixed role, as in the chat tests: the per-message role lookup is not under test here.
    app = build_chat(store, CountingTransport(), ChatConfig(), locale="es", fixed_role="compras")
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
        lines = list(await session.scalars(select(DocumentLine)))
        vendors = {
            row.id: row.name for row in await session.execute(select(Vendor.id, Vendor.name))
        }
        saved = await session.execute(
            select(Outbox.room_id, Outbox.params).where(Outbox.key == "dialog_saved")
        )
        told = sorted((room, decode_params(params)["number"]) for room, params in saved)
        open_dialogs = await session.scalar(select(func.count()).select_from(DialogSession))
    assert [d.number for d in documents] == [f"OC-{n:05d}" for n in range(1, USERS + 1)]
    assert (len(lines), open_dialogs) == (USERS, 0)
    line_of = {line.document_id: line for line in lines}
    for document in documents:
        user, order = orders[document.created_by]
        assert (document.title, document.contact_id) == (order.title, user.contact_id)
        assert (vendors[document.vendor_id], document.kind) == (order.vendor, "purchase_order")
        line = line_of[document.id]
        _check_line(line, order)
        recomputed = compute_totals([LineInput(line.quantity, line.unit_price, line.tax_rate)])
        assert _totals(document) == _totals(recomputed)
    # Each user was told the number of their own PO, once.
    rooms = {document.number: orders[document.created_by][0].room_id for document in documents}
    assert told == sorted((room, number) for number, room in rooms.items())


def _check_line(line: DocumentLine, order: Order) -> None:
    """The stored line is what the user typed, with the catalogue's price and tax."""
    entered = LineInput(order.quantity, order.item.price, order.item.tax_rate)
    assert (line.sku, LineInput(line.quantity, line.unit_price, line.tax_rate)) == (
        order.item.sku,
        entered,
    )
    amounts = compute_line(entered)
    assert (line.net, line.tax, line.total) == (amounts.net, amounts.tax, amounts.total)


def _totals(totals: Document | Totals) -> tuple[Decimal, ...]:
    return totals.subtotal, totals.discount_total, totals.tax_total, totals.total
