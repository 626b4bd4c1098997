"""Two `crmbot serve` processes on one PostgreSQL database under load (issue 5; CONTRACT §6,
README "several processes may share the PostgreSQL database"): each of Rocket.Chat's
deliveries reaches one process or the other and some reach both, with the same message id,
at once or one after the other. Every message is handled once, every reply is posted once,
and each room hears its replies in the order its messages were written.

Rocket.Chat cannot be told to alternate between two URLs, so the test sends the deliveries
itself: the exact `sendMessage` body the fake's emitter builds (ROCKETCHAT.md §1.3), posted
to the process it picks, and posted again after a 503 as Rocket.Chat would (§1.7).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot.storage import Store
from store import models as m
from tests.databases import TestDatabase
from tests.e2e.test_purchase_wizard import at_role
from tests.e2e.test_serve_crash import (
    HELP,
    SAVED_NOTICE,
    WIZARD,
    Step,
    assert_each_reply_posted_once,
    assert_replies,
    bot_messages,
    chat_world,
    drained,
    processed,
    search,
)
from tests.e2e.test_webhook import TOKEN
from tests.fakes.rocketchat import FakeRocketChat, FakeRoom, FakeUser, OutgoingIntegration
from tests.fakes.rocketchat_webhooks import USER_AGENT, send_message_body
from tests.support.serve_process import (
    ServeProcess,
    eventually,
    free_port,
    serve_env,
    serve_processes,
)

SEED = 20261128
MESSAGES_PER_ROOM = 50
ROUTES = ("first", "second", "both-at-once", "both-in-turn")
ROUTE_WEIGHTS = (45, 45, 5, 5)
RECORD_ATTEMPTS = 5  # the first delivery and Rocket.Chat's four retries (§1.7)


@pytest.fixture
async def rc() -> AsyncIterator[FakeRocketChat]:
    async with FakeRocketChat() as fake:
        yield fake


@dataclass
class Script:
    """What is said in one room, in order, and the replies each message should get."""

    room: FakeRoom
    lines: list[tuple[FakeUser, Step]] = field(default_factory=list)


def reading(rng: random.Random, token: str, *, direct: bool) -> Step:
    """A read command: mostly a search only this message makes, so its reply is its own."""
    prefix = "" if direct else "!"
    kind = rng.choices(("search", "help", "ana"), weights=(70, 15, 15))[0]
    if kind == "help":
        return Step(f"{prefix}ayuda", HELP)
    if kind == "ana":
        return Step(f"{prefix}buscar ana", ("*Contactos* con «ana»",))
    return search(f"{prefix}buscar {token}")


def scripts(
    rng: random.Random, wizard_room: FakeRoom, ana: FakeUser, rooms: list[tuple[FakeRoom, FakeUser]]
) -> list[Script]:
    """Ana's purchase order in her room, with someone else's reads between her steps, and
    reads in every other room."""
    luis = rooms[0][1]
    wizard = Script(wizard_room)
    for number, step in enumerate(WIZARD):
        if rng.random() < 0.5:
            wizard.lines.append((luis, reading(rng, f"w{number}", direct=False)))
        wizard.lines.append((ana, step))
    others = []
    for index, (room, user) in enumerate(rooms):
        script = Script(room)
        for number in range(MESSAGES_PER_ROOM):
            step = reading(rng, f"r{index}n{number}", direct=room.type == "d")
            script.lines.append((user, step))
        others.append(script)
    return [wizard, *others]


@dataclass
class Deliveries:
    """Posts `sendMessage` bodies to the two processes and counts what happened."""

    http: aiohttp.ClientSession
    integration: OutgoingIntegration
    serves: list[ServeProcess]
    routes: Counter[str] = field(default_factory=Counter)
    answered: int = 0  # deliveries answered `{}` (handled or found a duplicate)
    refused: int = 0  # deliveries answered 503 and delivered again

    async def post(self, serve: ServeProcess, body: bytes) -> None:
        for _ in range(RECORD_ATTEMPTS):
            async with self.http.post(
                serve.webhook_url,
                data=body,
                headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
            ) as response:
                status, answer = response.status, await response.read()
            if status == 200:
                assert answer == b"{}"
                self.answered += 1
                return
            # Not recorded (a batch that failed or was too slow): Rocket.Chat tries again.
            assert status == 503, (status, answer)
            self.refused += 1
        raise AssertionError(f"never recorded: {body!r}")

    async def deliver(
        self, rc: FakeRocketChat, room: FakeRoom, user: FakeUser, text: str, rng: random.Random
    ) -> str:
        """``user`` writes ``text``; its delivery goes where ``rng`` says. Returns its id."""
        stored = (await rc.emit_message(room, user, text)).message
        payload = send_message_body(rc.state, self.integration, stored, None)
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        route = rng.choices(ROUTES, weights=ROUTE_WEIGHTS)[0]
        self.routes[route] += 1
        first, second = rng.sample(self.serves, 2)
        if route == "first":
            await self.post(first, body)
        elif route == "second":
            await self.post(second, body)
        elif route == "both-at-once":
            await asyncio.gather(self.post(first, body), self.post(second, body))
        else:
            await self.post(first, body)
            await self.post(second, body)
        return stored.id

    async def run(self, rc: FakeRocketChat, script: Script, seed: str) -> list[str]:
        """The room's messages one after another, each once its delivery was answered; each
        room draws its routes from its own generator, whatever the rooms' interleaving."""
        rng = random.Random(seed)
        return [
            await self.deliver(rc, script.room, user, step.text, rng) for user, step in script.lines
        ]


async def message_outcomes(http: aiohttp.ClientSession, serve: ServeProcess) -> Counter[str]:
    """`crmbot_messages_total` by outcome, from the process's /metrics."""
    async with http.get(serve.url + "/metrics") as response:
        text = await response.text()
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "crmbot_messages_total":
                counts[sample.labels["outcome"]] += int(sample.value)
    return counts


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)  # SQLite is one process's
async def test_two_processes_handle_each_message_once_and_keep_each_rooms_order(
    rc: FakeRocketChat, database: TestDatabase, store: Store, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    world = await chat_world(rc, store)
    marta, pedro = rc.add_user("marta"), rc.add_user("pedro")
    await at_role(store, "marta", "ventas")
    await at_role(store, "pedro", "soporte")
    rooms = [
        (rc.add_room("ventas", members=[rc.bot]), world.luis),
        (rc.add_room("soporte", members=[rc.bot]), pedro),
        (rc.add_room("general", members=[rc.bot]), marta),
        (rc.add_dm(rc.bot, world.luis), world.luis),
        (rc.add_dm(rc.bot, marta), marta),
    ]
    plan = scripts(rng, world.room, world.ana, rooms)
    # The integration gives the body its token and fields; it is disabled so that Rocket.Chat
    # itself delivers nothing and the test alone decides where each delivery goes.
    integration = rc.add_outgoing_webhook("http://127.0.0.1:9/unused", TOKEN)
    integration.enabled = False
    envs = [serve_env(rc, database, tmp_path, free_port()) for _ in range(2)]
    async with serve_processes(envs, tmp_path) as serves, aiohttp.ClientSession() as http:
        deliveries = Deliveries(http, integration, serves)
        async with asyncio.timeout(120):
            said = await asyncio.gather(
                *(deliveries.run(rc, script, f"{SEED}-{n}") for n, script in enumerate(plan))
            )
        await eventually(lambda: drained(store), within=60, what="every reply to be posted")
        outcomes = [await message_outcomes(http, serve) for serve in serves]

    messages = [message_id for room_ids in said for message_id in room_ids]
    assert 250 <= len(messages) <= 400
    assert all(deliveries.routes[route] for route in ROUTES), deliveries.routes
    # Each message handled exactly once, by one process or the other.
    assert await processed(store) == set(messages)
    assert len(set(messages)) == len(messages)
    handled = sum(counts["handled"] for counts in outcomes)
    assert handled + sum(counts["duplicate"] for counts in outcomes) == deliveries.answered
    # A message whose first delivery timed out after all is handled unseen by the metrics.
    assert handled <= len(messages) <= handled + deliveries.refused
    assert all(counts["handled"] and counts["duplicate"] for counts in outcomes), outcomes

    # Every reply posted once under its outbox id, each room's in the order of its messages.
    await assert_each_reply_posted_once(rc, store)
    for script in plan:
        assert_replies(rc, script.room, [step for _, step in script.lines])
    assert [message.msg for message in bot_messages(rc, world.other)] == [SAVED_NOTICE]
    async with store.sessions() as session:
        totals = list(await session.execute(select(m.Document.number, m.Document.total)))
    assert [tuple(row) for row in totals] == [("OC-00001", Decimal("275.28"))]
