"""Loading the demo data set once: a deterministic Spanish CRM with all 17 modules filled.

The builders live in ``store/demo_*.py``; this module owns the entry point, the
"already loaded" marker and the report. Everything is drawn from one seeded generator and
dated relative to ``today``, so two loads on the same day give the same data.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.demo_activity import add_activity
from store.demo_base import Clock, Demo
from store.demo_catalogue import load_contacts, load_items, load_taxes, load_vendors
from store.demo_data import SEED
from store.demo_documents import add_cases, add_documents
from store.demo_mail import add_files_and_emails
from store.filestore import FileStore
from store.models import Base, Meta
from store.services.addresses import COMPANY_ADDRESS_KEY

DEMO_KEY = "demo_data"
DEFAULT_COMPANY_ADDRESS = "Calle de Alcalá 120, 28009 Madrid, España"


@dataclass(frozen=True)
class DemoReport:
    """Whether this call loaded the data (False: it was already there) and rows per table."""

    loaded: bool
    counts: dict[str, int]


async def load_demo_data(
    session: AsyncSession,
    files: FileStore,
    *,
    today: dt.date,
    timezone: str = "Europe/Madrid",
    company_address: str = DEFAULT_COMPANY_ADDRESS,
) -> DemoReport:
    """Load the demo data set in the caller's transaction, unless it is already loaded.

    The ``demo_data`` marker is written first, in the same transaction: a concurrent
    second loader waits on it and then finds it, so the data goes in once. The caller
    commits. ``counts`` are the rows of every table afterwards, loaded or not.
    """
    clock = Clock(today, ZoneInfo(timezone), random.Random(SEED))
    if not await _claim(session, today):
        return DemoReport(loaded=False, counts=await count_rows(session))
    demo = Demo(session, files, clock, company_address)
    session.add(Meta(key=COMPANY_ADDRESS_KEY, value=company_address))
    for step in (load_taxes, load_vendors, load_items, load_contacts, add_activity, add_documents):
        await step(demo)
    cases = await add_cases(demo)
    await add_files_and_emails(demo, cases)
    await session.flush()
    return DemoReport(loaded=True, counts=await count_rows(session))


async def _claim(session: AsyncSession, today: dt.date) -> bool:
    """Write the marker; False when it was already there (ON CONFLICT DO NOTHING)."""
    values = {"key": DEMO_KEY, "value": json.dumps({"today": today.isoformat(), "seed": SEED})}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Meta).values(values).on_conflict_do_nothing().returning(Meta.key)
    return (await session.execute(statement)).first() is not None


async def count_rows(session: AsyncSession) -> dict[str, int]:
    """Rows in every crmbot table, by table name, in one statement."""
    tables = Base.metadata.sorted_tables
    result = await session.execute(
        union_all(
            *(select(literal(table.name), func.count()).select_from(table) for table in tables)
        )
    )
    return {name: int(count) for name, count in sorted(result.all())}
