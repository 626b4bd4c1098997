"""PostgreSQL going down and coming back while messages keep arriving.

A private cluster (tests/faults/pgcluster.py; the shared server is left alone) serves the app,
which runs over loopback with the fake Rocket.Chat. One user walks through the purchase-order
wizard while two others comment without pause; mid-wizard the cluster is shut down fast (open
sessions are terminated, in-flight transactions rolled back) and started again. Meanwhile the
webhook answers 503, which Rocket.Chat retries (its emitter here retries as soon as the server
is back, instead of after 0.1 s, 1 s, 10 s, ...). Afterwards every message is handled once,
every reply is in its room once and in order, and every invariant holds.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from bot.storage import Store
from store.db import create_engine, session_factory
from store.filestore import FileStore
from store.migrate import upgrade
from tests.e2e.test_purchase_wizard import TO_REVIEW
from tests.fakes.rocketchat import FakeRocketChat
from tests.faults import invariants
from tests.faults.harness import (
    Conversation,
    all_delivered,
    bot_settings,
    bot_texts,
    comments,
    own_contact,
    quick_notifier,
    running_bot,
    saved_documents,
    seed_purchasing,
    wait_until,
)
from tests.faults.pgcluster import Cluster, private_cluster

WIZARD = [*TO_REVIEW, "guardar"]
SAVED = "Orden de compra `OC-00001` creada."
STOP_AT_STEP = 8  # the wizard step after which the database goes down
AFTER_RESTART = 5  # comments each commenter still sends once the database is back
# How long Rocket.Chat's retry waits for the database at most; reaching it fails the test.
OUTAGE_BOUND = 30.0


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with private_cluster() as running:
        yield running


class Database:
    """The cluster's `crmbot` database, and whether the server is up (Rocket.Chat's retry
    waits for that)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.up = asyncio.Event()
        self.up.set()
        self.restarted = asyncio.Event()

    async def retry_wait(self, _delay: float) -> None:
        async with asyncio.timeout(OUTAGE_BOUND):
            await self.up.wait()

    async def stop(self) -> None:
        self.up.clear()
        await asyncio.to_thread(self.cluster.stop)

    async def start(self) -> None:
        await asyncio.to_thread(self.cluster.start)
        self.up.set()
        self.restarted.set()


@pytest.fixture
async def store(cluster: Cluster, tmp_path: Path) -> AsyncIterator[Store]:
    admin = await asyncpg.connect(cluster.dsn())
    try:
        await admin.execute("CREATE DATABASE crmbot")
    finally:
        await admin.close()
    engine = create_engine(cluster.url("crmbot"))
    try:
        await upgrade(engine)
        yield Store(engine, session_factory(engine), FileStore(tmp_path / "files"))
    finally:
        await engine.dispose()


class Load:
    """Ana in the wizard, waiting for each prompt; Luis and Eva commenting without pause."""

    def __init__(self, rc: FakeRocketChat, database: Database) -> None:
        self.rc, self.database = rc, database
        self.ana = Conversation(rc, rc.add_user("ana"))
        self.commenters = [Conversation(rc, rc.add_user(name)) for name in ("luis", "eva")]
        self.steps_done = 0
        self.comments: dict[str, list[str]] = {c.user.username: [] for c in self.commenters}

    async def seed(self, store: Store) -> None:
        await seed_purchasing(store, self.ana)
        for commenter in self.commenters:
            await own_contact(store, commenter)

    async def wizard(self) -> None:
        for text in WIZARD:
            await self.ana.ask(text)
            self.steps_done += 1

    async def comment(self, commenter: Conversation) -> None:
        """Comment without waiting for answers, until the database has been back a while."""
        said = self.comments[commenter.user.username]
        after = 0
        for n in itertools.count():
            if self.database.restarted.is_set():
                after += 1
                if after > AFTER_RESTART:
                    return
            text = f"nota {commenter.user.username} {n}"
            await commenter.say(f"comentar {text}")
            said.append(text)

    def refused(self) -> list[int | None]:
        """Statuses of the webhook attempts not accepted so far (the bot's echoes aside)."""
        return [
            a.status for d in self.rc.deliveries if d.payload.get("user_id") != self.rc.bot.id
            for a in d.attempts if a.status != 200
        ]  # fmt: skip

    def acknowledged(self) -> list[str]:
        return [mid for c in (self.ana, *self.commenters) for mid in c.acknowledged()]


async def health(url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(url + "/healthz") as response:
        return response.status


async def test_a_restart_under_load_loses_and_doubles_nothing(
    cluster: Cluster, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short claim: rows sent just before the database went away could not be marked sent,
    # and stay claimed until the claim expires (they are then found already delivered).
    quick_notifier(monkeypatch, claim_seconds=2)
    database = Database(cluster)
    async with FakeRocketChat(webhook_sleep=database.retry_wait) as rc:
        load = Load(rc, database)
        await load.seed(store)
        settings = bot_settings(rc, cluster.url("crmbot"), tmp_path / "files")
        async with running_bot(rc, settings) as url:
            senders = [
                asyncio.create_task(load.wizard()),
                *(asyncio.create_task(load.comment(c)) for c in load.commenters),
            ]

            async def midway() -> bool:
                return load.steps_done >= STOP_AT_STEP and all(load.comments.values())

            await wait_until(midway, "the wizard halfway and comments coming in")
            await database.stop()

            async def refused() -> bool:
                return 503 in load.refused()

            await wait_until(refused, "a delivery refused while the database is down")
            down_health = await health(url)
            await database.start()
            async with asyncio.timeout(OUTAGE_BOUND):
                await asyncio.gather(*senders)
            await all_delivered(store, rc)
            up_health = await health(url)

        assert (down_health, up_health) == (503, 200)
        assert set(load.refused()) == {503}  # never a 500: Rocket.Chat would drop those
        assert bot_texts(rc, load.ana.room).count(SAVED) == 1
        assert await saved_documents(store) == [("OC-00001", Decimal("275.28"))]
        everything = [text for said in load.comments.values() for text in said]
        assert await comments(store) == sorted(everything)  # each comment stored once
        for commenter in load.commenters:  # and answered once
            said = load.comments[commenter.user.username]
            assert len(bot_texts(rc, commenter.room)) == len(said)
        await invariants.check_all(
            store.sessions, store.files, rc=rc, acknowledged=load.acknowledged()
        )
