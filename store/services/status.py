"""Status changes of purchase orders, quotes, sales orders and cases: the rules as data.

The allowed transitions (DOMAIN §2 statuses; vtiger's workflows, made explicit):

* purchase order: ``created`` → ``approved`` | ``sent`` | ``cancelled``;
  ``approved`` → ``sent`` | ``cancelled``; ``sent`` → ``received`` | ``cancelled``;
  ``received`` and ``cancelled`` are final (goods that came in, or an order that was
  called off, are not reopened: a new PO is made instead).
* quote: ``created`` → ``delivered`` | ``reviewed`` | ``accepted`` | ``rejected``;
  ``delivered`` → ``reviewed`` | ``accepted`` | ``rejected``; ``reviewed`` →
  ``delivered`` | ``accepted`` | ``rejected`` (a reviewed quote may go out again);
  ``accepted`` and ``rejected`` are final (the customer's answer is history).
* sales order: ``created`` → ``approved`` | ``cancelled``; ``approved`` →
  ``delivered`` | ``cancelled``; ``delivered`` and ``cancelled`` are final.
* case: ``open``, ``in_progress`` and ``waiting`` move freely among themselves (work
  starts, waits for the customer, the customer answers); any of them → ``closed``;
  ``closed`` → ``open`` only (reopening starts the cycle again).

Who may make a change is the chat side's business (roles live in ``bot.permissions``);
this module only knows which moves exist, how typed status names are understood and how
a record's status is changed inside the caller's transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Case, Document
from store.numbering import Series, format_number
from store.text import fold
from store.vocab import CASE_STATUS, PO_STATUS, QUOTE_STATUS, SALES_ORDER_STATUS, Labels


class StatusKind(StrEnum):
    """The records whose status a user may change."""

    PURCHASE_ORDER = "purchase_order"
    QUOTE = "quote"
    SALES_ORDER = "sales_order"
    CASE = "case"


Transitions = MappingProxyType[str, tuple[str, ...]]


def _moves(**moves: tuple[str, ...]) -> Transitions:
    return MappingProxyType(moves)


# current status -> the statuses it may move to, in the order they are offered.
TRANSITIONS: Final[Mapping[StatusKind, Transitions]] = MappingProxyType(
    {
        StatusKind.PURCHASE_ORDER: _moves(
            created=("approved", "sent", "cancelled"),
            approved=("sent", "cancelled"),
            sent=("received", "cancelled"),
            received=(),
            cancelled=(),
        ),
        StatusKind.QUOTE: _moves(
            created=("delivered", "reviewed", "accepted", "rejected"),
            delivered=("reviewed", "accepted", "rejected"),
            reviewed=("delivered", "accepted", "rejected"),
            accepted=(),
            rejected=(),
        ),
        StatusKind.SALES_ORDER: _moves(
            created=("approved", "cancelled"),
            approved=("delivered", "cancelled"),
            delivered=(),
            cancelled=(),
        ),
        StatusKind.CASE: _moves(
            open=("in_progress", "waiting", "closed"),
            in_progress=("open", "waiting", "closed"),
            waiting=("open", "in_progress", "closed"),
            closed=("open",),
        ),
    }
)

LABELS: Final[Mapping[StatusKind, Labels]] = MappingProxyType(
    {
        StatusKind.PURCHASE_ORDER: PO_STATUS,
        StatusKind.QUOTE: QUOTE_STATUS,
        StatusKind.SALES_ORDER: SALES_ORDER_STATUS,
        StatusKind.CASE: CASE_STATUS,
    }
)

SERIES_KIND: Final[Mapping[Series, StatusKind]] = MappingProxyType(
    {
        Series.PURCHASE_ORDER: StatusKind.PURCHASE_ORDER,
        Series.QUOTE: StatusKind.QUOTE,
        Series.SALES_ORDER: StatusKind.SALES_ORDER,
        Series.CASE: StatusKind.CASE,
    }
)

# Spellings the labels do not cover: American English.
_ALIASES: Final = MappingProxyType({"cancelled": ("canceled",)})
# One letter would silently pick a status from a typo; two is the shortest useful prefix.
MIN_PREFIX: Final = 2
_NUMBER = re.compile(r"(?i)(OC|COT|OV|CAS)-?0*([0-9]{1,9})")


def statuses(kind: StatusKind) -> tuple[str, ...]:
    """Every status code of ``kind``, in the order they are shown."""
    return tuple(LABELS[kind])


def next_statuses(kind: StatusKind, current: str) -> tuple[str, ...]:
    """Where a record of ``kind`` in ``current`` may go (empty: a final status)."""
    return TRANSITIONS[kind].get(current, ())


def can_change(kind: StatusKind, old: str, new: str) -> bool:
    """Whether ``old`` → ``new`` is an allowed move (staying put is not a move)."""
    return new in next_statuses(kind, old)


def _other_gender(key: str) -> str:
    # Spanish labels agree with the record's noun ("Creada" orden, "Cerrado" caso);
    # users say "cerrada" or "aprobado" just as often, so either ending is understood.
    head, _, tail = key.partition(" ")
    if head.endswith("a"):
        head = head[:-1] + "o"
    elif head.endswith("o"):
        head = head[:-1] + "a"
    return f"{head} {tail}".strip()


def _keys(code: str, pair: tuple[str, str]) -> set[str]:
    es, en = fold(pair[0]), fold(pair[1])
    return {fold(code), fold(code.replace("_", " ")), es, _other_gender(es), en} | {
        fold(alias) for alias in _ALIASES.get(code, ())
    }


def match_status(kind: StatusKind, text: str) -> tuple[str, ...]:
    """The status codes ``text`` may mean: one is a match, none unknown, several ambiguous.

    Understood: the code, the Spanish or English label (either grammatical gender in
    Spanish), ignoring case and accents, or an unambiguous prefix of any of them.
    """
    typed = fold(text)
    if not typed:
        return ()
    keys = {code: _keys(code, pair) for code, pair in LABELS[kind].items()}
    exact = tuple(code for code, names in keys.items() if typed in names)
    if exact or len(typed) < MIN_PREFIX:
        return exact
    return tuple(
        code for code, names in keys.items() if any(name.startswith(typed) for name in names)
    )


def normalize_number(text: str) -> str | None:
    """``oc-12``, ``OC00012`` → ``OC-00012``; None when it is no record number we change."""
    found = _NUMBER.fullmatch(text.strip())
    if found is None:
        return None
    return format_number(Series(found[1].upper()), int(found[2]))


@dataclass(slots=True)
class StatusRecord:
    """A record whose status may change, with what messages about it need."""

    kind: StatusKind
    row: Document | Case

    @property
    def number(self) -> str:
        """The public number (``OC-00012``)."""
        return self.row.number

    @property
    def title(self) -> str:
        """The record's title."""
        return self.row.title

    @property
    def contact_id(self) -> int:
        """The contact the record belongs to."""
        return self.row.contact_id

    @property
    def status(self) -> str:
        """The current status code."""
        return self.row.status


async def find_record(session: AsyncSession, number: str) -> StatusRecord | None:
    """The purchase order, quote, sales order or case numbered ``number``, row-locked.

    The lock (``FOR UPDATE`` on PostgreSQL; SQLite's single writer already serialises)
    makes two simultaneous changes of one record check their transition one after the other.
    """
    canonical = normalize_number(number)
    if canonical is None:
        return None
    kind = SERIES_KIND[Series(canonical.split("-")[0])]
    row: Document | Case | None
    if kind is StatusKind.CASE:
        row = await session.scalar(select(Case).where(Case.number == canonical).with_for_update())
    else:
        row = await session.scalar(
            select(Document)
            .where(Document.number == canonical, Document.kind == kind.value)
            .with_for_update()
        )
    return None if row is None else StatusRecord(kind, row)


class TransitionError(ValueError):
    """The move is not in ``TRANSITIONS``; ``allowed`` lists where the record may go."""

    def __init__(self, kind: StatusKind, old: str, new: str) -> None:
        super().__init__(f"{kind} cannot go from {old!r} to {new!r}")
        self.kind = kind
        self.old = old
        self.new = new
        self.allowed = next_statuses(kind, old)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """What ``change_status`` did: ``old`` == ``new`` means nothing changed."""

    old: str
    new: str

    @property
    def changed(self) -> bool:
        """Whether the status really moved."""
        return self.old != self.new


async def change_status(session: AsyncSession, record: StatusRecord, new: str) -> StatusChange:
    """Move ``record`` to ``new`` in the caller's transaction; raises ``TransitionError``.

    Asking for the status the record already has changes nothing and is no error.
    """
    if new not in LABELS[record.kind]:
        raise ValueError(f"unknown {record.kind} status {new!r}")
    old = record.status
    if old == new:
        return StatusChange(old, new)
    if not can_change(record.kind, old, new):
        raise TransitionError(record.kind, old, new)
    record.row.status = new
    await session.flush()
    return StatusChange(old, new)
