"""store.direct: the rows SQLAlchemy's own path returns, with SQLite's statements sent straight.

Every read is compared with ``connection.execute`` of the same statement in the same
transaction, so a conversion the direct path forgot shows up as a difference, and with the
values written, so a mistake both paths shared would show up too.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Integer, bindparam, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import Store
from store import direct
from store.db import create_engine, session_factory
from store.direct import DirectStatement, Sent
from store.models import Address, Contact, Document, DocumentLine, Tax, Vendor
from store.models.base import table_of
from store.types import utcnow
from tests import databases

PLUS_TWO = dt.timezone(dt.timedelta(hours=2))
WHEN = dt.datetime(2026, 3, 1, 10, 30, 15, 123456, tzinfo=PLUS_TWO)
LATER = dt.datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=dt.UTC)
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
LAST_NAME = "Muñoz «ñ» Ålvarez"

_CONTACTS = table_of(Contact)
_ADDRESSES = table_of(Address)
_DOCUMENTS = table_of(Document)
_LINES = table_of(DocumentLine)
_TAXES = table_of(Tax)
_VENDORS = table_of(Vendor)

CONTACT_BY_NAME = DirectStatement(
    select(
        _CONTACTS.c.first_name,
        _CONTACTS.c.last_name,
        _CONTACTS.c.email,
        _CONTACTS.c.phone,
        _CONTACTS.c.account,
        _CONTACTS.c.created_at,
        _CONTACTS.c.updated_at,
    ).where(_CONTACTS.c.last_name == bindparam("last_name"))
)
ADDRESSES_UNTIL = DirectStatement(
    select(
        _ADDRESSES.c.city, _ADDRESSES.c.is_primary, _ADDRESSES.c.is_fiscal, _ADDRESSES.c.created_at
    )
    .where(
        _ADDRESSES.c.contact_id == bindparam("contact_id"),
        _ADDRESSES.c.is_fiscal == bindparam("fiscal"),
        _ADDRESSES.c.created_at <= bindparam("until"),
    )
    .order_by(_ADDRESSES.c.id)
)
LINES_OF = DirectStatement(
    select(
        _LINES.c.position,
        _LINES.c.item_name,
        _LINES.c.quantity,
        _LINES.c.unit_price,
        _LINES.c.tax_name,
        _LINES.c.tax_rate,
        _LINES.c.discount_percent,
        _LINES.c.discount_amount,
        _LINES.c.total,
        _DOCUMENTS.c.subtotal,
        _DOCUMENTS.c.date,
        _DOCUMENTS.c.valid_until,
        _DOCUMENTS.c.updated_at,
    )
    .join_from(_LINES, _DOCUMENTS)
    .where(_DOCUMENTS.c.number == bindparam("number"))
    .order_by(_LINES.c.position)
)
LINES_AT_PRICE = DirectStatement(
    select(_LINES.c.item_name).where(_LINES.c.unit_price == bindparam("price"))
)
TOTALS = DirectStatement(
    select(func.count(_LINES.c.id), func.max(_DOCUMENTS.c.updated_at)).join_from(_LINES, _DOCUMENTS)
)

INSERT_TAX = DirectStatement(insert(_TAXES), columns=("id", "name", "rate", "created_at"))
SET_TAX_RATE = DirectStatement(
    update(_TAXES).where(_TAXES.c.id == bindparam("tax_id")).values(rate=bindparam("new_rate"))
)
TAX_BY_NAME = DirectStatement(
    select(_TAXES.c.id, _TAXES.c.rate).where(_TAXES.c.name == bindparam("name"))
)
TAXES_NAMED_IVA = DirectStatement(
    select(_TAXES.c.id, _TAXES.c.rate).where(_TAXES.c.name.like("IVA%"))
)
TAXES = DirectStatement(select(_TAXES.c.id, _TAXES.c.name, _TAXES.c.rate, _TAXES.c.created_at))
FIRST_FIVE_TAXES_FROM = DirectStatement(
    select(_TAXES.c.id).where(_TAXES.c.id >= bindparam("from_id")).order_by(_TAXES.c.id).limit(5)
)
TAXES_AT_21 = DirectStatement(
    select(_TAXES.c.id).where(_TAXES.c.rate == Decimal("21")).order_by(_TAXES.c.id)
)


def direct_sends(store: Store) -> int:
    """Statements each call should send straight: the store's SQLite engine is the inline one."""
    return 1 if store.engine.dialect.name == "sqlite" else 0


async def vendor_row(store: Store, name_key: str) -> Sequence[Any] | None:
    async with store.sessions() as session:
        found = await session.execute(
            select(_VENDORS.c.id, _VENDORS.c.email, _VENDORS.c.created_at).where(
                _VENDORS.c.name_key == name_key
            )
        )
        return found.one_or_none()


async def ordinary(
    session: AsyncSession, statement: DirectStatement, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """What SQLAlchemy's own path returns for the same statement, as tuples."""
    connection = await session.connection()
    return [tuple(row) for row in await connection.execute(statement.statement, params)]


async def assert_parity(
    session: AsyncSession, statement: DirectStatement, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """The direct rows, after checking they equal the ordinary ones value, type and scale."""
    rows = await direct.fetch(session, statement, params)
    expected = await ordinary(session, statement, params)
    assert rows == expected
    # repr tells Decimal("1.5") from Decimal("1.50") and a UTC datetime from a naive one.
    assert repr(rows) == repr(expected)
    return rows


def tax(tax_id: int, name: str, rate: str) -> dict[str, Any]:
    return {"id": tax_id, "name": name, "rate": Decimal(rate), "created_at": WHEN}


async def stored_taxes(store: Store) -> dict[int, tuple[str, str, dt.datetime]]:
    """Every tax as read by a fresh ORM session: name, rate as text (its scale), created_at."""
    async with store.sessions() as session:
        found = await session.scalars(select(Tax))
        return {t.id: (t.name, str(t.rate), t.created_at) for t in found}


def assert_utc(value: object) -> None:
    assert isinstance(value, dt.datetime)
    assert value.utcoffset() == dt.timedelta(0)


async def seed_document(session: AsyncSession) -> int:
    """A contact with two addresses and a two-line quote; returns the contact's id."""
    contact = Contact(
        first_name="José",
        last_name=LAST_NAME,
        account="Óptica Ñandú",
        created_at=WHEN,
        updated_at=WHEN,
    )
    session.add(contact)
    await session.flush()
    session.add_all(
        [
            Address(contact_id=contact.id, city="Córdoba", is_primary=True, created_at=WHEN),
            Address(contact_id=contact.id, city="Málaga", is_fiscal=True, created_at=LATER),
        ]
    )
    document = Document(
        kind="quote",
        number="Q-0001",
        contact_id=contact.id,
        title="Presupuesto año nuevo",
        date=dt.date(2026, 3, 1),
        status="draft",
        subtotal=Decimal("1234.5"),
        discount_total=Decimal("0"),
        tax_total=Decimal("259.25"),
        total=Decimal("1493.75"),
        created_at=WHEN,
        updated_at=WHEN,
    )
    session.add(document)
    await session.flush()
    session.add_all(
        [
            line(document.id, 1, "Café molido", tax_rate=Decimal("21"), discount_amount="1.5"),
            line(document.id, 2, "Té verde", tax_rate=None, discount_percent=Decimal("10")),
        ]
    )
    await session.flush()
    return contact.id


def line(
    document_id: int,
    position: int,
    name: str,
    *,
    tax_rate: Decimal | None,
    discount_amount: str | None = None,
    discount_percent: Decimal | None = None,
) -> DocumentLine:
    return DocumentLine(
        document_id=document_id,
        position=position,
        item_name=name,
        quantity=Decimal("2.5"),
        unit_price=Decimal(f"{position}2.34"),
        tax_name=None if tax_rate is None else "IVA",
        tax_rate=tax_rate,
        discount_percent=discount_percent,
        discount_amount=None if discount_amount is None else Decimal(discount_amount),
        gross=Decimal("30.85"),
        discount=Decimal("1.5"),
        net=Decimal("29.35"),
        tax=Decimal("6.16"),
        total=Decimal("35.51"),
    )


# 1. Parity, with the conversions our column types make.


async def test_contact_rows_match_the_ordinary_path_with_accents_nulls_and_utc(
    store: Store,
) -> None:
    async with store.sessions.begin() as session:
        await seed_document(session)
        rows = await assert_parity(session, CONTACT_BY_NAME, {"last_name": LAST_NAME})
        assert await assert_parity(session, CONTACT_BY_NAME, {"last_name": "Munoz"}) == []
    assert rows == [("José", LAST_NAME, None, None, "Óptica Ñandú", WHEN, WHEN)]
    for value in rows[0][5:]:
        assert_utc(value)


async def test_booleans_and_datetime_parameters_are_converted_both_ways(store: Store) -> None:
    async with store.sessions.begin() as session:
        contact_id = await seed_document(session)
        # Bound at +02:00, where its text sorts after the stored UTC text: only a conversion
        # to UTC compares the right instants.
        until = LATER.astimezone(PLUS_TWO)
        fiscal = await assert_parity(
            session, ADDRESSES_UNTIL, {"contact_id": contact_id, "fiscal": True, "until": until}
        )
        other = await assert_parity(
            session, ADDRESSES_UNTIL, {"contact_id": contact_id, "fiscal": False, "until": until}
        )
        too_early = until - dt.timedelta(microseconds=1)  # Málaga's address is one later
        none = await assert_parity(
            session, ADDRESSES_UNTIL, {"contact_id": contact_id, "fiscal": True, "until": too_early}
        )
    assert fiscal == [("Málaga", False, True, LATER)]
    assert other == [("Córdoba", True, False, WHEN)]
    assert none == []
    assert all(isinstance(flag, bool) for row in fiscal + other for flag in row[1:3])
    assert_utc(fiscal[0][3])
    assert_utc(other[0][3])


async def test_money_keeps_its_scale_and_nulls_stay_null(store: Store) -> None:
    async with store.sessions.begin() as session:
        await seed_document(session)
        rows = await assert_parity(session, LINES_OF, {"number": "Q-0001"})
        by_price = await assert_parity(session, LINES_AT_PRICE, {"price": Decimal("12.34")})
        totals = await assert_parity(session, TOTALS, {})
    money = (2, 3, 5, 6, 7, 8, 9)  # quantity, price, tax rate, discounts, total, subtotal
    decimals = [[None if row[i] is None else str(row[i]) for i in money] for row in rows]
    assert decimals == [
        ["2.500", "12.3400", "21.000", None, "1.50", "35.51", "1234.50"],
        ["2.500", "22.3400", None, "10.000", None, "35.51", "1234.50"],
    ]
    assert [row[:2] for row in rows] == [(1, "Café molido"), (2, "Té verde")]
    assert [row[4] for row in rows] == ["IVA", None]
    assert {row[10:12] for row in rows} == {(dt.date(2026, 3, 1), None)}
    assert all(row[12] == WHEN for row in rows)
    assert_utc(rows[0][12])
    assert by_price == [("Café molido",)]  # a Decimal parameter bound as the column stores it
    assert totals == [(2, WHEN)]
    assert_utc(totals[0][1])


# 2. Which path a statement takes.


@contextmanager
def sent_straight() -> Iterator[list[str]]:
    """The first word of each statement ``store.direct`` sends straight meanwhile."""
    seen: list[str] = []

    def record(sql: str) -> None:
        seen.append(sql.split()[0].upper())

    Sent.listeners.append(record)
    try:
        yield seen
    finally:
        Sent.listeners.remove(record)


async def test_sqlite_sends_straight_and_postgresql_takes_the_ordinary_path(
    store: Store,
) -> None:
    async with store.sessions.begin() as session:
        await seed_document(session)
        before = Sent.count
        with sent_straight() as sent:
            await direct.fetch(session, CONTACT_BY_NAME, {"last_name": LAST_NAME})
            await direct.run(session, INSERT_TAX, tax(9001, "IVA", "21"))
            await direct.run_many(
                session, INSERT_TAX, [tax(9002, "IVA reducido", "10"), tax(9003, "Exento", "0")]
            )
        assert Sent.count - before == 3 * direct_sends(store)
        assert await direct.straight(session) == bool(direct_sends(store))
    assert sent == ["SELECT", "INSERT", "INSERT"][: 3 * direct_sends(store)]
    assert set(await stored_taxes(store)) >= {9001, 9002, 9003}


async def test_a_session_outside_a_transaction_begins_one(store: Store) -> None:
    async with store.sessions.begin() as session:
        await seed_document(session)
    async with store.sessions() as session:
        assert not session.in_transaction()
        first = await direct.fetch(session, CONTACT_BY_NAME, {"last_name": LAST_NAME})
        assert session.in_transaction()
        before = Sent.count
        second = await direct.fetch(session, CONTACT_BY_NAME, {"last_name": LAST_NAME})
        assert Sent.count - before == direct_sends(store)
        assert first == await ordinary(session, CONTACT_BY_NAME, {"last_name": LAST_NAME})
    assert first == second
    assert len(first) == 1


async def test_aiosqlite_thread_mode_takes_the_ordinary_path(
    sqlite_template: Path, tmp_path: Path
) -> None:
    engine = create_engine(databases.clone_sqlite(sqlite_template, tmp_path), sqlite_inline=False)
    sessions = session_factory(engine)
    try:
        async with sessions.begin() as session:
            await seed_document(session)
            before = Sent.count
            rows = await assert_parity(session, LINES_OF, {"number": "Q-0001"})
            await direct.run_many(
                session, INSERT_TAX, [tax(9001, "IVA", "21"), tax(9002, "Exento", "0")]
            )
            in_list = DirectStatement(
                select(_TAXES.c.id).where(_TAXES.c.id.in_(bindparam("ids", expanding=True)))
            )
            found = await direct.fetch(session, in_list, {"ids": [9002, 9999]})
            assert Sent.count == before
            assert not await direct.straight(session)  # SQLite, but not inline
        async with sessions() as session:
            taxes = await direct.fetch(session, TAXES, {})
    finally:
        await engine.dispose()
    assert [str(row[3]) for row in rows] == ["12.3400", "22.3400"]
    assert found == [(9002,)]
    assert {(row[0], str(row[2])) for row in taxes} == {(9001, "21.000"), (9002, "0.000")}


# 3. Writes.


async def test_run_many_writes_several_rows_and_one_row(store: Store) -> None:
    several = [tax(9001, "IVA general", "21"), tax(9002, "IVA reducido ½", "10.5")]
    several.append(tax(9003, "Recargo equivalencia", "5.2"))
    async with store.sessions.begin() as session:
        await direct.run_many(session, INSERT_TAX, several)
        await direct.run_many(session, INSERT_TAX, [tax(9004, "Canarias IGIC", "7")])
        await direct.run_many(
            session,
            SET_TAX_RATE,
            [
                {"tax_id": 9001, "new_rate": Decimal("22")},
                {"tax_id": 9003, "new_rate": Decimal("1.4")},
            ],
        )
    stored = await stored_taxes(store)
    assert {k: v for k, v in stored.items() if k >= 9001} == {
        9001: ("IVA general", "22.000", WHEN),
        9002: ("IVA reducido ½", "10.500", WHEN),
        9003: ("Recargo equivalencia", "1.400", WHEN),
        9004: ("Canarias IGIC", "7.000", WHEN),
    }
    assert_utc(stored[9004][2])


async def test_run_many_with_no_rows_sends_nothing(store: Store) -> None:
    before_rows = await stored_taxes(store)
    sent: list[str] = []

    def record(_c: object, _cur: object, statement: str, *_rest: object) -> None:
        sent.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with store.sessions() as session:
            before = Sent.count
            await direct.run_many(session, INSERT_TAX, [])
            assert Sent.count == before
            assert session.sync_session.get_transaction() is None  # not even a BEGIN
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)
    assert sent == []
    assert await stored_taxes(store) == before_rows


async def test_an_insert_without_values_takes_the_columns_it_is_given(store: Store) -> None:
    statement = DirectStatement(
        insert(_VENDORS), columns=("name", "name_key", "email", "phone", "created_at")
    )
    params = {"name": "Té", "name_key": "te", "email": None, "phone": None, "created_at": WHEN}
    async with store.sessions.begin() as session:
        await direct.run(session, statement, params)
    found = await vendor_row(store, "te")
    assert found is not None
    assert found[1:] == (None, WHEN)


# 4. Errors.


async def test_a_duplicate_key_is_sqlalchemys_integrity_error_and_a_savepoint_recovers(
    store: Store,
) -> None:
    async with store.sessions.begin() as session:
        await direct.run(session, INSERT_TAX, tax(9001, "IVA", "21"))
        before = Sent.count
        with pytest.raises(IntegrityError) as raised:
            async with session.begin_nested():
                await direct.run(session, INSERT_TAX, tax(9001, "IVA otra vez", "4"))
        assert Sent.count - before == direct_sends(store)
        if direct_sends(store):
            assert isinstance(raised.value.orig, sqlite3.IntegrityError)
        assert [str(rate) for _, rate in await direct.fetch(session, TAXES_NAMED_IVA, {})] == [
            "21.000"
        ]
        await direct.run(session, INSERT_TAX, tax(9003, "Reducido", "10"))
    assert {k: v[:2] for k, v in (await stored_taxes(store)).items() if k >= 9001} == {
        9001: ("IVA", "21.000"),
        9003: ("Reducido", "10.000"),
    }


async def insert_in_savepoint(session: AsyncSession, taxes: list[dict[str, Any]]) -> None:
    """Each tax in its own statement, all inside one SAVEPOINT."""
    async with session.begin_nested():
        for row in taxes:
            await direct.run(session, INSERT_TAX, row)


async def test_a_savepoint_opened_before_any_direct_statement_covers_them(store: Store) -> None:
    async with store.sessions.begin() as session:
        with pytest.raises(IntegrityError):
            await insert_in_savepoint(session, [tax(9001, "IVA", "21"), tax(9001, "IVA 2", "4")])
        await direct.run(session, INSERT_TAX, tax(9002, "Exento", "0"))
    assert {k for k in await stored_taxes(store) if k >= 9001} == {9002}


async def test_a_savepoint_rolls_back_the_direct_writes_made_inside_it(store: Store) -> None:
    # The connection is already known from before the savepoint; SQLAlchemy emits the
    # SAVEPOINT only when the session next asks for its connection.
    async with store.sessions.begin() as session:
        await direct.run(session, INSERT_TAX, tax(9001, "IVA", "21"))
        with pytest.raises(IntegrityError):
            await insert_in_savepoint(session, [tax(9002, "Exento", "0"), tax(9001, "IVA 2", "4")])
        assert await direct.fetch(session, TAX_BY_NAME, {"name": "Exento"}) == []
        await direct.run(session, INSERT_TAX, tax(9003, "Reducido", "10"))
    assert {k for k in await stored_taxes(store) if k >= 9001} == {9001, 9003}


# 5. Pending ORM changes.


@pytest.mark.parametrize("private_check", [True, False], ids=["is_clean", "public"])
async def test_fetch_sees_what_the_orm_has_not_flushed_yet(
    store: Store, private_check: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not private_check:  # as on a SQLAlchemy without Session._is_clean
        monkeypatch.setattr(direct, "_IS_CLEAN", None)
    async with store.sessions.begin() as session:
        await direct.run_many(session, INSERT_TAX, [tax(9001, "IVA", "21"), tax(9002, "Old", "1")])
        changed = await session.get(Tax, 9001)
        gone = await session.get(Tax, 9002)
        assert changed is not None
        assert gone is not None
        session.add(Tax(id=9003, name="Nuevo ñ", rate=Decimal("4"), created_at=WHEN))
        changed.rate = Decimal("22.5")
        await session.delete(gone)
        assert session.new
        assert session.dirty
        before = Sent.count
        new = await direct.fetch(session, TAX_BY_NAME, {"name": "Nuevo ñ"})
        assert Sent.count - before == direct_sends(store)
        dirty = await direct.fetch(session, TAX_BY_NAME, {"name": "IVA"})
        deleted = await direct.fetch(session, TAX_BY_NAME, {"name": "Old"})
    assert [(i, str(r)) for i, r in new] == [(9003, "4.000")]
    assert [(i, str(r)) for i, r in dirty] == [(9001, "22.500")]
    assert deleted == []


# 6. Values fixed in the statement, and IN lists.


async def test_values_fixed_in_the_statement_are_bound_and_converted(store: Store) -> None:
    rates = ["21", "10", "21", "4", "21", "0", "21"]
    rows = [tax(9001 + n, f"Tasa {n}", rate) for n, rate in enumerate(rates)]
    async with store.sessions.begin() as session:
        await direct.run_many(session, INSERT_TAX, rows)
        first_five = await assert_parity(session, FIRST_FIVE_TAXES_FROM, {"from_id": 9002})
        at_21 = await assert_parity(session, TAXES_AT_21, {})
    assert first_five == [(9002,), (9003,), (9004,), (9005,), (9006,)]
    assert at_21 == [(9001,), (9003,), (9005,), (9007,)]


async def test_an_in_list_parameter_is_refused_on_sqlite_when_first_used(store: Store) -> None:
    in_list = DirectStatement(
        select(_TAXES.c.id)
        .where(_TAXES.c.id.in_(bindparam("ids", expanding=True)))
        .order_by(_TAXES.c.id)
    )
    async with store.sessions.begin() as session:
        await direct.run_many(session, INSERT_TAX, [tax(9001, "A", "1"), tax(9002, "B", "2")])
        if direct_sends(store):
            with pytest.raises(ValueError, match="expanding"):
                await direct.fetch(session, in_list, {"ids": [9001, 9002]})
        else:
            assert await direct.fetch(session, in_list, {"ids": [9002, 9001, 9999]}) == [
                (9001,),
                (9002,),
            ]
        # Refused before anything reached the database: the transaction is untouched.
        assert len(await direct.fetch(session, TAXES, {})) == 2


# 7. One session, one transaction after another.


async def test_a_second_transaction_of_a_session_uses_its_own_connection(store: Store) -> None:
    async with store.sessions() as session:
        async with session.begin():
            await direct.run(session, INSERT_TAX, tax(9001, "IVA", "21"))
            assert len(await direct.fetch(session, TAXES, {})) == 1
        # A new pooled connection for the next transaction: one kept from the first (now
        # closed) would fail, or write where the transaction does not commit.
        await store.engine.dispose()
        async with session.begin():
            before = Sent.count
            await direct.run(session, INSERT_TAX, tax(9002, "Exento", "0"))
            assert len(await direct.fetch(session, TAXES, {})) == 2
            assert Sent.count - before == 2 * direct_sends(store)
    assert {k: v[:2] for k, v in (await stored_taxes(store)).items() if k >= 9001} == {
        9001: ("IVA", "21.000"),
        9002: ("Exento", "0.000"),
    }


# 8. What SQLAlchemy's execution context adds per execution: Python-side column defaults
# and onupdate values, and values (a NULL too) fixed in the statement.


async def test_an_insert_fills_python_side_column_defaults_row_by_row(store: Store) -> None:
    statement = DirectStatement(
        insert(_CONTACTS).values(first_name=bindparam("name"), email=bindparam("email"))
    )
    start = utcnow()
    async with store.sessions.begin() as session:
        await direct.run_many(
            session,
            statement,
            [{"name": "Ana", "email": "ana@example.com"}, {"name": "Íñigo", "email": None}],
        )
        await direct.run(session, statement, {"name": "Eva", "email": "eva@example.com"})
    end = utcnow()
    async with store.sessions() as session:
        found = await session.execute(
            select(
                _CONTACTS.c.first_name,
                _CONTACTS.c.last_name,
                _CONTACTS.c.email,
                _CONTACTS.c.created_at,
                _CONTACTS.c.updated_at,
            ).order_by(_CONTACTS.c.id)
        )
        rows = found.all()
    assert [tuple(row[:3]) for row in rows] == [
        ("Ana", "", "ana@example.com"),  # last_name's scalar default
        ("Íñigo", "", None),
        ("Eva", "", "eva@example.com"),
    ]
    for row in rows:  # created_at and updated_at from default=utcnow
        for value in row[3:]:
            assert_utc(value)
            assert start <= value <= end


async def test_an_update_applies_onupdate_columns(store: Store) -> None:
    statement = DirectStatement(
        update(_CONTACTS)
        .values(phone=bindparam("phone"))
        .where(_CONTACTS.c.id == bindparam("contact_id"))
    )
    async with store.sessions.begin() as session:
        contact = Contact(first_name="Ana", created_at=LONG_AGO, updated_at=LONG_AGO)
        session.add(contact)
        await session.flush()
        await direct.run(session, statement, {"phone": "+34 600", "contact_id": contact.id})
    async with store.sessions() as session:
        stored = await session.get(Contact, contact.id)
    assert stored is not None
    assert stored.phone == "+34 600"
    assert stored.updated_at > LONG_AGO
    assert_utc(stored.updated_at)


async def test_a_null_fixed_in_the_statement_is_bound(store: Store) -> None:
    statement = DirectStatement(
        update(_VENDORS).values(email=None).where(_VENDORS.c.id == bindparam("vendor_id"))
    )
    async with store.sessions.begin() as session:
        vendor = Vendor(name="Té", name_key="te", email="te@example.com", created_at=WHEN)
        session.add(vendor)
        await session.flush()
        await direct.run(session, statement, {"vendor_id": vendor.id})
    found = await vendor_row(store, "te")
    assert found is not None
    assert found[1] is None


async def test_a_callable_parameter_value_is_computed_at_each_execution(store: Store) -> None:
    calls = itertools.count(1)
    statement = DirectStatement(
        select(bindparam("n", callable_=lambda: next(calls), type_=Integer))
    )
    async with store.sessions.begin() as session:
        first = await direct.fetch(session, statement, {})
        second = await direct.fetch(session, statement, {})
    assert first != second


async def test_exists_tells_a_present_row_from_a_deleted_one(store: Store) -> None:
    async with store.sessions.begin() as session:
        contact_id = await seed_document(session)
        assert await direct.exists(session, Contact, contact_id)
        assert not await direct.exists(session, Contact, contact_id + 1000)
        removed = Vendor(name="Borrado", name_key="borrado")
        session.add(removed)
        await session.flush()
        assert await direct.exists(session, Vendor, removed.id)
        await session.delete(removed)  # pending: exists() flushes first, as a query would
        assert not await direct.exists(session, Vendor, removed.id)
