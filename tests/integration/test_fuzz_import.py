"""Fuzzing the CSV import (`import_csv`, `crmbot import`) on SQLite and PostgreSQL (CONTRACT §6).

Contact files with shuffled, renamed and missing columns, extra columns, huge fields,
quotes and line breaks inside cells, formula-injection strings, Unicode edge cases and
rows of the wrong width; and whole files in other encodings or with bytes that are not
UTF-8. The invariants: a file is either refused whole with one line and nothing written,
or every row is counted once, as created, updated or rejected with a one-line reason; the
database then holds exactly what the accepted rows say (the last row of an email wins, its
address with it), so no contact is ever half-written; a rejected row leaves no trace.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli import main
from store.importer import ImportFileError, ImportKind, ImportReport, import_csv
from store.models import Address, Contact
from tests.databases import TestDatabase
from tests.e2e.test_fuzz_webhook import FORMULAS, FUZZ, edge_chars, fuzz_text, scaled

Sessions = async_sessionmaker[AsyncSession]
COLUMNS = ("first_name", "last_name", "email", "phone", "account",
           "street", "city", "state", "postal_code", "country")  # fmt: skip
ADDRESS = ("street", "city", "state", "postal_code", "country")
_LINE_BREAK = re.compile("\r\n|\r|\n")  # how a file opened with newline="" splits lines

# --- rows -----------------------------------------------------------------------------------

short_text = st.text(max_size=12)
awkward_text = st.one_of(
    fuzz_text(4),
    st.sampled_from(FORMULAS),
    st.sampled_from(['"', '""', 'a "quoted" word', "a,b", "line\nbreak", "semi;colon", " "]),
)
huge_text = st.tuples(st.text(min_size=1, max_size=3), st.integers(90, 3000)).map(
    lambda pair: pair[0] * pair[1]
)
# Mostly plausible cells, so most rows are accepted and the stored values can be compared.
cell_text = st.one_of(short_text, short_text, short_text, awkward_text, awkward_text, huge_text)
# Emails that share a few keys, so later rows update earlier ones (in any letter case).
emails = st.one_of(
    st.sampled_from(["ana@example.com", "ANA@Example.com", " luis@example.org ", "eva@x.test"]),
    st.sampled_from(["=1+1@evil.test", "a.b+c@sub.example.es", "Ünï@cödé.test"]),
    st.tuples(fuzz_text(2), st.sampled_from(["@example.com", "@", "", "@x", "@a..b"])).map("".join),
)


@st.composite
def contact_rows(draw: st.DrawFn) -> dict[str, str]:
    row = {column: draw(st.one_of(st.just(""), cell_text)) for column in COLUMNS}
    row["first_name"] = draw(st.one_of(st.sampled_from(["Ana", " Luis ", "Eva"]), cell_text))
    row["email"] = draw(emails)
    return row


@dataclass
class File:
    """A CSV file as written, and what each data row was."""

    header: list[str]
    rows: list[list[str]]
    lines: list[int] = field(default_factory=list)  # physical first line of each row
    text: str = ""


@st.composite
def contact_files(draw: st.DrawFn) -> File:
    """Known columns in any order and letter case, maybe some missing, maybe extra ones."""
    columns = draw(st.permutations(COLUMNS))
    columns = [c for c in columns if c in ("first_name", "email") or draw(st.booleans())]
    if draw(st.integers(0, 9)) == 0:
        columns.remove(draw(st.sampled_from(["first_name", "email"])))  # a file error
    header = [draw(st.sampled_from([c, c.upper(), f" {c.title()} "])) for c in columns]
    extra = draw(st.lists(st.sampled_from(["notes", "id", "=cmd()", ""]), max_size=2))
    header += extra
    rows: list[list[str]] = []
    for _ in range(draw(st.integers(0, 8))):
        values = draw(contact_rows())
        cells = [values[c] for c in columns] + [draw(cell_text) for _ in extra]
        width = draw(st.sampled_from([0, 0, 0, 0, 1, -1]))  # now and then a wrong width
        cells = [*cells, "x"] if width > 0 else cells[:-1] if width < 0 else cells
        rows.append(cells)
    file = File(header, rows)
    out = io.StringIO()
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    # With "\n" endings csv.writer leaves a cell holding a bare "\r" unquoted, which any
    # reader takes for a line break: such a file is not what a spreadsheet writes.
    quote_all = ending == "\n" or draw(st.booleans())
    writer = csv.writer(
        out, lineterminator=ending, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    )
    writer.writerow(header)
    for cells in rows:
        file.lines.append(len(_LINE_BREAK.findall(out.getvalue())) + 1)
        writer.writerow(cells)
    file.text = out.getvalue()
    return file


# --- what the database must hold ------------------------------------------------------------


def blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


@dataclass
class Expected:
    """The contacts the accepted rows leave, by email, with their last written address."""

    contacts: dict[str, dict[str, str | None]] = field(default_factory=dict)
    addresses: dict[str, tuple[str, ...]] = field(default_factory=dict)


def expected_state(file: File, report: ImportReport) -> Expected:
    refused = {rejected.line for rejected in report.rejected}
    columns = [cell.strip().lower() for cell in file.header]
    expected = Expected()
    for line, cells in zip(file.lines, file.rows, strict=True):
        if blank(cells) or line in refused:
            continue
        values = dict(zip(columns, cells, strict=False))
        email = values["email"].strip().lower()
        expected.contacts[email] = {
            "first_name": values["first_name"].strip(),
            "last_name": values.get("last_name", "").strip(),
            "phone": values.get("phone", "").strip() or None,
            "account": values.get("account", "").strip() or None,
        }
        address = tuple(values.get(column, "").strip() for column in ADDRESS)
        if any(address):  # written only when some address column has a value
            expected.addresses[email] = address
    return expected


async def stored(sessions: Sessions) -> Expected:
    found = Expected()
    async with sessions() as session:
        for contact in await session.scalars(select(Contact)):
            assert contact.email is not None
            found.contacts[contact.email] = {
                "first_name": contact.first_name,
                "last_name": contact.last_name,
                "phone": contact.phone,
                "account": contact.account,
            }
            addresses = list(
                await session.scalars(select(Address).where(Address.contact_id == contact.id))
            )
            assert len(addresses) <= 1, contact.email  # one primary and fiscal address
            for address in addresses:
                assert address.is_primary
                assert address.is_fiscal
                found.addresses[contact.email] = tuple(getattr(address, c) for c in ADDRESS)
    return found


async def empty(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        await session.execute(delete(Address))
        await session.execute(delete(Contact))


def assert_one_line(reason: str) -> None:
    assert reason.strip(), reason
    assert not _LINE_BREAK.search(reason), reason


def assert_rejected_where_it_must(file: File, report: ImportReport) -> None:
    """Rows that break a rule anyone can check from the file alone are among the rejected."""
    refused = {rejected.line for rejected in report.rejected}
    columns = [cell.strip().lower() for cell in file.header]
    for line, cells in zip(file.lines, file.rows, strict=True):
        if blank(cells):
            continue
        values = dict(zip(columns, cells, strict=False))
        known = [value for name, value in values.items() if name in COLUMNS]
        must = (
            len(cells) != len(file.header)
            or not values["first_name"].strip()
            or "@" not in values["email"]
            or any("\x00" in value or len(value.strip()) > 255 for value in known)
        )
        if must:
            assert line in refused, (line, cells)


# --- the properties ---------------------------------------------------------------------------


@given(file=contact_files())
@FUZZ
async def test_every_row_is_counted_once_and_the_store_holds_what_was_accepted(
    sessions: Sessions, tmp_path: Path, file: File
) -> None:
    await empty(sessions)  # examples share the database
    path = tmp_path / "contacts.csv"
    path.write_text(file.text, encoding="utf-8", newline="")
    names = [cell.strip().lower() for cell in file.header]
    if not {"first_name", "email"} <= set(names):
        with pytest.raises(ImportFileError) as refused:
            await import_csv(sessions, ImportKind.CONTACTS, path)
        assert_one_line(str(refused.value))
        assert "column" in str(refused.value)
        assert await stored(sessions) == Expected()
        return
    report = await import_csv(sessions, ImportKind.CONTACTS, path, batch_size=3)
    data_rows = [cells for cells in file.rows if not blank(cells)]
    assert report.total == len(data_rows)
    assert [r.line for r in report.rejected] == sorted(r.line for r in report.rejected)
    assert {r.line for r in report.rejected} <= set(file.lines)
    for rejected in report.rejected:
        assert_one_line(rejected.reason)
    assert_rejected_where_it_must(file, report)
    expected = expected_state(file, report)
    assert report.created == len(expected.contacts)  # the database started empty
    assert await stored(sessions) == expected


ENCODINGS = ["latin-1", "cp1252", "utf-16", "utf-8-sig", "mac-roman"]


@given(
    rows=st.lists(contact_rows(), min_size=1, max_size=4),
    encoding=st.sampled_from(ENCODINGS),
    garbage=st.none() | st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=4)),
)
@scaled(0.6)
async def test_a_file_that_is_not_utf8_is_refused_whole(
    sessions: Sessions,
    tmp_path: Path,
    rows: list[dict[str, str]],
    encoding: str,
    garbage: tuple[int, bytes] | None,
) -> None:
    await empty(sessions)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([[row[c] for c in COLUMNS] for row in rows])
    raw = out.getvalue().encode(encoding, errors="replace")
    if garbage is not None:  # bytes spliced in anywhere, even inside a character
        at, junk = garbage
        raw = raw[: at % (len(raw) + 1)] + junk + raw[at % (len(raw) + 1) :]
    path = tmp_path / "contacts.csv"
    path.write_bytes(raw)
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        with pytest.raises(ImportFileError) as refused:
            await import_csv(sessions, ImportKind.CONTACTS, path)
        message = str(refused.value)
        assert_one_line(message)
        assert "UTF-8" in message or "CSV" in message, message
        assert await stored(sessions) == Expected()  # read whole first: not a row written
        return
    # Still UTF-8 (the text was ASCII enough): an ordinary import, or one file-level line.
    with contextlib.suppress(ImportFileError):
        report = await import_csv(sessions, ImportKind.CONTACTS, path)
        for rejected in report.rejected:
            assert_one_line(rejected.reason)


@given(text=st.lists(st.one_of(fuzz_text(3), st.sampled_from(['"', ",", "\n", "\r", '""'])),
                     max_size=30).map("".join))  # fmt: skip
@FUZZ
async def test_any_text_after_a_good_header_leaves_only_whole_contacts(
    sessions: Sessions, tmp_path: Path, text: str
) -> None:
    """Unbalanced quotes, stray separators, odd line breaks: a report or one clear line."""
    await empty(sessions)
    path = tmp_path / "contacts.csv"
    path.write_text("first_name,email,street\n" + text, encoding="utf-8", newline="")
    try:
        report = await import_csv(sessions, ImportKind.CONTACTS, path)
    except ImportFileError as refused:
        assert_one_line(str(refused))
        assert await stored(sessions) == Expected()
        return
    for rejected in report.rejected:
        assert_one_line(rejected.reason)
    found = await stored(sessions)
    assert len(found.contacts) == report.created
    for email, contact in found.contacts.items():
        assert "@" in email, email
        assert contact["first_name"], (email, contact)


# --- the command line -------------------------------------------------------------------------


@given(file=contact_files(), tail=edge_chars)
@scaled(0.3)
def test_the_command_reports_each_rejected_row_on_one_line(
    database: TestDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    file: File,
    tail: str,
) -> None:
    monkeypatch.setenv("CRMBOT_DATABASE_URL", database.url)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "in.csv"
    path.write_text(file.text + tail, encoding="utf-8", newline="")
    out, err = io.StringIO(), io.StringIO()
    run: Callable[[], int] = lambda: main(["import", "contacts", str(path)])  # noqa: E731
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run()
    if code == 2:  # the file as a whole: one line on stderr, no traceback
        assert out.getvalue() == ""
        assert len(err.getvalue().strip().splitlines()) == 1, err.getvalue()
        return
    assert code == 0, err.getvalue()
    summary, *details = out.getvalue().rstrip("\n").split("\n")
    counts = re.fullmatch(r"contacts: (\d+) created, (\d+) updated, (\d+) rejected", summary)
    assert counts is not None, summary
    assert len(details) == int(counts[3])  # one line per rejected row
    assert all(re.fullmatch(r"  line \d+: \S.*", line) for line in details), details
