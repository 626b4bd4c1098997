"""The bot host's wall clock jumping forward or backward (a VM resumed, NTP stepping the time).

One wall clock, real time plus an offset the test moves, stands in for the host's: the chat
pipeline reads it (dialog steps and expiry), the outbox reads it (claims, their expiry, sent
times) and the REST transport reads it (how long to wait for X-RateLimit-Reset, which is
Rocket.Chat's own clock and does not jump). Waits between retries run on the event loop's
monotonic clock, which no jump moves.

- Forward, past the dialog timeout, while replies wait in the outbox for Rocket.Chat: the
  waiting replies still go out once and in order; the wizard has expired and says so.
- Backward, while replies wait: nothing stays claimed until the old time comes back, and the
  wizard goes on (its idle time is not negative-and-broken, nor expired).
- Rate limited with the bot's clock an hour off Rocket.Chat's: each wait stays within the cap
  instead of an hour (behind) and the replies still arrive (ahead: the window looks over).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from bot import bootstrap, server
from bot.storage import Store
from bot.transport.rocketchat.rest import RESET_SLACK
from store import outbox
from tests.databases import TestDatabase
from tests.e2e.test_dialog_resilience import EXPIRED
from tests.e2e.test_purchase_wizard import HEADER, TO_REVIEW, session_row
from tests.fakes.rocketchat import FakeRocketChat
from tests.faults import invariants
from tests.faults.harness import (
    QUICK_RETRY,
    Conversation,
    all_delivered,
    bot_settings,
    comments,
    own_contact,
    quick_notifier,
    rest_transport,
    running_bot,
    saved_documents,
    seed_purchasing,
    store_of,
    unsent,
    wait_until,
)

WIZARD = [*TO_REVIEW, "guardar"]
SAVED = "Orden de compra `OC-00001` creada."
TIMEOUT_MIN = 30
WHILE_DOWN = 2  # wizard answers given while Rocket.Chat is down, their prompts queued
SEND = "/api/v1/chat.sendMessage"


class WallClock:
    """The host's wall clock: real time plus an offset that jumps."""

    def __init__(self) -> None:
        self.offset = 0.0

    def epoch(self) -> float:
        return time.time() + self.offset

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.epoch(), dt.UTC)

    def jump(self, delta: dt.timedelta) -> None:
        self.offset += delta.total_seconds()


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> WallClock:
    """The app built from now on reads ``wall`` for dialogs, the outbox and rate-limit waits."""
    clock = WallClock()
    monkeypatch.setattr(
        server, "build_chat", functools.partial(bootstrap.build_chat, clock=clock.now)
    )
    monkeypatch.setattr(outbox, "utcnow", clock.now)
    quick_notifier(monkeypatch)
    return clock


@pytest.fixture
async def rc() -> AsyncIterator[FakeRocketChat]:
    async with FakeRocketChat() as fake:  # Rocket.Chat's clock is its own: it does not jump
        yield fake


async def replies_wait_while_down(rc: FakeRocketChat, store: Store, ana: Conversation) -> None:
    """Ana answers while Rocket.Chat is down: acknowledged, and tried but not delivered."""
    for text in TO_REVIEW[len(HEADER) : len(HEADER) + WHILE_DOWN]:
        await ana.say(text)

    async def tried_and_queued() -> bool:
        tried = any(r.fault == "outage" and r.path == SEND for r in rc.requests)
        return tried and await unsent(store) >= WHILE_DOWN  # a prompt or more each

    await wait_until(tried_and_queued, "the replies tried and kept queued")


async def test_a_forward_jump_expires_the_wizard_and_waiting_replies_go_out_once(
    rc: FakeRocketChat, database: TestDatabase, tmp_path: Path, wall: WallClock
) -> None:
    store = store_of(database, tmp_path / "files")
    ana = Conversation(rc, rc.add_user("ana"), store)
    await seed_purchasing(store, ana)
    settings = bot_settings(rc, database.url, tmp_path / "files", dialog_timeout_min=TIMEOUT_MIN)
    async with running_bot(rc, settings, transport=rest_transport(clock=wall.epoch)):
        for text in HEADER:
            await ana.ask(text)
        async with rc.outage():
            await replies_wait_while_down(rc, store, ana)
            wall.jump(dt.timedelta(hours=2))
        await all_delivered(store, rc)
        after_jump = await ana.ask("ok")
        gone = await session_row(store)
        for text in WIZARD:
            replies = await ana.ask(text)
        await all_delivered(store, rc)
    assert after_jump == [EXPIRED]
    assert gone is None  # the expired dialog is closed, not left half-open
    assert SAVED in replies
    assert await saved_documents(store) == [("OC-00001", Decimal("275.28"))]
    await invariants.check_all(store.sessions, store.files, rc=rc, acknowledged=ana.acknowledged())


async def test_a_backward_jump_neither_strands_queued_replies_nor_breaks_the_wizard(
    rc: FakeRocketChat, database: TestDatabase, tmp_path: Path, wall: WallClock
) -> None:
    store = store_of(database, tmp_path / "files")
    ana = Conversation(rc, rc.add_user("ana"), store)
    await seed_purchasing(store, ana)
    settings = bot_settings(rc, database.url, tmp_path / "files", dialog_timeout_min=TIMEOUT_MIN)
    async with running_bot(rc, settings, transport=rest_transport(clock=wall.epoch)):
        for text in HEADER:
            await ana.ask(text)
        async with rc.outage():
            await replies_wait_while_down(rc, store, ana)
            wall.jump(-dt.timedelta(hours=3))
        # Bounded by RECOVERY_TIMEOUT: rows claimed before the jump are not held for 3 hours.
        await all_delivered(store, rc)
        answers = [await ana.ask(text) for text in WIZARD[len(HEADER) + WHILE_DOWN :]]
        await all_delivered(store, rc)
    assert all(EXPIRED not in replies for replies in answers)
    assert SAVED in answers[-1]
    assert await saved_documents(store) == [("OC-00001", Decimal("275.28"))]
    await invariants.check_all(store.sessions, store.files, rc=rc, acknowledged=ana.acknowledged())


@dataclasses.dataclass
class RecordingSleep:
    """The transport's sleep: really waits, and keeps each wait it was asked for."""

    delays: list[float] = dataclasses.field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(seconds)


@pytest.mark.parametrize("skew_hours", [-1, 1], ids=["behind", "ahead"])
async def test_rate_limit_waits_stay_bounded_with_the_clock_an_hour_off(
    rc: FakeRocketChat, database: TestDatabase, tmp_path: Path, wall: WallClock, skew_hours: int
) -> None:
    store = store_of(database, tmp_path / "files")
    luis = Conversation(rc, rc.add_user("luis"))
    await own_contact(store, luis)
    rc.bot.roles = ("user",)  # without the `bot` role the bot is rate limited (§2.3)
    rc.set_rate_limit(10_000, 60_000)
    rc.set_rate_limit(2, 300, route=SEND)
    policy = dataclasses.replace(QUICK_RETRY, max_rate_wait=0.3)
    sleep = RecordingSleep()
    transport = rest_transport(clock=wall.epoch, sleep=sleep, retry=policy)
    wall.jump(dt.timedelta(hours=skew_hours))
    settings = bot_settings(rc, database.url, tmp_path / "files")
    async with running_bot(rc, settings, transport=transport):
        for n in range(6):
            await luis.say(f"comentar nota {n}")
        await all_delivered(store, rc)
    assert 429 in [r.status for r in rc.requests if r.path == SEND]
    cap = policy.max_rate_wait + RESET_SLACK
    assert sleep.delays
    assert max(sleep.delays) <= cap + 1e-9  # never the hour the clocks differ by
    if skew_hours < 0:
        assert max(sleep.delays) == pytest.approx(cap)  # the skew was seen, and capped
    assert await comments(store) == [f"nota {n}" for n in range(6)]
    await invariants.check_all(store.sessions, store.files, rc=rc, acknowledged=luis.acknowledged())
