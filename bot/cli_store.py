"""CLI commands over the store: schema, demo data, CSV imports, chat users, record listings."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.settings import Settings
from bot.storage import open_store
from bot.table import render_table
from store.demo import load_demo_data
from store.importer import ImportFileError, ImportKind, import_csv
from store.records import Page, read_records, unmatched_emails
from store.services.users import UnknownRoleError, list_users, set_role

PROGRESS_THRESHOLD = 300


class InputError(Exception):
    """A user mistake in a command's input: exit status 2."""


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def db_upgrade(settings: Settings) -> int:
    """``crmbot db upgrade``."""
    async with open_store(settings, migrate=True):
        pass
    print("schema is up to date")
    return 0


async def demo_data(settings: Settings) -> int:
    """``crmbot demo-data``: idempotent; prints what it loaded and how long it took."""
    started = time.perf_counter()
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    async with open_store(settings, migrate=True) as store, store.sessions.begin() as session:
        report = await load_demo_data(session, store.files, today=today, timezone=settings.timezone)
    elapsed = time.perf_counter() - started
    if not report.loaded:
        print("demo data already loaded: nothing changed")
        return 0
    total = sum(report.counts.values())
    print(f"demo data loaded: {total} rows in {elapsed:.2f} s")
    for table, count in sorted(report.counts.items()):
        print(f"  {table:<20} {count:>6}")
    return 0


async def import_file(settings: Settings, kind: str, file: str) -> int:
    """``crmbot import <kind> FILE.csv``: a per-row report; rejected rows do not stop the rest."""
    path = Path(file)
    if not path.is_file():  # noqa: ASYNC240 - one stat before any work starts
        raise InputError(f"no such file: {file}")

    def progress(done: int, total: int) -> None:
        if total > PROGRESS_THRESHOLD:
            _say(f"imported {done}/{total} rows")

    async with open_store(settings) as store:
        try:
            report = await import_csv(store.sessions, ImportKind(kind), path, progress=progress)
        except ImportFileError as exc:
            raise InputError(str(exc)) from exc
    print(
        f"{kind}: {report.created} created, {report.updated} updated, "
        f"{len(report.rejected)} rejected"
    )
    for rejected in report.rejected:
        print(f"  line {rejected.line}: {rejected.reason}")
    return 0


async def users_add(settings: Settings, username: str, role: str) -> int:
    """``crmbot users add <name> --role <role>``."""
    async with open_store(settings) as store, store.sessions.begin() as session:
        try:
            user, created = await set_role(session, username, role)
        except (UnknownRoleError, ValueError) as exc:
            raise InputError(str(exc)) from exc
        print(f"{'added' if created else 'updated'} {user.username}: {user.role}")
    return 0


async def users_list(settings: Settings) -> int:
    """``crmbot users list``."""
    async with open_store(settings) as store, store.sessions() as session:
        users = await list_users(session)
    if not users:
        print("no chat users mapped yet: crmbot users add <username> --role <role>")
    for user in users:
        print(f"{user.username}\t{user.role}")
    return 0


async def records(
    settings: Settings, module: str, contact: int | None, fmt: str, *, unmatched: bool
) -> int:
    """``crmbot records <module> [--contact ID] [--format table|json]``."""
    async with open_store(settings) as store, store.sessions() as session:
        if unmatched:
            rows = await unmatched_emails(session)
        else:
            rows = await read_records(session, module, contact, Page())
    if fmt == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print(render_table(rows))
    return 0
