"""Rocket.Chat's REST side failing while users are in the middle of things, end to end.

The transport's own handling of each fault is tested request by request in
tests/integration/test_rocketchat_transport.py and the notifier's in test_notifier.py; here the
whole app runs over loopback (webhook in, inbox, outbox, notifier, REST out) while one user
walks through the purchase-order wizard, waiting for each prompt as a person would, and another
adds comments in another room without waiting. Faults are armed on `chat.sendMessage` in the
middle: server errors (some after the message was stored), 429s with X-RateLimit-Reset, requests
that hang until the transport's timeout, and connections dropped mid-request. Afterwards every
reply is in its room exactly once and in the order it was queued, the wizard's purchase order
is saved with exact totals, and every invariant holds.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.databases import TestDatabase
from tests.e2e.test_purchase_wizard import TO_REVIEW
from tests.fakes.rocketchat import FakeRocketChat
from tests.faults import invariants
from tests.faults.harness import (
    QUICK_RETRY,
    Conversation,
    all_delivered,
    bot_settings,
    bot_texts,
    comments,
    own_contact,
    quick_notifier,
    rest_transport,
    running_bot,
    saved_documents,
    seed_purchasing,
    store_of,
)

SEND = "/api/v1/chat.sendMessage"
WIZARD = [*TO_REVIEW, "guardar"]
SAVED = "Orden de compra `OC-00001` creada."
# Steps of the wizard before which a fault is armed: early in the header, among the lines.
ARM_AT = (2, 9)
COMMENTS = 8
REQUEST_TIMEOUT = 0.5  # the transport's, so a hung request costs half a second


@pytest.fixture
async def rc() -> AsyncIterator[FakeRocketChat]:
    async with FakeRocketChat() as fake:
        yield fake


def arm(rc: FakeRocketChat, fault: str) -> None:
    """The next `chat.sendMessage` requests fail this way."""
    if fault == "server-error":
        # More failures than one send retries: the notifier itself must keep the row queued.
        rc.fail_next(QUICK_RETRY.attempts + 2, status=500, path=SEND)
        rc.fail_next(1, status=500, path=SEND, when="after")  # stored, but the answer is lost
    elif fault == "hang":
        rc.hang_next(1, path=SEND, when="before")
        rc.hang_next(1, path=SEND, when="after")
    elif fault == "close":
        rc.close_next(1, path=SEND, when="before")
        rc.close_next(1, path=SEND, when="after")


def rate_limit(rc: FakeRocketChat) -> None:
    """A bot account without the `bot` role is rate limited (ROCKETCHAT.md §2.3): a few
    sends per short window, so most replies meet a 429 and its X-RateLimit-Reset."""
    rc.bot.roles = ("user",)
    rc.set_rate_limit(10_000, 60_000)  # every other route stays out of the way
    rc.set_rate_limit(3, 300, route=SEND)


@pytest.mark.parametrize("fault", ["server-error", "rate-limit", "hang", "close"])
async def test_replies_arrive_once_and_in_order_through_rest_faults(
    rc: FakeRocketChat,
    database: TestDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
) -> None:
    quick_notifier(monkeypatch)
    store = store_of(database, tmp_path / "files")
    ana, luis = (
        Conversation(rc, rc.add_user("ana"), store),
        Conversation(rc, rc.add_user("luis"), store),
    )
    await seed_purchasing(store, ana)
    await own_contact(store, luis)
    if fault == "rate-limit":
        rate_limit(rc)
    settings = bot_settings(rc, database.url, tmp_path / "files")
    async with running_bot(rc, settings, transport=rest_transport(timeout=REQUEST_TIMEOUT)):
        for step, text in enumerate(WIZARD):
            if step in ARM_AT:
                arm(rc, fault)
            if step < COMMENTS:  # Luis does not wait for his answers
                await luis.say(f"comentar nota {step}")
            await ana.ask(text)
        await all_delivered(store, rc)
        hung = rc.faults.hung_count  # still unanswered: the transport gave up on them

    sends = [r for r in rc.requests if r.path == SEND]
    if fault == "rate-limit":
        statuses = [r.status for r in sends]
        assert 429 in statuses
        # Each 429 was waited out until X-RateLimit-Reset: the next try is in a new window.
        assert all(pair != (429, 429) for pair in itertools.pairwise(statuses))
    elif fault == "hang":
        assert hung == 2 * len(ARM_AT)
    else:
        assert len([r for r in sends if r.fault is not None]) >= 2 * len(ARM_AT)
    assert bot_texts(rc, ana.room).count(SAVED) == 1
    assert await saved_documents(store) == [("OC-00001", Decimal("275.28"))]
    assert await comments(store) == sorted(f"nota {n}" for n in range(COMMENTS))
    assert len(bot_texts(rc, luis.room)) == COMMENTS  # one answer each
    acknowledged = ana.acknowledged() + luis.acknowledged()
    await invariants.check_all(store.sessions, store.files, rc=rc, acknowledged=acknowledged)
