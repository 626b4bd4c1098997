"""The dialog benchmark: PO wizard steps/s and p50/p99 through the inbox, and memory per dialog.

``python -m bench.dialogs [--quick] [--json] [--backend sqlite|postgresql] [--notifier MODE]``.
Every throughput run gets a fresh, migrated database seeded by ``bench.common.seed``. Its
users type the 16-message purchase order of ``bench.common.purchase_script`` at once, each
waiting for one message's durable ack before sending the next (as a person does), so the
inbox forms batches from many users. By default the notifier runs in the background, as
under ``crmbot serve``, delivering to a transport that only counts; whatever is left is
drained after the clock stops and checked. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import gc
import logging
import multiprocessing
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from bench.common import (
    BenchUser,
    Catalogue,
    CountingTransport,
    RenderFailures,
    arguments,
    bench_store,
    counting_statements,
    cpu_seconds,
    incoming,
    percentile,
    purchase_script,
    report,
    rss_bytes,
    seed,
)
from bot.bootstrap import ChatApp, build_chat
from bot.commands.base import ChatConfig
from bot.inbox import Outcome
from bot.storage import Store
from store.models import DialogSession, Document, Outbox

GOAL_STEPS_PER_S = 3000
GOAL_MEMORY_MIB = 10.0
MIB = 1024 * 1024
PER = 10_000  # memory is reported per this many dialogs
WAVES = 16  # as many as a PO has steps
SOLO_USERS = 5
CONFIG = ChatConfig(default_role="compras")  # no fixed role: each message looks its role up
Result = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Plan:
    """How much to do."""

    users: int  # concurrent PO dialogs per throughput run
    runs: int  # throughput runs per backend (the median is reported)
    dialogs: int  # dialogs opened for the memory measurement
    warmup_dialogs: int  # opened first, so caches and allocator pools are at steady size
    warmup_users: int = 20
    workers: int = 256  # users opening dialogs at once in the memory run
    notifier: str = "background"  # or "end": nothing delivered until the clock stops


FULL = Plan(users=200, runs=3, dialogs=PER, warmup_dialogs=2_000)
QUICK = Plan(users=50, runs=1, dialogs=2_000, warmup_dialogs=2_000)


def _app(store: Store, transport: CountingTransport) -> ChatApp:
    return build_chat(store, transport, CONFIG, locale="es")


# --- throughput -------------------------------------------------------------------------------
async def _run_user(
    app: ChatApp, user: BenchUser, messages: Sequence[str], gates: Sequence[asyncio.Event]
) -> list[float]:
    wave = user.index % len(gates)
    await gates[wave].wait()
    latencies = []
    for text in messages:
        started = time.perf_counter()
        outcome = await app.inbox.submit(incoming(user, text))
        latencies.append(time.perf_counter() - started)
        if outcome is not Outcome.HANDLED:
            raise RuntimeError(f"{user.username}: {text!r} was {outcome}")
        if wave + 1 < len(gates):
            gates[wave + 1].set()
    return latencies


async def _drive(app: ChatApp, catalogue: Catalogue) -> tuple[list[float], float]:
    """Every user's whole PO; returns each step's latency and the wall time.

    Users start in waves, each wave once the previous one's first message is through, so
    a batch holds users at different steps (as in real use) rather than all 200 saving at
    once, which would make p99 the cost of a batch of saves.
    """
    scripts = {user.index: purchase_script(user, catalogue).messages for user in catalogue.users}
    gates = [asyncio.Event() for _ in range(WAVES)]
    gates[0].set()
    started = time.perf_counter()
    per_user = await asyncio.gather(
        *(_run_user(app, u, scripts[u.index], gates) for u in catalogue.users)
    )
    wall = time.perf_counter() - started
    return [latency for latencies in per_user for latency in latencies], wall


async def _alone(app: ChatApp, catalogue: Catalogue) -> list[float]:
    """Step latencies of users typing one after another: the service time, no queueing."""
    gates = [asyncio.Event()]
    gates[0].set()
    latencies = []
    for user in catalogue.users:
        script = purchase_script(user, catalogue).messages
        latencies += await _run_user(app, user, script, gates)
    return latencies


async def throughput_run(kind: str, plan: Plan, profiler: cProfile.Profile | None) -> Result:
    """One fresh database, ``plan.users`` concurrent PO dialogs: steps/s and latency."""
    async with bench_store(kind) as store:
        warm = await seed(store, plan.warmup_users, prefix="warm")
        solo = await seed(store, SOLO_USERS, prefix="solo")
        catalogue = await seed(store, plan.users, prefix="user")
        transport = CountingTransport()
        app = _app(store, transport)
        app.start()
        if plan.notifier == "background":
            app.notifier.start()
        await _drive(app, warm)  # compiled statements, templates, pools: not measured
        alone = await _alone(app, solo)
        batches, messages, cpu = app.inbox.batches, app.inbox.messages, cpu_seconds()
        with counting_statements(store) as statements:
            if profiler is not None:
                profiler.enable()
            latencies, wall = await _drive(app, catalogue)
            if profiler is not None:
                profiler.disable()
        cpu = cpu_seconds() - cpu
        batches, messages = app.inbox.batches - batches, app.inbox.messages - messages
        await app.stop()
        await app.notifier.drain()
        checked = await _check(store, plan.warmup_users + SOLO_USERS + plan.users)
    steps = len(latencies)
    return {
        "users": plan.users,
        "steps": steps,
        "wall_s": round(wall, 3),
        "steps_per_s": round(steps / wall, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "alone_p50_ms": round(percentile(alone, 0.50) * 1000, 2),
        "alone_p99_ms": round(percentile(alone, 0.99) * 1000, 2),
        "cpu_ms_per_step": round(cpu / steps * 1000, 3),
        "statements_per_step": round(statements[0] / steps, 2),
        "batches": batches,
        "avg_batch": round(messages / batches, 1),
        "delivered": transport.sent,
        **checked,
    }


async def _check(store: Store, orders: int) -> Result:
    async with store.sessions() as session:
        documents = await session.scalar(select(func.count()).select_from(Document))
        open_dialogs = await session.scalar(select(func.count()).select_from(DialogSession))
        unsent = await session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.sent_at.is_(None))
        )
    if documents != orders or open_dialogs != 0 or unsent != 0:
        raise RuntimeError(f"{documents} POs of {orders}, {open_dialogs} open, {unsent} unsent")
    return {"purchase_orders": documents}


# --- memory -----------------------------------------------------------------------------------
async def memory_run(kind: str, plan: Plan) -> Result:
    """RSS growth while ``plan.dialogs`` dialogs are opened through the inbox and the engine.

    Run in a fresh process (``memory_in_fresh_process``): a heap already grown by other
    runs would hide any growth.
    """
    async with bench_store(kind) as store:
        gc.collect()
        start = rss_bytes()
        app = _app(store, CountingTransport())
        app.start()  # no notifier: the replies wait in the database, not in this process
        await _open_dialogs(app, "warm", plan.warmup_dialogs, plan.workers)
        gc.collect()
        before = rss_bytes()
        await _open_dialogs(app, "mem", plan.dialogs, plan.workers)
        gc.collect()
        after = rss_bytes()
        await app.stop()
        async with store.sessions() as session:
            opened = await session.scalar(select(func.count()).select_from(DialogSession))
    if opened != plan.warmup_dialogs + plan.dialogs:
        raise RuntimeError(f"{opened} dialogs open, expected {plan.warmup_dialogs + plan.dialogs}")
    growth = after - before
    return {
        "dialogs": plan.dialogs,
        "warmup_dialogs": plan.warmup_dialogs,
        "rss_start_mib": round(start / MIB, 1),
        "rss_before_mib": round(before / MIB, 1),
        "rss_after_mib": round(after / MIB, 1),
        "growth_mib": round(growth / MIB, 2),
        "growth_mib_per_10k": round(growth / MIB * PER / plan.dialogs, 2),
        "bytes_per_dialog": round(growth / plan.dialogs),
    }


def _memory_child(kind: str, plan: Plan) -> Result:
    return asyncio.run(memory_run(kind, plan))


async def memory_in_fresh_process(kind: str, plan: Plan) -> Result:
    """``memory_run`` in a new interpreter (spawned, so nothing of this one is shared)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return await asyncio.get_running_loop().run_in_executor(pool, _memory_child, kind, plan)


async def _open_dialogs(app: ChatApp, prefix: str, count: int, workers: int) -> None:
    """``agregar compra`` from ``count`` users, each in their own (unlinked) direct room.

    A fixed pool of workers rather than a task per dialog: the harness's own tasks must
    not be what the memory figure measures.
    """
    numbers = iter(range(count))

    async def worker() -> None:
        for i in numbers:
            user = BenchUser(i, f"{prefix}{i}", f"{prefix}-room-{i}", 0, "")
            if await app.inbox.submit(incoming(user, "agregar compra")) is not Outcome.HANDLED:
                raise RuntimeError(f"{user.username} could not open a dialog")

    await asyncio.gather(*(worker() for _ in range(workers)))


# --- the report -------------------------------------------------------------------------------
def _median(runs: Sequence[Result]) -> Result:
    keys = (
        "steps_per_s",
        "p50_ms",
        "p99_ms",
        "alone_p50_ms",
        "alone_p99_ms",
        "cpu_ms_per_step",
        "statements_per_step",
    )
    return {key: statistics.median(run[key] for run in runs) for key in keys}


async def bench_backend(kind: str, plan: Plan, profile: str | None) -> Result:
    """Throughput runs (median) and one memory run on one backend."""
    runs = []
    for number in range(plan.runs):
        profiler = cProfile.Profile() if profile and number == 0 else None
        runs.append(await throughput_run(kind, plan, profiler))
        if profiler is not None:
            profiler.dump_stats(f"{profile}.{kind}")
    return {
        "throughput": {**_median(runs), "runs": runs},
        "memory": await memory_in_fresh_process(kind, plan),
    }


def _goals(backends: Result) -> Result:
    sqlite = backends.get("sqlite")
    memory = [backend["memory"]["growth_mib_per_10k"] for backend in backends.values()]
    return {
        "steps_per_s": GOAL_STEPS_PER_S,
        "steps_per_s_met": None
        if sqlite is None
        else sqlite["throughput"]["steps_per_s"] >= GOAL_STEPS_PER_S,
        "memory_mib_per_10k": GOAL_MEMORY_MIB,
        "memory_met": all(growth <= GOAL_MEMORY_MIB for growth in memory),
    }


async def run_benchmark(plan: Plan, kinds: Sequence[str], profile: str | None = None) -> Result:
    """Every backend in turn; the JSON document."""
    backends = {kind: await bench_backend(kind, plan, profile) for kind in kinds}
    return {
        "benchmark": "dialogs",
        "plan": {**dataclasses.asdict(plan), "messages_per_user": 16},
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        },
        "backends": backends,
        "goals": _goals(backends),
    }


def table(results: Result) -> str:
    """The human summary of ``results``."""
    head = (
        "backend",
        "steps/s",
        "p50 ms",
        "p99 ms",
        "alone p50",
        "alone p99",
        "cpu ms",
        "stmts",
        "per run (steps/s)",
        "MiB/10k dialogs",
    )
    lines = ["{:<11}{:>8}{:>8}{:>8}{:>10}{:>10}{:>8}{:>7}  {:<18}{:>16}".format(*head)]
    for kind, result in results["backends"].items():
        through, memory = result["throughput"], result["memory"]
        per_run = "/".join(f"{run['steps_per_s']:.0f}" for run in through["runs"])
        lines.append(
            f"{kind:<11}{through['steps_per_s']:>8.0f}{through['p50_ms']:>8.1f}"
            f"{through['p99_ms']:>8.1f}{through['alone_p50_ms']:>10.1f}"
            f"{through['alone_p99_ms']:>10.1f}{through['cpu_ms_per_step']:>8.2f}"
            f"{through['statements_per_step']:>7.2f}  {per_run:<18}"
            f"{memory['growth_mib_per_10k']:>16.2f}"
        )
    goals = results["goals"]
    lines.append(
        f"goals: >= {goals['steps_per_s']} steps/s on SQLite: {goals['steps_per_s_met']}; "
        f"<= {goals['memory_mib_per_10k']} MiB per 10,000 dialogs: {goals['memory_met']}"
    )
    return "\n".join(lines)


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    backends = ("sqlite", "sqlite-thread", "postgresql")
    quick = "one small run per backend (CI)"
    parser = arguments("bench.dialogs", __doc__, quick=quick, backends=backends)
    parser.add_argument(
        "--notifier",
        choices=["background", "end"],
        default="background",
        help="deliver replies while users type (as served) or only after the clock stops",
    )
    parser.add_argument("--profile", help="cProfile the first measured run into FILE.<backend>")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print it; a missed goal is reported, not an error."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    plan = dataclasses.replace(QUICK if args.quick else FULL, notifier=args.notifier)
    failures = RenderFailures()
    notifier_log = logging.getLogger("bot.notifier")
    notifier_log.addHandler(failures)
    notifier_log.propagate = False
    kinds = args.backend or ["sqlite", "postgresql"]
    results = asyncio.run(run_benchmark(plan, kinds, args.profile))
    results["render_failures"] = failures.count
    report(results, table, json_only=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
