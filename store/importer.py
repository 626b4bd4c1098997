"""``crmbot import``: streaming a CSV file into the store in batches, one savepoint per row.

Rules where CONTRACT §6 is silent:

- the first non-blank row is the header; blank rows (empty lines, rows of empty cells) are
  skipped and counted nowhere; line numbers are physical lines of the file (header = 1), and
  a row whose quoted cell spans several lines is reported at its first line;
- a row with more or fewer cells than the header is rejected: its values would land in the
  wrong columns (an unquoted decimal comma shifts every later cell);
- a key repeated within one file (email, folded vendor name, SKU): the later row updates the
  one the earlier row stored, and counts as updated;
- contacts keep their mobile and owner, which the file has no columns for; an absent or empty
  phone or account column clears it ("missing optional columns empty"); the address is only
  written when some address column has a value;
- products and services: an empty ``tax_rate`` means no default tax; an empty ``stock`` keeps
  the product's stock (0 for a new one);
- a file that is not UTF-8 is refused before any row is written (it is read once first, which
  also gives the progress total); a pipe can only be read once, so its total is -1.
"""

from __future__ import annotations

import asyncio
import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.importer_rows import (
    REQUIRED,
    ContactRow,
    Header,
    ImportFileError,
    ImportKind,
    ParsedRow,
    RowError,
    is_blank,
    parse_row,
    read_header,
)
from store.models import Contact, Product, Service
from store.services.catalogue import VendorData, upsert_item, upsert_vendor
from store.services.contacts import set_main_address, upsert_contact

__all__ = ["ImportFileError", "ImportKind", "ImportReport", "Rejected", "import_csv"]

Progress = Callable[[int, int], None]
NumberedRow = tuple[int, list[str]]
KeptFields = dict[str, tuple[str | None, str | None]]

_SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # xlsx/ods (zip), legacy xls
_UTF8_ADVICE = "save it as CSV UTF-8"
_IN_CHUNK = 500  # old SQLite builds allow 999 bound parameters per statement
_CLASS_PREFIX = re.compile(r"^<class '[\w.]+'>:\s*")


@dataclass(frozen=True)
class Rejected:
    """A row left out: its physical line in the file (the header is line 1) and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did; ``rejected`` is in line order."""

    created: int = 0
    updated: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Every data row the file had (blank rows aside)."""
        return self.created + self.updated + len(self.rejected)


async def import_csv(
    sessions: async_sessionmaker[AsyncSession],
    kind: ImportKind,
    path: Path,
    *,
    progress: Progress | None = None,
    batch_size: int = 500,
) -> ImportReport:
    """Upsert every valid row of ``path``; a bad row is reported and never stops the others.

    Each batch of ``batch_size`` rows is checked first, then written in one transaction
    with a savepoint per row, so a row the database refuses is rolled back alone.
    ``progress(done_rows, total_rows)`` is called after each batch (total -1 when unknown).
    Raises ImportFileError when the file as a whole is unusable.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    total = await asyncio.to_thread(_count_rows, path)
    report = ImportReport()
    # Opened in a thread too: opening a pipe waits for its writer.
    with await asyncio.to_thread(_open, path) as stream:
        rows = _numbered_rows(stream, path, streaming=total < 0)
        header = await asyncio.to_thread(_header, kind, rows, path)
        done = 0
        # The file is read in a worker thread batch by batch: never whole, never on the loop.
        while batch := await asyncio.to_thread(_take, rows, batch_size):
            _merge(report, await _import_batch(sessions, header, batch))
            done += len(batch)
            if progress is not None:
                progress(done, total)
    report.rejected.sort(key=lambda rejected: rejected.line)
    return report


def _open(path: Path) -> TextIO:
    try:
        # utf-8-sig drops the BOM spreadsheets put first; newline="" as the csv module asks.
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot open the file: {exc.strerror or exc}") from None


def _count_rows(path: Path) -> int:
    """Data rows in a regular file (reading it all proves it is UTF-8 CSV); -1 for a pipe."""
    if not path.is_file():
        return -1
    with _open(path) as stream:
        rows = sum(1 for _ in _numbered_rows(stream, path, streaming=False))
    return max(rows - 1, 0)


def _numbered_rows(stream: TextIO, path: Path, *, streaming: bool) -> Iterator[NumberedRow]:
    """Non-blank rows with the physical line each starts on."""
    reader = csv.reader(stream)
    start = 1
    try:
        for cells in reader:
            if not is_blank(cells):
                yield start, cells
            start = reader.line_num + 1
    except UnicodeDecodeError:
        raise ImportFileError(_not_utf8(path, streaming=streaming)) from None
    except csv.Error as exc:
        raise ImportFileError(
            f"{path}: the row at line {start} is not valid CSV ({exc}); is a quote unclosed?"
        ) from None


def _not_utf8(path: Path, *, streaming: bool) -> str:
    """The one-line complaint, naming the first bad line: the text decoder reads ahead."""
    if streaming:
        return f"{path}: not UTF-8 text ({_UTF8_ADVICE}); the rows before it were imported"
    with path.open("rb") as raw:
        if raw.read(4) in _SPREADSHEET_MAGIC:
            return f"{path}: a spreadsheet file, not CSV text; {_UTF8_ADVICE}"
        raw.seek(0)
        # b"\n" never occurs inside a UTF-8 sequence, so each line decodes on its own.
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return (
                    f"{path}: line {number} is not UTF-8 text "
                    f"(byte 0x{line[exc.start]:02x}); {_UTF8_ADVICE}"
                )
    return f"{path}: not UTF-8 text; {_UTF8_ADVICE}"


def _header(kind: ImportKind, rows: Iterator[NumberedRow], path: Path) -> Header:
    first = next(rows, None)
    if first is None:
        example = ",".join(REQUIRED[kind])
        raise ImportFileError(
            f"{path}: the file is empty; its first line must be a header: {example}"
        )
    try:
        return read_header(kind, first[1])
    except ImportFileError as exc:
        raise ImportFileError(f"{path}: {exc}") from None


def _take(rows: Iterator[NumberedRow], count: int) -> list[NumberedRow]:
    return list(islice(rows, count))


def _merge(report: ImportReport, batch: ImportReport) -> None:
    report.created += batch.created
    report.updated += batch.updated
    report.rejected.extend(batch.rejected)


async def _import_batch(
    sessions: async_sessionmaker[AsyncSession], header: Header, batch: list[NumberedRow]
) -> ImportReport:
    """Check every row, then write the valid ones in one transaction, a savepoint each."""
    tally = ImportReport()
    valid: list[tuple[int, ParsedRow]] = []
    for line, cells in batch:
        try:
            valid.append((line, parse_row(header, cells)))
        except RowError as exc:
            tally.rejected.append(Rejected(line, str(exc)))
    if not valid:
        return tally
    async with sessions() as session, session.begin():
        kept = await _kept_contact_fields(session, valid)
        for line, row in valid:
            try:
                async with session.begin_nested():
                    created = await _apply(session, header.kind, row, kept)
            except (IntegrityError, DataError) as exc:
                # Only the row's own data can cause these; a lost connection still aborts.
                tally.rejected.append(Rejected(line, _database_reason(exc)))
                continue
            if created:
                tally.created += 1
            else:
                tally.updated += 1
    # Counted only once the batch has committed, so a failed commit reports nothing stored.
    return tally


async def _kept_contact_fields(
    session: AsyncSession, rows: list[tuple[int, ParsedRow]]
) -> KeptFields:
    """Mobile and owner of the batch's existing contacts: upsert_contact would blank them."""
    emails = [row.contact.email for _, row in rows if isinstance(row, ContactRow)]
    wanted = sorted({email for email in emails if email})
    kept: KeptFields = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        result = await session.execute(
            select(Contact.email, Contact.mobile, Contact.owner).where(
                Contact.email.in_(wanted[start : start + _IN_CHUNK])
            )
        )
        kept.update({email: (mobile, owner) for email, mobile, owner in result if email})
    return kept


async def _apply(session: AsyncSession, kind: ImportKind, row: ParsedRow, kept: KeptFields) -> bool:
    """Upsert one checked row; True when it created a record."""
    if isinstance(row, ContactRow):
        mobile, owner = kept.get(row.contact.email or "", (None, None))
        contact, created = await upsert_contact(
            session, replace(row.contact, mobile=mobile, owner=owner)
        )
        if not row.address.is_empty():
            await set_main_address(session, contact, row.address)
    elif isinstance(row, VendorData):
        _, created = await upsert_vendor(session, row)
    elif kind is ImportKind.PRODUCTS:
        _, created = await upsert_item(session, Product, row)
    else:
        _, created = await upsert_item(session, Service, row)
    # Flush here so a refusal surfaces inside this row's savepoint, not at the batch commit.
    await session.flush()
    return created


def _database_reason(exc: IntegrityError | DataError) -> str:
    detail = str(exc.orig if exc.orig is not None else exc).strip()
    first_line = _CLASS_PREFIX.sub("", detail.splitlines()[0] if detail else "unknown error")
    return f"the database refused the row: {first_line[:200]}"
