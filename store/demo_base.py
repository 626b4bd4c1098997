"""What every demo-data builder shares: the seeded clock and the loaded catalogue and contacts."""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass, field
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from store.filestore import FileStore
from store.models import Address, Contact, Product, Service, Tax, Vendor
from store.text import fold

T = TypeVar("T")
# Working hours only: far from the 02:00-03:00 DST jumps, so every local time exists once.
FIRST_HOUR, LAST_HOUR = 8, 19
RECENT_DAYS = 45


@dataclass(frozen=True)
class Clock:
    """Dates relative to ``today`` and aware datetimes in the demo's timezone, all seeded."""

    today: dt.date
    zone: ZoneInfo
    rng: random.Random

    def days_ago(self, days: int) -> dt.date:
        """The date ``days`` before today (negative: in the future)."""
        return self.today - dt.timedelta(days=days)

    def at(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        """``day`` at a local wall-clock time, timezone-aware."""
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=self.zone)

    def day_between(self, first: dt.date, last: dt.date) -> dt.date:
        """A random day in ``[first, last]`` (``first`` when the range is empty)."""
        span = max((last - first).days, 0)
        return first + dt.timedelta(days=self.rng.randint(0, span))

    def moment_on(self, day: dt.date) -> dt.datetime:
        """A random working-hours moment of ``day``."""
        return self.at(day, self.rng.randint(FIRST_HOUR, LAST_HOUR - 1), self.rng.randrange(0, 60))

    def moment_between(self, first: dt.date, last: dt.date) -> dt.datetime:
        """A random working-hours moment between two days."""
        return self.moment_on(self.day_between(first, last))

    @property
    def yesterday(self) -> dt.date:
        """The last day a record may have been created on (never later than now)."""
        return self.days_ago(1)


@dataclass
class DemoContact:
    """A loaded contact with what the builders need to know about it."""

    contact: Contact
    since: dt.date
    full: bool
    addresses: list[Address] = field(default_factory=list)

    @property
    def id(self) -> int:
        """The contact's id."""
        return self.contact.id

    @property
    def name(self) -> str:
        """First and last name."""
        return f"{self.contact.first_name} {self.contact.last_name}".strip()

    @property
    def email(self) -> str:
        """The contact's email (every demo contact has one)."""
        return self.contact.email or ""

    @property
    def first_day(self) -> dt.date:
        """The first day the contact's records may date from (the day after it arrived)."""
        return self.since + dt.timedelta(days=1)

    def created(self, clock: Clock) -> dt.datetime:
        """A random moment between the contact's arrival and yesterday."""
        return clock.moment_between(self.first_day, clock.yesterday)

    def recent(self, clock: Clock, share: float) -> dt.datetime:
        """Like ``created``, but within the last weeks for ``share`` of the calls.

        Uniform dates over 18 months would leave almost nothing open or pending; the
        demo needs recent work to act on (approve an order, answer a case).
        """
        if clock.rng.random() >= share:
            return self.created(clock)
        first = max(self.first_day, clock.days_ago(RECENT_DAYS))
        return clock.moment_between(first, clock.yesterday)


@dataclass
class Demo:
    """The session, the file store, the seeded clock and everything loaded so far."""

    session: AsyncSession
    files: FileStore
    clock: Clock
    company_address: str
    taxes: dict[int, Tax] = field(default_factory=dict)  # every catalogue tax, by id
    vendors: list[Vendor] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    people: list[DemoContact] = field(default_factory=list)

    @property
    def rng(self) -> random.Random:
        """The one seeded generator: every choice comes from it, in a fixed order."""
        return self.clock.rng

    def pick(self, options: tuple[T, ...] | list[T]) -> T:
        """One of ``options``."""
        return self.rng.choice(options)

    def some(self, options: tuple[T, ...] | list[T], low: int, high: int) -> list[T]:
        """Between ``low`` and ``high`` distinct members of ``options``."""
        return self.rng.sample(list(options), self.rng.randint(low, min(high, len(options))))

    @property
    def full_people(self) -> list[DemoContact]:
        """Contacts with a history in every module (all but the newest leads)."""
        return [person for person in self.people if person.full]

    def colleagues(self, person: DemoContact) -> list[DemoContact]:
        """Other contacts of the same account."""
        account = person.contact.account
        return [
            p for p in self.people if account and p.contact.account == account and p is not person
        ]


def slug(text: str, sep: str = ".") -> str:
    """``"María_José"`` → ``"maria.jose"``: ASCII words for email addresses and room names."""
    return re.sub(r"[^a-z0-9]+", sep, fold(text)).strip(sep)


def address_text(address: Address) -> str:
    """An address on one line, as documents keep it."""
    place = f"{address.postal_code} {address.city}".strip()
    if address.state and address.state != address.city:
        place = f"{place} ({address.state})"
    parts = (address.street, place, address.country)
    return ", ".join(part for part in parts if part)
