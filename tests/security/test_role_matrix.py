"""Role × action: every command and every wizard step that needs a role, for every role.

Two sources, so that a change in either breaks a test:

* ``CONTRACT`` transcribes CONTRACT §7 — "`admin` everything, and the only role that
  approves purchase orders · `compras` purchase orders (create, send, receive, cancel),
  vendors, comments · `ventas` quotes, sales orders, opportunities, comments, room links ·
  `soporte` cases, comments · `lectura` read only · `none` only `ayuda`. Every role but
  `none` reads everything. A refused action says which role it needs." The code's own table
  (``bot.permissions.allowed``) must say exactly the same.
* ``CASES`` does each action in the chat, through the whole pipeline, as a user of each role:
  a role the contract allows gets it done (the record written, the dialog moved on); any
  other gets the refusal naming the role needed, and no row of any table changes.

Wizard steps are checked as a user whose role changes while the wizard is open (an admin
opens it and takes it to the step, then the role becomes the one under test): a role is
enforced at every step, not only when the wizard starts.
"""

from __future__ import annotations

import datetime as dt
import json
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from bot.bootstrap import build_chat
from bot.chat import ChatUser, FileRef, Incoming, RoomRef
from bot.chatfmt import as_shown
from bot.commands.base import ChatConfig
from bot.mail.outbound import parse_relay_url
from bot.mail.sender import SenderConfig
from bot.permissions import Action, allowed, needed_role
from bot.render import Renderer
from bot.settings import Settings
from bot.storage import Store
from store import models as m
from store.services.catalogue import VendorData, upsert_vendor
from store.services.contacts import ContactData, upsert_contact
from store.services.documents import (
    CaseDraft,
    DocumentDraft,
    LineDraft,
    create_case,
    create_document,
)
from store.services.users import ROLES, set_role
from store.vocab import DocumentKind
from tests.chat import Chat

EVERYONE = frozenset(ROLES)
READERS = EVERYONE - {"none"}
# CONTRACT §7, action by action (see the module docstring for the text).
CONTRACT: Mapping[Action, frozenset[str]] = {
    Action.HELP: EVERYONE,  # `none` only `ayuda`
    Action.READ: READERS,  # every role but `none` reads everything
    Action.LINK_ROOM: frozenset({"admin", "ventas"}),  # ventas: room links
    Action.COMMENT: frozenset({"admin", "compras", "ventas", "soporte"}),
    Action.CREATE_PURCHASE: frozenset({"admin", "compras"}),  # compras: purchase orders (create…
    Action.CHANGE_PURCHASE: frozenset({"admin", "compras"}),  # … receive, cancel)
    Action.SEND_PURCHASE: frozenset({"admin", "compras"}),  # … send
    Action.APPROVE_PURCHASE: frozenset({"admin"}),  # the only role that approves
    Action.CREATE_VENDOR: frozenset({"admin", "compras"}),  # compras: vendors
    Action.CREATE_QUOTE: frozenset({"admin", "ventas"}),  # ventas: quotes
    Action.CHANGE_QUOTE: frozenset({"admin", "ventas"}),
    Action.SEND_QUOTE: frozenset({"admin", "ventas"}),
    Action.CHANGE_SALES_ORDER: frozenset({"admin", "ventas"}),  # ventas: sales orders
    Action.CREATE_CASE: frozenset({"admin", "soporte"}),  # soporte: cases
    Action.CHANGE_CASE: frozenset({"admin", "soporte"}),
}

USER = "pat"
ROOM, UNLINK_ROOM, FREE_ROOM = "room-1", "room-2", "room-3"
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
RENDER = Renderer(default_locale="es")


# --- the tables themselves -------------------------------------------------------------------


def test_the_roles_are_the_contracts() -> None:
    assert ROLES == ("admin", "compras", "ventas", "soporte", "lectura", "none")
    assert set(typing.get_args(Settings.model_fields["default_role"].annotation)) == EVERYONE


@pytest.mark.parametrize("action", list(Action))
def test_the_codes_table_is_the_contracts(action: Action) -> None:
    assert action in CONTRACT, f"{action} is not in CONTRACT §7: add it there first"
    assert {role for role in ROLES if allowed(role, action)} == CONTRACT[action]
    assert "admin" in CONTRACT[action]  # admin: everything
    assert needed_role(action) in CONTRACT[action]  # a refusal names a role that may do it


def test_approval_is_admins_alone_and_implies_changing() -> None:
    assert CONTRACT[Action.APPROVE_PURCHASE] == {"admin"}
    assert needed_role(Action.APPROVE_PURCHASE) == "admin"
    assert CONTRACT[Action.APPROVE_PURCHASE] <= CONTRACT[Action.CHANGE_PURCHASE]


# --- a world to act in ---------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    ana: int
    ana_martin: int
    bruno: int


async def seed(store: Store) -> World:
    """Ana García (linked to room-1 and room-2), Ana Martín and Bruno Díaz; a vendor; one
    record per status change to try and one document per `enviar`."""
    async with store.sessions.begin() as s:
        ana, _ = await upsert_contact(s, ContactData("Ana", "García", email="ana@cliente.test"))
        martin, _ = await upsert_contact(s, ContactData("Ana", "Martín", email="am@x.test"))
        bruno, _ = await upsert_contact(s, ContactData("Bruno", "Díaz", email="bruno@x.test"))
        vendor, _ = await upsert_vendor(s, VendorData("Papelería Sol", email="pedidos@sol.test"))
        s.add(m.ChatChannel(contact_id=ana.id, room_id=ROOM, room_name="ana"))
        s.add(m.ChatChannel(contact_id=ana.id, room_id=UNLINK_ROOM, room_name="ana-2"))
        line = [LineDraft("Grapadora", Decimal(2), Decimal("12.50"))]
        for kind, title in [
            (DocumentKind.PURCHASE_ORDER, "PO to send out"),  # OC-00001
            (DocumentKind.PURCHASE_ORDER, "PO to approve"),  # OC-00002
            (DocumentKind.PURCHASE_ORDER, "PO to email"),  # OC-00003
            (DocumentKind.QUOTE, "Quote to deliver"),  # COT-00001
            (DocumentKind.QUOTE, "Quote to email"),  # COT-00002
            (DocumentKind.SALES_ORDER, "SO to approve"),  # OV-00001
        ]:
            vendor_id = vendor.id if kind is DocumentKind.PURCHASE_ORDER else None
            draft = DocumentDraft(kind, ana.id, title, NOW.date(), line, vendor_id=vendor_id)
            await create_document(s, draft)
        await create_case(s, CaseDraft(ana.id, "VPN caída"))  # CAS-00001
        return World(ana.id, martin.id, bruno.id)


Snapshot = dict[str, list[str]]
# Written for every message whatever it asks: the dedup key and the reply itself. An open
# wizard's own row counts the user's tries too; what it collected is checked by each step.
NOT_DATA = {"processed_messages", "outbox", "dialog_sessions"}


async def snapshot(store: Store) -> Snapshot:
    """Every row of every table but the per-message bookkeeping."""
    rows: Snapshot = {}
    async with store.sessions() as s:
        for table in m.Base.metadata.sorted_tables:
            if table.name not in NOT_DATA:
                rows[table.name] = sorted(
                    repr(tuple(row)) for row in await s.execute(select(table))
                )
    return rows


async def status(store: Store, number: str) -> str | None:
    async with store.sessions() as s:
        found = await s.scalar(select(m.Document.status).where(m.Document.number == number))
        return found or await s.scalar(select(m.Case.status).where(m.Case.number == number))


async def channel(store: Store, room: str) -> int | None:
    async with store.sessions() as s:
        return await s.scalar(select(m.ChatChannel.contact_id).where(m.ChatChannel.room_id == room))


async def dialog(store: Store) -> m.DialogSession | None:
    async with store.sessions() as s:
        return await s.scalar(select(m.DialogSession))


# --- the actions -------------------------------------------------------------------------------


def forbidden(role: str, action: Action) -> list[str]:
    return [RENDER.render("forbidden", {"role": role, "needed": needed_role(action)}, "es")]


CANCELLED = RENDER.render("dialog_cancelled", {}, "es")


def wizard_ended(role: str, action: Action) -> list[str]:
    return [*forbidden(role, action), CANCELLED]


def approval_refused(_role: str, _action: Action) -> list[str]:
    return [RENDER.render("answer_approval_needs_role", {"role": "admin"}, "es")]


Refusal = Callable[[str, Action], list[str]]
Done = Callable[[Store, World, list[str]], Awaitable[bool]]


@dataclass(frozen=True)
class Gate:
    """A permission the step needs, and what a role without it is told (a reply prefix)."""

    action: Action
    refusal: Refusal = forbidden


@dataclass(frozen=True)
class Step:
    """Something a user says, the gates it passes in order, and how to see it was done."""

    name: str
    say: str
    gates: tuple[Gate, ...]
    done: Done
    room: str = ROOM
    # Said first by the same user as an admin (a wizard taken to the step under test).
    prepare: tuple[str, ...] = field(default=())


def shows(text: str) -> Done:
    async def check(_store: Store, _world: World, replies: list[str]) -> bool:
        return any(text in as_shown(reply) for reply in replies)

    return check


def status_is(number: str, expected: str) -> Done:
    async def check(store: Store, _world: World, _replies: list[str]) -> bool:
        return await status(store, number) == expected

    return check


def dialog_at(wizard: str, *, state: str | None = None, left: str | None = None) -> Done:
    async def check(store: Store, _world: World, _replies: list[str]) -> bool:
        row = await dialog(store)
        if row is None or row.wizard != wizard:
            return False
        return (state is None or row.state == state) and (left is None or row.state != left)

    return check


async def room3_linked_to_bruno(store: Store, world: World, _replies: list[str]) -> bool:
    return await channel(store, FREE_ROOM) == world.bruno


async def room3_linked_to_an_ana(store: Store, world: World, _replies: list[str]) -> bool:
    return await channel(store, FREE_ROOM) in (world.ana, world.ana_martin)


async def room2_unlinked(store: Store, _world: World, _replies: list[str]) -> bool:
    return await channel(store, UNLINK_ROOM) is None


async def commented(store: Store, world: World, _replies: list[str]) -> bool:
    async with store.sessions() as s:
        found = await s.scalar(select(m.Comment.contact_id).where(m.Comment.text == "hola"))
    return found == world.ana


def send_job_for(number: str) -> Done:
    async def check(store: Store, _world: World, _replies: list[str]) -> bool:
        async with store.sessions() as s:
            document = await s.scalar(select(m.Document.id).where(m.Document.number == number))
            job = await s.scalar(select(m.SendJob.id).where(m.SendJob.document_id == document))
        return job is not None

    return check


async def vendor_created(store: Store, _world: World, _replies: list[str]) -> bool:
    async with store.sessions() as s:
        found = await s.scalar(select(m.Vendor.id).where(m.Vendor.name == "Ferretería Nueva"))
    return found is not None


async def approved_in_wizard(store: Store, _world: World, _replies: list[str]) -> bool:
    row = await dialog(store)
    return row is not None and json.loads(row.data)["fields"].get("status") == "approved"


READ = Gate(Action.READ)
PO_HEADER = ("agregar compra", "Material", "papeleria sol", "ok", "hoy")

CASES: list[Step] = [
    # Commands: the pipeline lets only readers past `ayuda`, then each command asks its own.
    Step("help", "ayuda", (), shows("ayuda")),
    Step("search", "buscar ana", (READ,), shows("Ana García")),
    Step("contact card", "contacto", (READ,), shows("Ana García")),
    Step("module listing", "compras", (READ,), shows("OC-00001")),
    Step("detail", "ver OC-00001", (READ,), shows("PO to send out")),
    Step("current status", "estado OC-00001", (READ,), shows("Creada")),
    Step("link", "vincular bruno", (READ, Gate(Action.LINK_ROOM)), room3_linked_to_bruno,
         room=FREE_ROOM),
    Step("unlink", "desvincular", (READ, Gate(Action.LINK_ROOM)), room2_unlinked,
         room=UNLINK_ROOM),
    Step("comment", "comentar hola", (READ, Gate(Action.COMMENT)), commented),
    Step("PO sent", "estado OC-00001 enviada", (READ, Gate(Action.CHANGE_PURCHASE)),
         status_is("OC-00001", "sent")),
    Step("PO approved", "estado OC-00002 aprobada", (READ, Gate(Action.APPROVE_PURCHASE)),
         status_is("OC-00002", "approved")),
    Step("quote delivered", "estado COT-00001 entregada", (READ, Gate(Action.CHANGE_QUOTE)),
         status_is("COT-00001", "delivered")),
    Step("SO approved", "estado OV-00001 aprobada", (READ, Gate(Action.CHANGE_SALES_ORDER)),
         status_is("OV-00001", "approved")),
    Step("case closed", "estado CAS-00001 cerrado", (READ, Gate(Action.CHANGE_CASE)),
         status_is("CAS-00001", "closed")),
    Step("PO emailed", "enviar OC-00003", (READ, Gate(Action.SEND_PURCHASE)),
         send_job_for("OC-00003")),
    Step("quote emailed", "enviar COT-00002", (READ, Gate(Action.SEND_QUOTE)),
         send_job_for("COT-00002")),
    Step("purchase wizard", "agregar compra", (READ, Gate(Action.CREATE_PURCHASE)),
         dialog_at("purchase")),
    Step("quote wizard", "agregar cotizacion", (READ, Gate(Action.CREATE_QUOTE)),
         dialog_at("quote")),
    Step("case wizard", "agregar caso", (READ, Gate(Action.CREATE_CASE)), dialog_at("case")),
    # Steps after the start, by a user whose role has just changed.
    Step("purchase step", "Material", (Gate(Action.CREATE_PURCHASE, wizard_ended),),
         dialog_at("purchase", left="title"), prepare=("agregar compra",)),
    Step("quote step", "Reforma", (Gate(Action.CREATE_QUOTE, wizard_ended),),
         dialog_at("quote", left="title"), prepare=("agregar cotizacion",)),
    Step("case step", "Sin conexión", (Gate(Action.CREATE_CASE, wizard_ended),),
         dialog_at("case", left="title"), prepare=("agregar caso",)),
    Step("purchase approval step", "aprobada",
         (Gate(Action.CREATE_PURCHASE, wizard_ended),
          Gate(Action.APPROVE_PURCHASE, approval_refused)),
         approved_in_wizard, prepare=PO_HEADER),
    Step("purchase vendor creation", "si",
         (Gate(Action.CREATE_PURCHASE, wizard_ended), Gate(Action.CREATE_VENDOR)),
         vendor_created, prepare=("agregar compra", "Material", "Ferretería Nueva")),
    Step("link by list number", "2", (READ, Gate(Action.LINK_ROOM)), room3_linked_to_an_ana,
         room=FREE_ROOM, prepare=("vincular ana",)),
]  # fmt: skip


def test_every_action_is_tried_in_the_chat() -> None:
    tried = {gate.action for step in CASES for gate in step.gates} | {Action.HELP}
    assert tried == set(Action)


async def as_role(store: Store, role: str) -> None:
    async with store.sessions.begin() as s:
        await set_role(s, USER, role)


async def reset_conversation(store: Store) -> None:
    """No dialog, remembered list or free room's link carries over to the next step."""
    async with store.sessions.begin() as s:
        await s.execute(delete(m.DialogSession))
        await s.execute(delete(m.ChatMemory))
        await s.execute(delete(m.ChatChannel).where(m.ChatChannel.room_id == FREE_ROOM))


def outcome(step: Step, role: str) -> list[str] | None:
    """The refusal ``role`` gets at ``step`` by CONTRACT, or None when it may do it."""
    for gate in step.gates:
        if role not in CONTRACT[gate.action]:
            return gate.refusal(role, gate.action)
    return None


def mail_chat(store: Store) -> Chat:
    """The transcript harness with a relay set up, so `enviar` records its job (the worker
    that would connect to the relay never runs here)."""
    chat = Chat(store, fixed_role=None, clock=lambda: NOW)
    relay = SenderConfig(parse_relay_url("smtp://127.0.0.1:1"), "crm.example.test")
    chat.app = build_chat(
        store, chat.transport, ChatConfig(), locale="es", fixed_role=None, sender=relay,
        clock=lambda: NOW,
    )  # fmt: skip
    return chat


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_does_what_the_contract_allows_and_nothing_else(
    sqlite_store: Store, role: str
) -> None:
    store = sqlite_store
    world = await seed(store)
    wrong: list[str] = []
    refusals = {RENDER.render("forbidden", {"role": role, "needed": n}, "es") for n in ROLES}
    async with mail_chat(store) as chat:
        for step in CASES:
            if step.prepare:
                await as_role(store, "admin")
                for text in step.prepare:
                    await chat.say(text, user=USER, room=step.room)
            await as_role(store, role)
            before = await snapshot(store)
            replies = await chat.say(step.say, user=USER, room=step.room)
            refusal = outcome(step, role)
            if refusal is None:
                refused = refusals.intersection(replies)
                if refused or not await step.done(store, world, replies):
                    wrong.append(f"{step.name}: not done for {role}: {replies}")
            else:
                if replies[: len(refusal)] != refusal:
                    wrong.append(f"{step.name}: {role} got {replies}, expected {refusal}")
                if await step.done(store, world, replies):
                    wrong.append(f"{step.name}: done for {role} although refused")
                if refusal[-1] == CANCELLED and await dialog(store) is not None:
                    wrong.append(f"{step.name}: the wizard stayed open for {role}")
                changed = await snapshot(store)
                if changed != before:
                    tables = [t for t in before if before[t] != changed[t]]
                    wrong.append(f"{step.name}: {role} was refused but {tables} changed")
            await reset_conversation(store)
    assert wrong == []


async def test_a_user_the_crm_does_not_know_has_only_help(sqlite_store: Store) -> None:
    """`CRMBOT_DEFAULT_ROLE` is `none`: an unmapped user reads nothing, changes nothing."""
    store = sqlite_store
    await seed(store)
    async with Chat(store, fixed_role=None, clock=lambda: NOW) as chat:
        before = await snapshot(store)
        assert "ayuda" in as_shown((await chat.say("ayuda", user="stranger"))[0])
        for text in ("buscar ana", "contacto", "comentar hola", "estado OC-00002 aprobada"):
            assert await chat.say(text, user="stranger") == forbidden("none", Action.READ)
        assert await snapshot(store) == before


async def test_a_file_from_a_user_without_a_role_is_neither_stored_nor_answered(
    sqlite_store: Store,
) -> None:
    store = sqlite_store
    await seed(store)
    blob = await store.files.put(b"%PDF-1.4")
    async with Chat(store, fixed_role=None, clock=lambda: NOW) as chat:
        for user, role in (("stranger", "none"), (USER, "ventas")):
            await as_role(store, role)
            incoming = Incoming(
                message_id=f"file-{user}",
                room=RoomRef(id=ROOM, name="ana", kind="c"),
                user=ChatUser(id=f"u-{user}", username=user, name=user),
                text="",
                file=FileRef(id=f"f-{user}", name="x.pdf", size=blob.size, sha256=blob.sha256),
            )
            await chat.app.inbox.submit(incoming)
            await chat.app.notifier.drain()
            heard = [sent.text for sent in chat.transport.sent if sent.room_id == ROOM]
            async with store.sessions() as s:
                stored = list(await s.scalars(select(m.StoredFile.created_by)))
            if role == "none":
                assert (heard, stored) == ([], [])
    assert stored == [USER]  # the same file from a mapped user is kept
    assert len(heard) == 1
