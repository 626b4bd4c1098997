"""Gap-free record numbers (``OC-00001``…) issued inside the creating transaction."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Sequence


class Series(StrEnum):
    """Numbered series and their prefixes (CONTRACT §5)."""

    PURCHASE_ORDER = "OC"
    QUOTE = "COT"
    SALES_ORDER = "OV"
    CASE = "CAS"


def format_number(series: Series, value: int) -> str:
    """``OC`` and 12 → ``OC-00012``; five digits, more when the series outgrows them."""
    return f"{series.value}-{value:05d}"


async def next_number(session: AsyncSession, series: Series) -> str:
    """Take the next number of ``series`` in the caller's transaction.

    The UPDATE takes a row lock that concurrent creators wait on until this transaction
    ends; if it rolls back, so does the increment, so no number is skipped or reused.
    """
    await _ensure_row(session, series)
    result = await session.execute(
        update(Sequence)
        .where(Sequence.name == series.value)
        .values(last_value=Sequence.last_value + 1)
        .returning(Sequence.last_value)
    )
    return format_number(series, result.scalar_one())


async def _ensure_row(session: AsyncSession, series: Series) -> None:
    dialect = session.get_bind().dialect.name
    values = {"name": series.value, "last_value": 0}
    if dialect == "postgresql":
        await session.execute(pg_insert(Sequence).values(values).on_conflict_do_nothing())
    else:
        await session.execute(sqlite_insert(Sequence).values(values).on_conflict_do_nothing())


async def current_value(session: AsyncSession, series: Series) -> int:
    """The last number issued in ``series`` (0 when none yet)."""
    value = await session.scalar(select(Sequence.last_value).where(Sequence.name == series.value))
    return value or 0
