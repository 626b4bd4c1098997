"""The soak's books: every message a user sent and what it should bring back, every reply the
fake Rocket.Chat stored, and what is missing or doubled once the run has drained.

Each user talks in a thread of their own, so the bot's answers (posted with the thread's
`tmid`) say whose message they answer; a user sends nothing new before the replies already
owed have arrived (or a wait timed out), so a thread's replies line up with its messages in
order. Notices (DOMAIN §5: a new record, file or email told to the contact's other rooms)
land outside threads and carry a token the soak chose (a record number, a file or subject
name), so each is matched to the event that caused it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bench.common import percentile
from tests.fakes.rocketchat import StoredMessage
from tests.fakes.rocketchat_state import Event

# Tokens the soak puts in file names and mail subjects, and the record numbers it creates.
TOKEN = re.compile(r"OC-\d{5}|sk[fm]\d{4}x\d{5}")


def now() -> float:
    """The soak's clock for latencies."""
    return time.perf_counter()


@dataclass(slots=True)
class Thread:
    """One user's thread: the replies stored in it and how many are owed so far."""

    room_id: str
    root_id: str
    arrivals: list[float] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    owed: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait(self, count: int, limit_s: float) -> bool:
        """Wait until ``count`` replies are here; False if ``limit_s`` passed first."""
        try:
            async with asyncio.timeout(limit_s):
                while len(self.arrivals) < count:
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            return False
        return True


@dataclass(slots=True)
class Sent:
    """One message a user posted (or one email) and what it is owed."""

    kind: str  # wizard, command, file, mail
    label: str  # the step, for the calibrated reply count
    posted: float
    thread: Thread | None
    first_reply: int  # index in the thread of the first reply it is owed
    expected: int = 0
    acked: bool = False
    acked_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Notice:
    """A notice the soak expects in a room because of one of its events."""

    room_id: str
    token: str
    kind: str  # wizard (new record), file, mail
    posted: float


class Ledger:
    """Listens to the fake's stored messages (its afterSaveMessage hook) and keeps the books."""

    def __init__(self, bot_id: str) -> None:
        self.bot_id = bot_id
        self.recording = False  # set-up chatter before the run is not counted
        self.threads: dict[tuple[str, str], Thread] = {}
        self.sent: list[Sent] = []
        self.notices: list[Notice] = []
        self.seen: Counter[str] = Counter()  # bot message ids, to catch one stored twice
        self.outside: dict[str, list[tuple[float, str]]] = {}  # room -> notices stored
        self.unacknowledged = 0
        self.load_from = 0  # index in ``sent`` where the load began (after calibration)
        self.late_waits = 0  # a user stopped waiting for a reply and went on

    # -- recording ---------------------------------------------------------------------------
    def on_saved(self, message: StoredMessage, event: Event) -> None:
        """The fake's save hook: file the bot's messages under their thread or room."""
        if event != "sendMessage" or message.user.id != self.bot_id or not self.recording:
            return
        self.seen[message.id] += 1
        if message.edited_at is not None or self.seen[message.id] > 1:
            return  # an edit passes the hook again; it is not a new post
        arrived = now()
        thread = self.threads.get((message.rid, message.tmid or ""))
        if thread is None:
            self.outside.setdefault(message.rid, []).append((arrived, message.msg))
            return
        thread.arrivals.append(arrived)
        thread.texts.append(message.msg)
        thread.changed.set()

    def thread(self, room_id: str, root_id: str) -> Thread:
        """The books of the thread rooted at ``root_id``."""
        thread = Thread(room_id, root_id)
        self.threads[room_id, root_id] = thread
        return thread

    def expect_notices(self, rooms: Iterable[str], token: str, kind: str, posted: float) -> None:
        """One notice naming ``token`` is owed to each of ``rooms``."""
        self.notices += [Notice(room, token, kind, posted) for room in rooms]

    def load(self) -> list[Sent]:
        """What was sent during the load (not the calibration before it)."""
        return self.sent[self.load_from :]

    # -- reckoning -----------------------------------------------------------------------------
    def settled(self) -> bool:
        """Whether every reply and notice owed has arrived (the drain's condition)."""
        if any(len(t.arrivals) < t.owed for t in self.threads.values()):
            return False
        found = self._found_notices()
        return all(found[n.room_id, n.token] for n in self.notices)

    def _found_notices(self) -> Counter[tuple[str, str]]:
        found: Counter[tuple[str, str]] = Counter()
        for room_id, stored in self.outside.items():
            for _, text in stored:
                for token in set(TOKEN.findall(text)):
                    found[room_id, token] += 1
        return found

    def _first_notice(self) -> dict[tuple[str, str], float]:
        first: dict[tuple[str, str], float] = {}
        for room_id, stored in self.outside.items():
            for arrived, text in stored:
                for token in set(TOKEN.findall(text)):
                    first.setdefault((room_id, token), arrived)
        return first

    def reckon(self) -> dict[str, Any]:
        """Duplicates, losses and latencies; call once the run has drained."""
        thread_replies = sum(len(t.arrivals) for t in self.threads.values())
        thread_owed = sum(t.owed for t in self.threads.values())
        thread_extra = sum(max(0, len(t.arrivals) - t.owed) for t in self.threads.values())
        thread_missing = sum(max(0, t.owed - len(t.arrivals)) for t in self.threads.values())
        found = self._found_notices()
        owed = Counter((n.room_id, n.token) for n in self.notices)
        notice_extra = sum(max(0, found[key] - count) for key, count in owed.items())
        notice_missing = sum(max(0, count - found[key]) for key, count in owed.items())
        unexpected = sum(count for key, count in found.items() if key not in owed)
        untokened = sum(
            1 for stored in self.outside.values() for _, text in stored if not TOKEN.search(text)
        )
        stored_twice = sum(count - 1 for count in self.seen.values() if count > 1)
        lost_messages = sum(
            1
            for s in self.sent
            if s.acked
            and s.thread is not None
            and len(s.thread.arrivals) < s.first_reply + s.expected
        )
        return {
            "replies_owed": thread_owed,
            "replies_delivered": thread_replies,
            "notices_owed": sum(owed.values()),
            "notices_delivered": sum(found[key] for key in owed),
            "duplicates": thread_extra + notice_extra + unexpected + untokened + stored_twice,
            "duplicate_detail": {
                "thread_replies_beyond_owed": thread_extra,
                "notices_repeated": notice_extra,
                "notices_unexpected": unexpected + untokened,
                "message_ids_stored_twice": stored_twice,
            },
            "lost": thread_missing + notice_missing,
            "lost_detail": {
                "thread_replies_missing": thread_missing,
                "messages_short_of_replies": lost_messages,
                "notices_missing": notice_missing,
            },
            "latency_ms": self.latencies(),
            "ack_ms": _summary([(s.acked_at - s.posted) for s in self.load() if s.acked]),
        }

    def latencies(self) -> dict[str, dict[str, float]]:
        """Webhook POST (or email POST) → its first reply (notice for mail) in the fake."""
        by_kind: dict[str, list[float]] = {}
        for s in self.load():
            thread = s.thread
            if thread is None or not s.acked or s.expected == 0:
                continue
            if len(thread.arrivals) > s.first_reply:
                by_kind.setdefault(s.kind, []).append(thread.arrivals[s.first_reply] - s.posted)
        first = self._first_notice()
        mail_first: dict[str, float] = {}
        for notice in self.notices:
            if notice.kind != "mail" or (notice.room_id, notice.token) not in first:
                continue
            delay = first[notice.room_id, notice.token] - notice.posted
            mail_first[notice.token] = min(delay, mail_first.get(notice.token, delay))
        if mail_first:
            by_kind["mail"] = list(mail_first.values())
        chat = [v for kind, values in by_kind.items() if kind != "mail" for v in values]
        result = {"chat": _summary(chat)}
        result.update({kind: _summary(values) for kind, values in sorted(by_kind.items())})
        return result


def _summary(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {"n": 0, "p50": 0.0, "p99": 0.0, "max": 0.0}
    return {
        "n": len(seconds),
        "p50": round(percentile(seconds, 0.50) * 1000, 1),
        "p99": round(percentile(seconds, 0.99) * 1000, 1),
        "max": round(max(seconds) * 1000, 1),
    }
