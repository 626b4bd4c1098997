"""``import_csv`` end to end on SQLite and PostgreSQL: upserts, rejections, file errors, batches."""

from __future__ import annotations

import os
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import store.importer
from store.importer import ImportFileError, ImportKind, ImportReport, Rejected, import_csv
from store.models import Address, Contact, Product, Service, Tax, Vendor
from store.services.catalogue import VendorData, upsert_vendor
from store.services.contacts import ContactData, upsert_contact

Sessions = async_sessionmaker[AsyncSession]


def write(folder: Path, text: str, *, encoding: str = "utf-8", name: str = "in.csv") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


async def count(sessions: Sessions, model: type[object]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def contact_by_email(sessions: Sessions, email: str) -> Contact:
    async with sessions() as session:
        contact = await session.scalar(select(Contact).where(Contact.email == email))
    assert contact is not None
    return contact


async def addresses(sessions: Sessions) -> list[Address]:
    async with sessions() as session:
        return list(await session.scalars(select(Address).order_by(Address.id)))


CONTACTS = (
    "first_name,last_name,email,phone,account\n"
    "Ana,García,ana@example.com,600000001,Acme\n"
    "Luis,Pérez,luis@example.com,,\n"
    "Eva,Ruiz,eva@example.com,600000003,Beta\n"
)


async def test_contacts_are_created_then_updated_without_duplicates(
    sessions: Sessions, tmp_path: Path
) -> None:
    path = write(tmp_path, CONTACTS)
    first = await import_csv(sessions, ImportKind.CONTACTS, path)
    second = await import_csv(sessions, ImportKind.CONTACTS, path)
    assert first == ImportReport(created=3, updated=0, rejected=[])
    assert second == ImportReport(created=0, updated=3, rejected=[])
    assert second.total == 3
    assert await count(sessions, Contact) == 3
    ana = await contact_by_email(sessions, "ana@example.com")
    assert (ana.first_name, ana.last_name, ana.phone, ana.account) == (
        "Ana",
        "García",
        "600000001",
        "Acme",
    )


async def test_email_matches_case_insensitively_and_a_repeat_in_the_file_updates(
    sessions: Sessions, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "email,first_name\nANA@Example.com,Ana\nana@example.com,Anita\n",
    )
    report = await import_csv(sessions, ImportKind.CONTACTS, path)
    assert (report.created, report.updated) == (1, 1)
    assert (await contact_by_email(sessions, "ana@example.com")).first_name == "Anita"


MIXED = (
    "first_name,last_name,email,phone\n"  # 1
    "Ana,García,ana@example.com,1\n"  # 2
    ",Nameless,nameless@example.com,\n"  # 3: no first name
    "Luis,,luis@example,\n"  # 4: no dot in the domain
    '"Multi\nLine",X,multi@example.com,\n'  # 5-6: one row over two lines
    "\n"  # 7: blank, skipped
    "Eva,Ruiz,EVA@example.com,\n"  # 8
    "Bad,Row,bad@example.com,1,7\n"  # 9: one cell too many
    "Short,short@example.com\n"  # 10: cells missing
)


async def test_bad_rows_are_rejected_with_line_and_reason_and_good_ones_stored(
    sessions: Sessions, tmp_path: Path
) -> None:
    report = await import_csv(sessions, ImportKind.CONTACTS, write(tmp_path, MIXED), batch_size=3)
    assert (report.created, report.updated) == (3, 0)
    assert [r.line for r in report.rejected] == [3, 4, 9, 10]
    reasons = [r.reason for r in report.rejected]
    assert "first_name is empty" in reasons[0]
    assert "email 'luis@example' is not a valid email address" in reasons[1]
    assert "5 cells but the header has 4" in reasons[2]
    assert "2 cells but the header has 4" in reasons[3]
    async with sessions() as session:
        emails = set(await session.scalars(select(Contact.email)))
    assert emails == {"ana@example.com", "multi@example.com", "eva@example.com"}


async def test_address_becomes_the_primary_and_fiscal_address(
    sessions: Sessions, tmp_path: Path
) -> None:
    header = "first_name,email,street,city,state,postal_code,country\n"
    await import_csv(
        sessions,
        ImportKind.CONTACTS,
        write(tmp_path, header + "Ana,ana@example.com,Calle Mayor 1,Madrid,,28001,España\n"),
    )
    # A second file moves her; a contact with no address columns gets no address.
    moved = header + "Ana,ana@example.com,,Sevilla,,,\nLuis,luis@example.com,,,,,\n"
    await import_csv(sessions, ImportKind.CONTACTS, write(tmp_path, moved, name="moved.csv"))
    [address] = await addresses(sessions)
    ana = await contact_by_email(sessions, "ana@example.com")
    assert address.contact_id == ana.id
    assert (address.is_primary, address.is_fiscal) == (True, True)
    assert (address.street, address.city, address.postal_code, address.country) == (
        "",
        "Sevilla",
        "",
        "",
    )


async def test_reimport_keeps_the_fields_the_file_has_no_columns_for(
    sessions: Sessions, tmp_path: Path
) -> None:
    async with sessions.begin() as session:
        data = ContactData("Ana", email="ana@example.com", mobile="699", owner="maria")
        await upsert_contact(session, data)
    await import_csv(
        sessions, ImportKind.CONTACTS, write(tmp_path, "first_name,email\nAna,ana@example.com\n")
    )
    ana = await contact_by_email(sessions, "ana@example.com")
    assert (ana.mobile, ana.owner) == ("699", "maria")


async def test_vendors_upsert_by_folded_name(sessions: Sessions, tmp_path: Path) -> None:
    text = (
        "Name,Email,Phone,Notes\n"
        "Suministros Ibérica,Ventas@Iberica.es,,x\n"
        " SUMINISTROS IBERICA ,,900 1,\n"
    )
    report = await import_csv(sessions, ImportKind.VENDORS, write(tmp_path, text))
    assert (report.created, report.updated, report.rejected) == (1, 1, [])
    async with sessions() as session:
        [vendor] = await session.scalars(select(Vendor))
    assert (vendor.name, vendor.email, vendor.phone) == (
        "SUMINISTROS IBERICA",
        "ventas@iberica.es",
        "900 1",
    )


async def test_products_upsert_by_sku_with_tax_and_stock(
    sessions: Sessions, tmp_path: Path
) -> None:
    header = "sku,name,unit_price,tax_rate,stock\n"
    first = header + "R-1,Router,12.50,21,3\nC-1,Cable,0.99,,\nX-1,Bad,12,50,21,\n"
    report = await import_csv(sessions, ImportKind.PRODUCTS, write(tmp_path, first))
    assert (report.created, report.updated) == (2, 0)
    assert report.rejected == [
        Rejected(
            4,
            "the row has 6 cells but the header has 5: a value containing a comma "
            "must be in double quotes, and decimals use a dot",
        )
    ]
    second = header + "R-1,Router Pro,15,,\n"
    report = await import_csv(sessions, ImportKind.PRODUCTS, write(tmp_path, second, name="2.csv"))
    assert (report.created, report.updated) == (0, 1)
    async with sessions() as session:
        router = await session.scalar(select(Product).where(Product.sku == "R-1"))
        rates = list(await session.scalars(select(Tax.rate)))
    assert router is not None
    assert (router.name, router.unit_price, router.tax_id, router.stock) == (
        "Router Pro",
        Decimal("15"),
        None,  # an empty tax_rate means no default tax
        Decimal("3"),  # an empty stock keeps the stock
    )
    assert rates == [Decimal(21)]


async def test_services_upsert_by_sku(sessions: Sessions, tmp_path: Path) -> None:
    text = "sku,name,unit_price,tax_rate,stock\nS-1,Soporte,90,21,5\nS-1,Soporte anual,900,10,\n"
    report = await import_csv(sessions, ImportKind.SERVICES, write(tmp_path, text))
    assert (report.created, report.updated, report.rejected) == (1, 1, [])
    async with sessions() as session:
        [service] = await session.scalars(select(Service))
        tax = await session.get(Tax, service.tax_id)
    assert (service.name, service.unit_price) == ("Soporte anual", Decimal(900))
    assert tax is not None
    assert tax.rate == Decimal(10)


async def test_a_row_the_database_refuses_is_rolled_back_alone(
    sessions: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    async def clashing_upsert(session: AsyncSession, data: VendorData) -> tuple[Vendor, bool]:
        vendor, created = await upsert_vendor(session, data)
        if data.name == "Clash":
            # A second row with Acme's unique key: the database itself says no.
            session.add(Vendor(name="Acme again", name_key="acme"))
            await session.flush()
        return vendor, created

    monkeypatch.setattr(store.importer, "upsert_vendor", clashing_upsert)
    path = write(tmp_path, "name\nAcme\nClash\nZeta\n")
    report = await import_csv(sessions, ImportKind.VENDORS, path)
    assert (report.created, report.updated) == (2, 0)
    [rejected] = report.rejected
    assert rejected.line == 3
    assert rejected.reason.startswith("the database refused the row: ")
    async with sessions() as session:
        names = set(await session.scalars(select(Vendor.name)))
    assert names == {"Acme", "Zeta"}  # Clash's own insert went with its savepoint


@pytest.mark.parametrize(
    ("kind", "text", "fragment"),
    [
        (ImportKind.CONTACTS, "first_name,last_name\nAna,García\n", "has no email column"),
        (ImportKind.VENDORS, "vendor,email\nAcme,\n", "has no name column"),
        (ImportKind.PRODUCTS, "sku;name;unit_price\nA;B;1\n", "separated by ';'"),
        (ImportKind.SERVICES, "", "the file is empty"),
        (ImportKind.SERVICES, "\n\n", "the file is empty"),
    ],
)
async def test_unusable_header_is_a_file_error(
    sessions: Sessions, tmp_path: Path, kind: ImportKind, text: str, fragment: str
) -> None:
    with pytest.raises(ImportFileError, match=fragment):
        await import_csv(sessions, kind, write(tmp_path, text))


async def test_a_file_that_is_not_utf8_is_refused_before_any_row_is_written(
    sessions: Sessions, tmp_path: Path
) -> None:
    text = "first_name,email\nAna,ana@example.com\nJosé,jose@example.com\n"
    path = write(tmp_path, text, encoding="latin-1")
    with pytest.raises(ImportFileError, match=r"line 3 is not UTF-8 text \(byte 0xe9\)"):
        await import_csv(sessions, ImportKind.CONTACTS, path, batch_size=1)
    assert await count(sessions, Contact) == 0


async def test_a_missing_file_is_a_file_error(sessions: Sessions, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="cannot open the file"):
        await import_csv(sessions, ImportKind.CONTACTS, tmp_path / "nope.csv")


async def test_an_unclosed_quote_is_a_file_error_at_the_line_it_opens(
    sessions: Sessions, tmp_path: Path
) -> None:
    text = 'name\nAcme\n"Zeta\n' + "Vendor\n" * 30_000
    with pytest.raises(ImportFileError, match="the row at line 3 is not valid CSV"):
        await import_csv(sessions, ImportKind.VENDORS, write(tmp_path, text))
    assert await count(sessions, Vendor) == 0


async def test_a_pipe_is_read_once_and_its_total_is_unknown(
    sessions: Sessions, tmp_path: Path
) -> None:
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    writer = threading.Thread(target=pipe.write_text, args=("name\nAcme\nZeta\nEta\n",))
    writer.start()
    calls: list[tuple[int, int]] = []
    report = await import_csv(
        sessions,
        ImportKind.VENDORS,
        pipe,
        batch_size=2,
        progress=lambda done, total: calls.append((done, total)),
    )
    writer.join()
    assert report.created == 3
    assert calls == [(2, -1), (3, -1)]


async def test_bom_is_accepted_and_extra_columns_are_ignored(
    sessions: Sessions, tmp_path: Path
) -> None:
    text = "First_Name,Notes, EMAIL ,tags\r\nAna,likes tea,ana@example.com,a;b\r\n"
    path = write(tmp_path, text, encoding="utf-8-sig")
    report = await import_csv(sessions, ImportKind.CONTACTS, path)
    assert report == ImportReport(created=1, updated=0, rejected=[])
    assert (await contact_by_email(sessions, "ana@example.com")).first_name == "Ana"


async def test_a_large_file_goes_in_batches_and_reports_progress(
    sessions: Sessions, tmp_path: Path
) -> None:
    lines = [f"Name{n},Last{n},user{n}@example.com,Calle {n},Madrid" for n in range(1200)]
    lines[700] = "Broken,Row,not-an-email,,"  # line 702
    path = write(tmp_path, "first_name,last_name,email,street,city\n" + "\n".join(lines))
    calls: list[tuple[int, int]] = []
    report = await import_csv(
        sessions,
        ImportKind.CONTACTS,
        path,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(500, 1200), (1000, 1200), (1200, 1200)]
    assert (report.created, report.updated, report.total) == (1199, 0, 1200)
    assert [r.line for r in report.rejected] == [702]
    assert await count(sessions, Contact) == 1199
    assert len(await addresses(sessions)) == 1199
