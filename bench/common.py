"""What the benchmarks and their load tests share: databases, seed data, PO scripts, meters,
the common options and the output."""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import resource
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat import ChatUser, Incoming, Outgoing, RoomRef
from bot.storage import Store
from store import direct
from store.db import create_engine, session_factory
from store.filestore import FileStore
from store.migrate import upgrade
from store.models import Address, ChatChannel, Contact, ContactKey, Product
from store.services.catalogue import ItemData, VendorData, tax_for_rate, upsert_item, upsert_vendor
from store.services.contacts import search_keys

PG_URL = os.environ.get("CRMBOT_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
TAX_RATES = (Decimal(21), Decimal(10), Decimal(4), Decimal(0))
# Distinct first words, so an exact name is never also the prefix of another vendor's name.
VENDOR_NAMES = ("Aceros Norte", "Bombas Sur", "Cables Este", "Diodos Oeste", "Equipos Centro")
PRODUCTS = 20
BACKENDS = ("sqlite", "postgresql")
T = TypeVar("T")


@dataclass(slots=True)
class CountingTransport:
    """A chat that only counts what it is sent (no network, no memory per message)."""

    sent: int = 0

    async def send(self, message: Outgoing) -> None:
        self.sent += 1


@dataclass(frozen=True, slots=True)
class Item:
    """A catalogue product as the scripts refer to it."""

    sku: str
    name: str
    price: Decimal
    tax_rate: Decimal


@dataclass(frozen=True, slots=True)
class BenchUser:
    """A chat user with a direct room linked to a contact of their own."""

    index: int
    username: str
    room_id: str
    contact_id: int
    contact_name: str

    @property
    def user(self) -> ChatUser:
        """The chat author."""
        return ChatUser(id=f"u-{self.username}", username=self.username, name=self.username)

    @property
    def room(self) -> RoomRef:
        """The user's direct room with the bot."""
        return RoomRef(id=self.room_id, name=self.room_id, kind="d")


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The seeded world: vendors, products (each with a default tax) and users."""

    vendors: tuple[str, ...]
    items: tuple[Item, ...]
    users: tuple[BenchUser, ...] = field(default=())


# --- databases --------------------------------------------------------------------------------
def _admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def postgres_database(url: str = PG_URL, name: str = "") -> AsyncIterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards); yields its SQLAlchemy URL."""
    name = name or f"crmbot_bench_{os.getpid()}"
    admin = await asyncpg.connect(_admin_dsn(url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(_admin_dsn(url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def sqlite_database() -> AsyncIterator[str]:
    """A new SQLite file (WAL, set by ``store.db``) in a temporary folder; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="crmbot-bench-") as folder:
        yield f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"


@asynccontextmanager
async def open_store(url: str, files: Path, *, sqlite_inline: bool = True) -> AsyncIterator[Store]:
    """A migrated store on ``url`` (engine disposed afterwards)."""
    engine = create_engine(url, sqlite_inline=sqlite_inline)
    try:
        await upgrade(engine)
        yield Store(engine, session_factory(engine), FileStore(files))
    finally:
        await engine.dispose()


@asynccontextmanager
async def bench_store(kind: str) -> AsyncIterator[Store]:
    """A fresh migrated store on ``kind``, removed afterwards.

    ``sqlite``, ``postgresql``, or ``sqlite-thread``: SQLite through aiosqlite's worker thread
    instead of the inline connection of ``store.sqlite_inline``, to compare the two.
    """
    database = postgres_database() if kind == "postgresql" else sqlite_database()
    async with database as url:
        with tempfile.TemporaryDirectory(prefix="crmbot-files-") as files:
            inline = kind != "sqlite-thread"
            async with open_store(url, Path(files), sqlite_inline=inline) as store:
                yield store


# --- seed -------------------------------------------------------------------------------------
async def seed(store: Store, users: int, *, prefix: str = "user") -> Catalogue:
    """Taxes, vendors, products and ``users`` contacts, each with a linked direct room."""
    async with store.sessions.begin() as session:
        for rate in TAX_RATES:
            await tax_for_rate(session, rate)
        for name in VENDOR_NAMES:
            await upsert_vendor(session, VendorData(name))
        items = []
        for n in range(1, PRODUCTS + 1):
            item = Item(
                f"SKU-{n:03d}",
                f"Producto {n:03d}",
                Decimal(n) + Decimal("0.50"),
                TAX_RATES[n % len(TAX_RATES)],
            )
            await upsert_item(
                session, Product, ItemData(item.sku, item.name, item.price, item.tax_rate)
            )
            items.append(item)
        people = await _contacts(session, users, prefix)
    return Catalogue(VENDOR_NAMES, tuple(items), people)


async def _contacts(session: AsyncSession, count: int, prefix: str) -> tuple[BenchUser, ...]:
    # Bulk rows instead of upsert_contact: the services' one-at-a-time path is not under test.
    contacts = [
        Contact(first_name=f"Cliente{i:05d}", last_name="Prueba", email=f"{prefix}{i}@example.com")
        for i in range(count)
    ]
    session.add_all(contacts)
    await session.flush()
    users = []
    for i, contact in enumerate(contacts):
        room = f"{prefix}-room-{i:05d}"
        session.add_all(ContactKey(key=key, contact_id=contact.id) for key in search_keys(contact))
        session.add(
            Address(
                contact_id=contact.id,
                street=f"Calle {i}",
                city="Madrid",
                is_primary=True,
                is_fiscal=True,
                label="Principal",
            )
        )
        session.add(ChatChannel(contact_id=contact.id, room_id=room, room_name=room))
        name = f"{contact.first_name} {contact.last_name}"
        users.append(BenchUser(i, f"{prefix}{i:05d}", room, contact.id, name))
    await session.flush()
    return tuple(users)


# --- scripts ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Order:
    """What one user's purchase-order script enters, to check the saved record against."""

    title: str
    vendor: str
    item: Item
    quantity: Decimal
    messages: tuple[str, ...]


def purchase_script(user: BenchUser, catalogue: Catalogue) -> Order:
    """A short, complete PO dialog: one line by SKU, every other step kept or skipped (16 msgs)."""
    vendor = catalogue.vendors[user.index % len(catalogue.vendors)]
    item = catalogue.items[user.index % len(catalogue.items)]
    quantity = Decimal(user.index % 7 + 1)
    title = f"Pedido de {user.username}"
    messages = (
        "agregar compra",
        title,
        vendor,
        "ok",
        "hoy",
        "ok",
        item.sku,
        str(quantity),
        "ok",
        "ok",
        "omitir",
        "listo",
        "omitir",
        "ok",
        "ok",
        "guardar",
    )
    return Order(title, vendor, item, quantity, messages)


_ids = itertools.count(1)


def incoming(user: BenchUser, text: str, message_id: str = "") -> Incoming:
    """A message from ``user`` in their direct room."""
    return Incoming(message_id or f"bench-{next(_ids)}", user.room, user.user, text)


def rss_bytes() -> int:
    """The process's resident set size now (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * resource.getpagesize()


# --- measuring -------------------------------------------------------------------------------
class RenderFailures(logging.Handler):
    """Counts (and keeps out of the output) the notifier's render errors."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` in 0..1)."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@contextmanager
def counting_statements(store: Store) -> Iterator[list[int]]:
    """Counts the SQL statements ``store`` sends while the block runs."""
    counter = [0]

    def count(*_args: object) -> None:
        counter[0] += 1

    # Statements sent past SQLAlchemy (store.direct) are counted by that module instead.
    direct_before = direct.Sent.count
    event.listen(store.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", count)
        counter[0] += direct.Sent.count - direct_before


def cpu_seconds() -> float:
    """CPU time of the whole process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread: aiosqlite's worker too
    return usage.ru_utime + usage.ru_stime


def arguments(
    module: str, description: str | None, *, quick: str, backends: Sequence[str] = BACKENDS
) -> argparse.ArgumentParser:
    """The options every benchmark takes: ``--quick`` (``quick`` says what it does),
    ``--json`` and ``--backend`` (repeatable, one of ``backends``)."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--json", action="store_true", help="print only the JSON document")
    parser.add_argument("--backend", action="append", choices=list(backends))
    return parser


def report(result: T, table: Callable[[T], str], *, json_only: bool) -> None:
    """A benchmark's output: the JSON document, then (unless ``json_only``) its table."""
    print(json.dumps(result, indent=2, default=str))
    if not json_only:
        print(table(result))
