"""Gap-free record numbers (``OC-00001``…) issued inside the creating transaction."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from store import direct
from store.direct import DirectStatement
from store.models import Sequence
from store.models.base import table_of


class Series(StrEnum):
    """Numbered series and their prefixes (CONTRACT §5)."""

    PURCHASE_ORDER = "OC"
    QUOTE = "COT"
    SALES_ORDER = "OV"
    CASE = "CAS"


# Built once, bound per call: SQLAlchemy then finds the compiled form in its cache. The
# Core table, not the entity: no Sequence object is ever loaded to keep in step, and the
# ORM's in-Python evaluation of the WHERE would not see the bound series.
_SEQUENCES: Final = table_of(Sequence)
_INCREMENT: Final = DirectStatement(
    update(_SEQUENCES)
    .where(_SEQUENCES.c.name == bindparam("series"))
    .values(last_value=_SEQUENCES.c.last_value + 1)
    .returning(_SEQUENCES.c.last_value)
)
_ENSURE_ROW: Final = {
    dialect: DirectStatement(
        insert(_SEQUENCES).values(name=bindparam("series"), last_value=0).on_conflict_do_nothing()
    )
    for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
_CURRENT_VALUE: Final = select(Sequence.last_value).where(Sequence.name == bindparam("series"))


def format_number(series: Series, value: int) -> str:
    """``OC`` and 12 → ``OC-00012``; five digits, more when the series outgrows them."""
    return f"{series.value}-{value:05d}"


async def next_number(session: AsyncSession, series: Series) -> str:
    """Take the next number of ``series`` in the caller's transaction.

    The UPDATE takes a row lock that concurrent creators wait on until this transaction
    ends; if it rolls back, so does the increment, so no number is skipped or reused.
    """
    await _ensure_row(session, series)
    ((value,),) = await direct.fetch(session, _INCREMENT, {"series": series.value})
    return format_number(series, int(value))


async def _ensure_row(session: AsyncSession, series: Series) -> None:
    dialect = session.get_bind().dialect.name
    statement = _ENSURE_ROW["postgresql" if dialect == "postgresql" else "sqlite"]
    await direct.run(session, statement, {"series": series.value})


async def current_value(session: AsyncSession, series: Series) -> int:
    """The last number issued in ``series`` (0 when none yet)."""
    value = await session.scalar(_CURRENT_VALUE, {"series": series.value})
    return value or 0
