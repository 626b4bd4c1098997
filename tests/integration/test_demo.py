"""The demo data set: complete, exact, idempotent and deterministic, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from sqlalchemy import DateTime, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import models as m
from store.db import create_engine, session_factory
from store.demo import DemoReport, count_rows, load_demo_data
from store.filestore import FileStore
from store.money import LineInput, compute_totals
from store.numbering import Series
from store.records import ModuleName, count_by_module
from store.services.catalogue import search_vendors
from store.services.contacts import search_contacts
from store.types import UTCDateTime
from store.vocab import DocumentKind
from tests import databases

ModelT = TypeVar("ModelT", bound=m.Base)
T = TypeVar("T")

TODAY = dt.date(2025, 6, 11)
ZONE = ZoneInfo("Europe/Madrid")
SERIES_OF_KIND = {
    DocumentKind.PURCHASE_ORDER.value: Series.PURCHASE_ORDER,
    DocumentKind.QUOTE.value: Series.QUOTE,
    DocumentKind.SALES_ORDER.value: Series.SALES_ORDER,
}


@dataclass
class Loaded:
    """A database holding the demo data, a session on it, and the file store it used."""

    report: DemoReport
    files: FileStore
    session: AsyncSession


@dataclass(frozen=True)
class _Template:
    """A database loaded once per module; each test works on a copy of it."""

    report: DemoReport
    url: str


def _in_thread(coro: Coroutine[object, object, T]) -> T:
    # Module fixtures are set up from inside the tests' running loop; give them their own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _load(url: str, files: FileStore) -> DemoReport:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            report = await load_demo_data(session, files, today=TODAY)
            await session.commit()
    finally:
        await engine.dispose()
    return report


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> FileStore:
    return FileStore(tmp_path_factory.mktemp("demo-files"))


@pytest.fixture(scope="module")
def sqlite_demo(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, demo_files: FileStore
) -> _Template:
    url = databases.clone_sqlite(sqlite_template, tmp_path_factory.mktemp("sqlite-demo"))
    return _Template(_in_thread(_load(url, demo_files)), url)


@pytest.fixture(scope="module")
def pg_demo(pg_template: None, demo_files: FileStore) -> Iterator[_Template]:
    name = _in_thread(databases.clone_pg())
    url = databases.pg_url_for(name)
    yield _Template(_in_thread(_load(url, demo_files)), url)
    _in_thread(databases.drop_pg(name))


@pytest.fixture(params=["sqlite", "postgresql"])
async def demo(
    request: pytest.FixtureRequest, tmp_path: Path, demo_files: FileStore
) -> AsyncIterator[Loaded]:
    """A private copy of the loaded database, on each backend."""
    if request.param == "sqlite":
        template: _Template = request.getfixturevalue("sqlite_demo")
        source = Path(make_url(template.url).database or "")
        url = databases.clone_sqlite(source, tmp_path)
    else:
        template = request.getfixturevalue("pg_demo")
        url = databases.pg_url_for(await _clone_pg(make_url(template.url).database or ""))
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            yield Loaded(template.report, demo_files, session)
    finally:
        await engine.dispose()
        if request.param == "postgresql":
            await databases.drop_pg(make_url(url).database or "")


async def _clone_pg(template: str) -> str:
    name = f"crmbot_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(databases._admin_dsn())
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()
    return name


async def test_most_contacts_have_records_in_all_17_modules(demo: Loaded) -> None:
    contact_ids = list(await demo.session.scalars(select(m.Contact.id)))
    assert len(contact_ids) >= 40
    complete = 0
    for contact_id in contact_ids:
        counts = await count_by_module(demo.session, contact_id)
        complete += all(counts[module] > 0 for module in ModuleName)
    assert complete >= 0.8 * len(contact_ids)
    assert demo.report.loaded


async def test_tax_set_is_exact(demo: Loaded) -> None:
    taxes = {(tax.name, tax.rate) for tax in await demo.session.scalars(select(m.Tax))}
    assert taxes == {
        ("IVA 21 %", Decimal(21)),
        ("IVA 10 %", Decimal(10)),
        ("IVA 4 %", Decimal(4)),
        ("Exento 0 %", Decimal(0)),
    }
    assert demo.report.counts["taxes"] == 4


async def test_a_second_load_changes_nothing(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """Two loads at once load once; a later one finds the marker and changes nothing."""
    files = FileStore(tmp_path / "files")

    async def load(today: dt.date) -> DemoReport:
        async with sessions() as session:
            report = await load_demo_data(session, files, today=today)
            await session.commit()
            return report

    racing = await asyncio.gather(load(TODAY), load(TODAY))
    assert sorted(report.loaded for report in racing) == [False, True]
    assert racing[0].counts == racing[1].counts
    stored = _files_under(tmp_path)
    again = await load(TODAY + dt.timedelta(days=3))
    assert again.loaded is False
    assert again.counts == racing[0].counts
    async with sessions() as session:
        assert again.counts == await count_rows(session)
    assert again.counts["meta"] == 2  # the demo marker and the company address
    assert _files_under(tmp_path) == stored


def _files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


async def test_catalogue_sizes_and_search_variety(demo: Loaded) -> None:
    counts = demo.report.counts
    assert counts["vendors"] >= 12
    assert counts["products"] >= 25
    assert counts["services"] >= 10
    assert len(await search_vendors(demo.session, "suministros")) >= 2
    assert len(await search_contacts(demo.session, "ana")) >= 2
    texts = [
        c.first_name + c.last_name + (c.account or "") for c in await _all(demo.session, m.Contact)
    ]
    assert any("*" in text for text in texts)
    assert any("_" in text for text in texts)
    assert any("ñ" in text for text in texts)


async def test_document_totals_are_the_sums_of_their_lines(demo: Loaded) -> None:
    lines: dict[int, list[m.DocumentLine]] = defaultdict(list)
    for line in await demo.session.scalars(
        select(m.DocumentLine).order_by(m.DocumentLine.position)
    ):
        lines[line.document_id].append(line)
    documents = await _all(demo.session, m.Document)
    assert len(documents) >= 100
    for document in documents:
        totals = compute_totals([_money_input(line) for line in lines[document.id]])
        assert 1 <= len(lines[document.id]) <= 4
        assert document.subtotal == totals.subtotal == sum(x.net for x in lines[document.id])
        assert document.discount_total == totals.discount_total
        assert document.tax_total == totals.tax_total == sum(x.tax for x in lines[document.id])
        assert document.total == totals.total == document.subtotal + document.tax_total
        for line, amounts in zip(lines[document.id], totals.lines, strict=True):
            assert (line.gross, line.discount, line.net, line.tax, line.total) == (
                amounts.gross,
                amounts.discount,
                amounts.net,
                amounts.tax,
                amounts.total,
            )


def _money_input(line: m.DocumentLine) -> LineInput:
    return LineInput(
        quantity=line.quantity,
        unit_price=line.unit_price,
        tax_rate=line.tax_rate,
        discount_percent=line.discount_percent,
        discount_amount=line.discount_amount,
    )


async def test_purchase_orders_have_vendors_and_varied_statuses(demo: Loaded) -> None:
    orders = [d for d in await _all(demo.session, m.Document) if d.kind == "purchase_order"]
    assert all(order.vendor_id is not None for order in orders)
    assert {"created", "approved", "sent", "received"} <= {order.status for order in orders}
    assert all(order.delivery_address and order.billing_address for order in orders)
    statuses = {case.status for case in await _all(demo.session, m.Case)}
    assert {"open", "closed"} <= statuses


async def test_numbers_are_gap_free_and_follow_creation_order(demo: Loaded) -> None:
    by_series: dict[Series, list[tuple[dt.datetime, str]]] = defaultdict(list)
    for document in await _all(demo.session, m.Document):
        by_series[SERIES_OF_KIND[document.kind]].append((document.created_at, document.number))
    for case in await _all(demo.session, m.Case):
        by_series[Series.CASE].append((case.created_at, case.number))
    sequences = {row.name: row.last_value for row in await _all(demo.session, m.Sequence)}
    assert set(by_series) == set(Series)
    for series, numbered in by_series.items():
        numbered.sort()
        expected = [f"{series.value}-{n:05d}" for n in range(1, len(numbered) + 1)]
        assert [number for _, number in numbered] == expected
        assert sequences[series.value] == len(numbered)


async def test_every_file_is_in_the_file_store(demo: Loaded) -> None:
    stored = await _all(demo.session, m.StoredFile)
    blobs = {blob.sha256: blob.size for blob in await _all(demo.session, m.Blob)}
    assert {f.sha256 for f in stored} == set(blobs)
    assert len(blobs) < len(stored)  # the shared catalogue is stored once for many contacts
    for file in stored:
        content = demo.files.read_bytes(file.sha256)
        assert hashlib.sha256(content).hexdigest() == file.sha256
        assert len(content) == file.size == blobs[file.sha256]
    assert {f.source for f in stored} == {"upload", "email"}
    attached = set(await demo.session.scalars(select(m.EmailFile.file_id)))
    assert attached
    assert all(f.source == "email" for f in stored if f.id in attached)


async def test_emails_thread_and_link(demo: Loaded) -> None:
    emails = {email.id: email for email in await _all(demo.session, m.Email)}
    assert all(re.fullmatch(r"<demo-\d+@crm\.localhost>", e.message_id) for e in emails.values())
    assert {e.direction for e in emails.values()} == {"inbound", "outbound"}
    replies = [e for e in emails.values() if e.thread_root_id is not None]
    assert replies
    for reply in replies:
        assert reply.thread_root_id is not None
        root = emails[reply.thread_root_id]
        assert reply.in_reply_to == root.message_id
        assert root.date < reply.date
    linked = set(await demo.session.scalars(select(m.EmailContact.email_id)))
    assert linked == set(emails)
    cases = set(await demo.session.scalars(select(m.Case.number)))
    assert set(await demo.session.scalars(select(m.EmailRecord.record_number))) <= cases


async def test_shell_room_stays_unlinked(demo: Loaded) -> None:
    rooms = [channel.room_id for channel in await _all(demo.session, m.ChatChannel)]
    assert "shell" not in rooms
    assert all(re.fullmatch(r"demo-room-\d+", room) for room in rooms)


async def test_every_datetime_is_aware_and_history_is_in_the_past(demo: Loaded) -> None:
    start_of_today = dt.datetime.combine(TODAY, dt.time(), tzinfo=ZONE)
    seen = 0
    for table in m.Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, DateTime | UTCDateTime)]
        assert all(isinstance(c.type, UTCDateTime) for c in columns), table.name
        for row in await demo.session.execute(select(*columns)) if columns else []:
            for column, value in zip(columns, row, strict=True):
                if value is None:
                    continue
                seen += 1
                assert value.tzinfo is not None, (table.name, column.name)
                if column.name == "created_at" and column.name not in _stamped(table.name):
                    assert value < start_of_today, (table.name, value)
    assert seen > 1000


async def test_history_spans_about_eighteen_months(demo: Loaded) -> None:
    for column in (m.Contact.created_at, m.Document.created_at, m.Comment.created_at):
        oldest = min(await demo.session.scalars(select(column)))
        assert (TODAY - oldest.astimezone(ZONE).date()).days >= 300, column
    contacts = [c.created_at.astimezone(ZONE).date() for c in await _all(demo.session, m.Contact)]
    assert max(contacts) > TODAY - dt.timedelta(days=31)  # the new leads
    upcoming = [e for e in await _all(demo.session, m.CalendarEvent) if e.status == "planned"]
    assert all(e.starts_at.astimezone(ZONE).date() > TODAY for e in upcoming)


async def test_both_databases_get_the_same_data(sqlite_demo: _Template, pg_demo: _Template) -> None:
    """One seed and one day give the same rows, ids included, on SQLite and PostgreSQL."""
    dumps = []
    for template in (sqlite_demo, pg_demo):
        engine = create_engine(template.url)
        try:
            async with session_factory(engine)() as session:
                dumps.append(await _dump(session))
        finally:
            await engine.dispose()
    assert dumps[0] == dumps[1]
    assert sqlite_demo.report.counts == pg_demo.report.counts


async def _dump(session: AsyncSession) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, minus the times the database stamps at insert (now)."""
    dump = {}
    for table in m.Base.metadata.sorted_tables:
        columns = [c for c in table.columns if c.name not in _stamped(table.name)]
        rows = await session.execute(select(*columns).order_by(*table.primary_key.columns))
        dump[table.name] = [tuple(row) for row in rows]
    return dump


def _stamped(table: str) -> set[str]:
    """Columns set to the real "now" at insert: when bytes were stored, when a row changed."""
    return {"updated_at", "created_at"} if table == "blobs" else {"updated_at"}


async def _all(session: AsyncSession, model: type[ModelT]) -> list[ModelT]:
    return list(await session.scalars(select(model)))
