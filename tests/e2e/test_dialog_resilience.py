"""Dialogs that outlive a process, expire, share a room, live in threads, save twice, fail to
save, or come back from an older version of the wizard."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal

from sqlalchemy import delete, select, update

from bot.bootstrap import Store
from bot.commands.base import ChatConfig
from store import models as m
from tests.chat import Chat
from tests.e2e.test_purchase_wizard import (
    HEADER,
    LINE_2,
    NOW,
    TO_REVIEW,
    clock,
    document_count,
    fields,
    say_all,
    seed_world,
    session_row,
    shown,
    state,
)

EXPIRED = (
    "Tu orden de compra a medias caducó tras 30 minutos sin respuesta; no se guardó nada. "
    "Puedes empezar de nuevo."
)


_RESTARTED_IDS = itertools.count(1)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, minutes: int) -> None:
        self.now += dt.timedelta(minutes=minutes)


async def say_after_restart(chat: Chat, texts: list[str]) -> list[str]:
    """Like ``say_all`` in a new process: message ids of its own (the old ones are deduped)."""
    replies: list[str] = []
    for text in texts:
        replies = await shown(chat, text, message_id=f"after-restart-{next(_RESTARTED_IDS)}")
    return replies


async def saved_totals(store: Store) -> list[tuple[str, Decimal]]:
    """(number, total) of every document."""
    async with store.sessions() as s:
        rows = await s.execute(select(m.Document.number, m.Document.total).order_by(m.Document.id))
        return [(number, total) for number, total in rows]


# ------------------------------------------------------------------ restarts and expiry


async def test_a_restart_continues_at_the_same_step(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as before:
        asked = await say_all(before, [*HEADER, "grapadora"])
    async with Chat(store, clock=clock) as after:
        assert await state(store) == "quantity"
        assert (await say_after_restart(after, ["10"]))[0].startswith("*Precio unitario*")
        rest = ["ok", "ok", "10%", *LINE_2, "listo", "omitir", "ok", "ok", "guardar"]
        assert (await say_after_restart(after, rest))[0] == "Orden de compra `OC-00001` creada."
    assert asked == ["*Cantidad* de Grapadora (p. ej. 10 o 2,5):"]
    assert await saved_totals(store) == [("OC-00001", Decimal("275.28"))]


async def test_an_idle_dialog_expires_and_the_user_is_told(store: Store) -> None:
    await seed_world(store)
    now = Clock()
    config = ChatConfig(dialog_timeout_min=30)
    async with Chat(store, clock=now, config=config) as chat:
        await say_all(chat, ["agregar compra", "Material"])
        now.advance(29)
        # Within the timeout: the answer is taken and the clock starts again.
        assert (await shown(chat, "papeleria sol"))[0].startswith("Proveedor:")
        now.advance(29)
        assert (await shown(chat, "ok"))[0].startswith("*Fecha*")
        now.advance(31)
        assert await shown(chat, "hoy") == [EXPIRED]
        assert await session_row(store) is None
        # The next message is a command again.
        assert (await shown(chat, "agregar compra"))[0].startswith("*Nueva orden de compra*")
    assert await document_count(store) == 0


async def test_expiry_survives_a_restart(store: Store) -> None:
    await seed_world(store)
    now = Clock()
    config = ChatConfig(dialog_timeout_min=30)
    async with Chat(store, clock=now, config=config) as before:
        await say_all(before, [*HEADER, "grapadora"])
    now.advance(31)
    async with Chat(store, clock=now, config=config) as after:
        assert await say_after_restart(after, ["10"]) == [EXPIRED]
    assert await session_row(store) is None


async def test_expiry_in_english(store: Store) -> None:
    await seed_world(store)
    now = Clock()
    async with Chat(
        store, locale="en", clock=now, config=ChatConfig(dialog_timeout_min=30)
    ) as chat:
        await say_all(chat, ["add purchase", "Material"])
        now.advance(45)
        assert await shown(chat, "pap") == [
            "Your unfinished purchase order expired after 30 minutes without an answer; "
            "nothing was saved. You can start again."
        ]


# ------------------------------------------------------------------ rooms, users and threads


async def test_two_users_in_one_room_run_their_own_dialogs(store: Store) -> None:
    await seed_world(store)
    channel = {"room": "room-1", "kind": "c"}
    async with Chat(store, clock=clock) as chat:
        await chat.say("@crmbot agregar compra", user="ana", **channel)
        await chat.say("@crmbot agregar compra", user="luis", **channel)
        assert (await shown(chat, "Material de Ana", user="ana", **channel))[0].startswith(
            "*Proveedor*"
        )
        assert (await shown(chat, "Material de Luis", user="luis", **channel))[0].startswith(
            "*Proveedor*"
        )
        await chat.say("papeleria sol", user="ana", **channel)
        # Someone without a dialog who does not address the bot is not answered.
        assert await chat.say("papeleria luna", user="marta", **channel) == []
        await chat.say("papeleria luna", user="luis", **channel)
        await chat.say("cancelar", user="luis", **channel)
    async with store.sessions() as s:
        rows = list(await s.scalars(select(m.DialogSession)))
    assert [(row.user_id, row.state) for row in rows] == [("u-ana", "contact")]
    kept = json.loads(rows[0].data)["fields"]
    assert (kept["title"], kept["vendor"]["name"]) == ("Material de Ana", "Papelería Sol")


async def test_a_dialog_started_in_a_thread_continues_only_there(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        started = await chat.say("agregar compra", thread="t-1")
        assert len(started) == 2
        assert all(msg.thread_id == "t-1" for msg in chat.transport.sent)
        # Outside the thread the same words are a command, not the title.
        assert (await shown(chat, "Material"))[0].startswith("No conozco")
        assert (await shown(chat, "Material", thread="t-2"))[0].startswith("No conozco")
        assert await state(store) == "title"
        assert (await shown(chat, "Material", thread="t-1"))[0].startswith("*Proveedor*")
        assert chat.transport.sent[-1].thread_id == "t-1"
    assert (await fields(store))["title"] == "Material"


# ------------------------------------------------------------------ saving twice, saving fails


async def test_a_redelivered_save_makes_one_purchase_order(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        await say_all(chat, TO_REVIEW)
        saved = await chat.say("guardar", message_id="save-1")
        assert len(saved) == 2
        assert await chat.say("guardar", message_id="save-1") == []
        # A second `guardar` finds no dialog any more: it is not a command either.
        again = await shown(chat, "guardar")
        assert len(again) == 1
        assert "creada" not in again[0]
    assert await saved_totals(store) == [("OC-00001", Decimal("275.28"))]


async def test_a_second_save_of_the_same_dialog_finds_the_first_order(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        await say_all(chat, TO_REVIEW)
        row = await session_row(store)
        assert row is not None
        copy = {c.name: getattr(row, c.name) for c in m.DialogSession.__table__.columns}
        assert (await shown(chat, "guardar"))[0] == "Orden de compra `OC-00001` creada."
        # The same dialog at its review again (e.g. a second process that read it before).
        async with store.sessions.begin() as s:
            s.add(m.DialogSession(**copy))
        assert (await shown(chat, "guardar"))[0] == "Orden de compra `OC-00001` creada."
    assert await saved_totals(store) == [("OC-00001", Decimal("275.28"))]


async def test_a_vendor_deleted_before_saving_keeps_the_dialog_at_the_review(
    store: Store,
) -> None:
    world = await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        review = await say_all(chat, TO_REVIEW)
        kept = await fields(store)
        async with store.sessions.begin() as s:
            await s.execute(delete(m.Vendor).where(m.Vendor.id == world.vendor_id))
        assert await shown(chat, "guardar") == [
            "No se pudo guardar: el proveedor «Papelería Sol» ya no existe. "
            "Elige otro con `editar 2`.",
            review[0],
        ]
        assert await state(store) == "review"
        assert await fields(store) == kept
        assert await document_count(store) == 0
        await say_all(chat, ["editar 2", "papeleria luna"])
        assert (await shown(chat, "guardar"))[0] == "Orden de compra `OC-00001` creada."


async def test_a_contact_gone_before_saving_keeps_the_dialog_at_the_review(
    store: Store,
) -> None:
    world = await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        review = await say_all(chat, TO_REVIEW)
        async with store.sessions.begin() as s:
            await s.execute(delete(m.Contact).where(m.Contact.id == world.ana_id))
        assert await shown(chat, "guardar") == [
            "No se pudo guardar: el contacto «Ana García» ya no existe. Elige otro con `editar 3`.",
            review[0],
        ]
        assert await state(store) == "review"
        await say_all(chat, ["editar 3", "luis"])
        assert (await shown(chat, "guardar"))[0] == "Orden de compra `OC-00001` creada."
    async with store.sessions() as s:
        po = await s.scalar(select(m.Document))
    assert po is not None
    assert po.contact_id == world.luis_id


# ------------------------------------------------------------------ older versions


async def test_a_state_that_no_longer_exists_resumes_with_a_notice(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        await say_all(chat, [*HEADER, "grapadora", "10"])
        kept = await fields(store)
        async with store.sessions.begin() as s:
            await s.execute(update(m.DialogSession).values(state="colour"))
        assert await shown(chat, "rojo") == [
            "El asistente ha cambiado desde tu último mensaje: seguimos en este paso, "
            "con lo que ya tenías.",
            "*Título* de la compra (p. ej. Material de oficina):\n"
            "Ahora: Material de oficina — `ok` para mantenerlo.",
        ]
        assert await state(store) == "title"
        assert await fields(store) == kept
        assert (await shown(chat, "ok"))[0].startswith("*Proveedor*")


async def test_a_wizard_that_no_longer_exists_is_closed(store: Store) -> None:
    await seed_world(store)
    async with Chat(store, clock=clock) as chat:
        await say_all(chat, ["agregar compra", "Material"])
        async with store.sessions.begin() as s:
            await s.execute(update(m.DialogSession).values(wizard="colour"))
        assert await shown(chat, "papeleria sol") == [
            "Ese asistente ya no existe, así que lo he cerrado sin guardar nada."
        ]
    assert await session_row(store) is None
