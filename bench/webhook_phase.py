"""The webhook benchmark's phases: servers, their load at peak and at half, and the checks.

crmbot's phases share one migrated, empty database: it is seeded (``bench.common.seed``:
each participant a contact with a linked room), every participant gets a direct room
with the bot in a fake Rocket.Chat, linked to their contact, and each workload gets its
own participants. ``build_app`` then runs in a child process twice: with the notifier
paused (``deliver=False``), then delivering to the fake (``deliver=True``). Per server and
workload, every participant first types the workload's opening messages (unmeasured:
caches, pools, connections, and for the dialog workload an open purchase-order wizard);
then the peak (closed loop) and the half load (open loop at half the peak's rate). After
the last server has stopped, the database and the fake are checked: every acknowledged
message recorded once, with its replies, and every reply posted to its room.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from bench.common import open_store, percentile, seed
from bench.webhook_load import LoadGenerator, Outcome, Participant, ReplyTracker, Workload
from bench.webhook_servers import ServerProcess, ServerSpec
from store.models import ChatChannel, DialogSession, Outbox, ProcessedMessage
from tests.fakes.rocketchat import FakeRocketChat, StoredMessage

TOKEN = "bench-webhook-token-Xy7sd8Qk"
Result = dict[str, Any]


def read_workload(contacts: int) -> Workload:
    """`buscar ClienteNNNNN`: a contact search (one match) that remembers the list shown."""

    def texts(index: int, n: int) -> str:
        return f"buscar Cliente{(index + n + 1) % contacts:05d}"

    # The numbered result line: a refusal or "no match" may quote the text, never list it.
    return Workload("read", texts, lambda _n: 1, opening=2, markers=("1. *Cliente",))


def dialog_workload() -> Workload:
    """A purchase-order wizard kept between its first two steps: title, `atras`, title, ...

    The opening (`agregar compra`, a title, `atras`) opens the wizard (two replies: the
    introduction and the first question) and takes each step once; every measured message
    is then one step with one reply: a title (the wizard asks for the vendor) or `atras`
    (it asks for the title again).
    """

    def texts(index: int, n: int) -> str:
        if n == 0:
            return "agregar compra"
        return f"Pedido {index}-{n}" if n % 2 else "atras"

    def replies(n: int) -> int:
        return 2 if n == 0 else 1

    markers = ("*Nueva orden de compra*", "*Título*", "*Proveedor*")
    return Workload("dialog", texts, replies, opening=3, markers=markers)


@dataclass(frozen=True, slots=True)
class Load:
    """How much a phase sends."""

    participants: int
    seconds: float  # sending at peak; the half load sends for as long
    concurrency: int  # deliveries in flight at peak
    stall: float = 60.0  # a run fails when replies are missing and none came for this long


def participants_for(fake: FakeRocketChat, names: Sequence[str]) -> list[Participant]:
    people = []
    for index, name in enumerate(names):
        user = fake.add_user(f"user{index:05d}", name=name)
        people.append(Participant(index, user, fake.add_dm(fake.bot, user)))
    return people


def bare_participants(fake: FakeRocketChat, count: int) -> list[Participant]:
    """Chat users for the bare handler, which reads no database: nothing is seeded."""
    return participants_for(fake, [f"Cliente{n:05d}" for n in range(count)])


async def seeded_participants(
    url: str, files: Path, fake: FakeRocketChat, count: int
) -> list[Participant]:
    """Seed the database and give each contact's user a DM with the bot, linked to it."""
    async with open_store(url, files) as store:
        catalogue = await seed(store, count)
        participants = participants_for(fake, [u.contact_name for u in catalogue.users])
        async with store.sessions.begin() as session:
            for seeded, participant in zip(catalogue.users, participants, strict=True):
                await session.execute(
                    update(ChatChannel)
                    .where(ChatChannel.room_id == seeded.room_id)
                    .values(room_id=participant.room.id, room_name="")
                )
    return participants


def server_settings(url: str, files: Path, fake: FakeRocketChat) -> dict[str, str]:
    return {
        "database_url": url,
        "files_dir": str(files),
        "rocketchat_url": fake.url,
        "rocketchat_user_id": fake.bot.id,
        "rocketchat_token": fake.bot.token,
        "rocketchat_username": fake.bot.username,
        "locale": "es",
        "default_role": "compras",  # unmapped users may search and open purchase orders
    }


def _ms(values: Sequence[float], fraction: float) -> float | None:
    return round(percentile(values, fraction) * 1000, 2) if values else None


def _figures(outcome: Outcome, finished: float) -> Result:
    wall = finished - outcome.started
    return {
        "messages": outcome.messages,
        "wall_s": round(wall, 3),
        "rate": round(outcome.messages / wall, 1),
        "ack_p50_ms": _ms(outcome.ack_latencies, 0.50),
        "ack_p99_ms": _ms(outcome.ack_latencies, 0.99),
        "reply_p50_ms": _ms(outcome.reply_latencies, 0.50),
        "reply_p99_ms": _ms(outcome.reply_latencies, 0.99),
    }


async def _finished(outcome: Outcome, tracker: ReplyTracker | None, stall: float) -> float:
    """When the run ended: its last acknowledgement, or its last reply when delivering."""
    if tracker is None:
        return outcome.started + outcome.wall
    finished = await tracker.all_in(stall)
    outcome.reply_latencies = tracker.take_latencies()
    return finished


@contextmanager
def collector_paused() -> Iterator[None]:
    """The load generator's garbage collector off while it sends and times.

    The generator's process also holds the fake Rocket.Chat, which keeps every message, so
    its full collections grow to 100 ms and more; the sends due meanwhile went out late and
    their acks were timed late, which the half-load p99 then charged to the server.
    Reference counting still frees almost everything; what is left is collected after.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


async def measure(
    load: LoadGenerator,
    server: ServerProcess,
    workload: Workload,
    plan: Load,
    tracker: ReplyTracker | None,
) -> Result:
    """Opening, peak and half load against a started server.

    The peak is a closed loop (``plan.concurrency`` deliveries in flight for
    ``plan.seconds``); when replies are delivered it lasts until the last one has landed,
    so its rate is end to end. The half load is an open loop at half the peak's rate.
    """
    opening = plan.participants * workload.opening
    await _finished(await load.closed_loop(plan.concurrency, count=opening), tracker, plan.stall)
    cpu = server.cpu_seconds()
    with collector_paused():
        peak = await load.closed_loop(plan.concurrency, seconds=plan.seconds)
        peak_figures = _figures(peak, await _finished(peak, tracker, plan.stall))
    cpu = server.cpu_seconds() - cpu
    rate = peak_figures["rate"] / 2
    with collector_paused():
        half = await load.open_loop(max(1, round(rate * plan.seconds)), rate)
        half_figures = _figures(half, await _finished(half, tracker, plan.stall))
    return {
        "peak": {**peak_figures, "server_cpu_ms_per_msg": round(cpu / peak.messages * 1000, 3)},
        "half": {**half_figures, "offered_rate": round(rate, 1), "late": half.late},
    }


async def crmbot_phases(
    url: str, files: Path, workloads: Sequence[Workload], plan: Load, *, profile: str = ""
) -> Result:
    """Every workload with the notifier paused, then with replies delivered, on one database.

    Each workload has its own participants. The notifier-paused server leaves its replies
    queued; the delivering server first sends that backlog (unmeasured), as a notifier
    resuming would, so its measured replies are only those of its own load. With
    ``profile``, each server writes a cProfile of its whole life to ``<profile>.<mode>``.
    """
    async with FakeRocketChat() as fake:
        everyone = await seeded_participants(url, files, fake, plan.participants * len(workloads))
        groups = [
            everyone[n * plan.participants : (n + 1) * plan.participants]
            for n in range(len(workloads))
        ]
        tracker = ReplyTracker(fake)
        results: Result = {workload.name: {} for workload in workloads}
        for mode, deliver in (("acks", False), ("e2e", True)):
            settings = server_settings(url, files, fake)
            profile_file = f"{profile}.{mode}" if profile else ""
            spec = ServerSpec("crmbot", TOKEN, deliver, settings, profile_file)
            async with ServerProcess(spec) as server:
                if deliver:
                    tracker.expect(_replies(workloads, groups))
                    await tracker.all_in(plan.stall)
                for workload, group in zip(workloads, groups, strict=True):
                    timing = tracker if deliver else None
                    async with LoadGenerator(
                        fake, server.url, TOKEN, workload, group, timing
                    ) as load:
                        results[workload.name][mode] = await measure(
                            load, server, workload, plan, timing
                        )
        # The servers have stopped: everything they acknowledged must be in the database.
        results["checked"] = await check(url, files, fake, workloads, groups)
    return results


def _replies(workloads: Sequence[Workload], groups: Sequence[Sequence[Participant]]) -> int:
    """How many replies the messages sent so far get."""
    return sum(
        workload.replies(n)
        for workload, group in zip(workloads, groups, strict=True)
        for participant in group
        for n in range(participant.sent)
    )


async def bare_phase(workload: Workload, plan: Load) -> Result:
    """The same load against the bare aiohttp handler (no database, no replies)."""
    async with FakeRocketChat() as fake:
        participants = bare_participants(fake, plan.participants)
        async with (
            ServerProcess(ServerSpec("bare", TOKEN)) as server,
            LoadGenerator(fake, server.url, TOKEN, workload, participants) as load,
        ):
            return await measure(load, server, workload, plan, None)


async def check(
    url: str,
    files: Path,
    fake: FakeRocketChat,
    workloads: Sequence[Workload],
    groups: Sequence[Sequence[Participant]],
) -> Result:
    """Every acknowledged message was recorded once with its replies, and each reply reached
    the fake Rocket.Chat in its room.

    A reply counts as delivered when the fake holds a message with the outbox row's id in
    the row's room: the notifier may post a batch and be stopped before it marks the rows
    sent (they would be posted again after a restart, and refused by Rocket.Chat as known
    ids), so ``sent_at`` alone would undercount.
    """
    sent = sum(participant.sent for group in groups for participant in group)
    expected = _replies(workloads, groups)
    async with open_store(url, files) as store, store.sessions() as session:
        processed = await session.scalar(select(func.count()).select_from(ProcessedMessage))
        rows = (await session.execute(select(Outbox.msg_id, Outbox.room_id))).all()
        dialogs = await session.scalar(select(func.count()).select_from(DialogSession))
    problems = []
    if processed != sent or len(rows) != expected:
        problems.append(
            f"{sent} acknowledged, {processed} recorded; {len(rows)} of {expected} replies"
        )
    wizards = sum(len(g) for w, g in zip(workloads, groups, strict=True) if w.name == "dialog")
    if dialogs != wizards:
        problems.append(f"{dialogs} wizards open, expected {wizards}")
    posted = fake.state.messages_by_id
    lost = [msg_id for msg_id, room in rows if msg_id not in posted or posted[msg_id].rid != room]
    if lost:
        problems.append(f"{len(lost)} replies never reached Rocket.Chat, e.g. {lost[0]}")
    answers = [m for m in fake.messages if m.user.id == fake.bot.id]
    if len(answers) != len(rows):
        problems.append(f"Rocket.Chat got {len(answers)} replies for {len(rows)} outbox rows")
    problems += _unexpected(answers, workloads, groups)
    if problems:
        raise RuntimeError("; ".join(problems))
    return {"acknowledged": sent, "replies": len(rows)}


def _unexpected(
    answers: Sequence[StoredMessage],
    workloads: Sequence[Workload],
    groups: Sequence[Sequence[Participant]],
) -> list[str]:
    """Replies that are not the workload's expected answer (a refusal, an error)."""
    markers = {
        participant.room.id: workload.markers
        for workload, group in zip(workloads, groups, strict=True)
        for participant in group
    }
    odd = [m.msg for m in answers if not any(mark in m.msg for mark in markers[m.rid])]
    return [f"{len(odd)} unexpected replies, e.g. {odd[0][:200]!r}"] if odd else []
