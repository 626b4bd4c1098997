"""The end-to-end webhook benchmark: Rocket.Chat deliveries per second, acked and answered.

``python -m bench.webhook [--quick] [--json] [--backend B] [--runs N] [--profile FILE]``.
Rocket.Chat's outgoing-webhook POSTs (bodies from the fake Rocket.Chat's own builder, one
new message id each) go to ``crmbot``'s app served in a child process, for two workloads:
a read command (``buscar``) and a purchase-order wizard step. Each workload runs twice on
a fresh database: with the notifier paused (durable acknowledgements: the message and its
replies committed before the 200 ``{}``) and with replies delivered to the fake
Rocket.Chat over REST (end to end: until the fake holds every reply). Each run starts with
a bare aiohttp handler under the same load, so the ratio crmbot / bare is of one moment
of a shared machine. Medians of ``--runs`` runs. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import arguments, postgres_database, report, sqlite_database
from bench.webhook_phase import Load, bare_phase, crmbot_phases, dialog_workload, read_workload

GOAL_ACKS_PER_S = 4000  # SQLite, notifier paused
GOAL_END_TO_END_PER_S = 2000  # SQLite, replies delivered
GOAL_HALF_LOAD_ACK_P99_MS = 20.0  # SQLite, at half the end-to-end rate, replies delivered
MODES = ("acks", "e2e")  # notifier paused; replies delivered
Result = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Plan:
    """How much to do per backend."""

    participants: int  # chat users, each with a DM linked to a contact (and a wizard open)
    seconds: float  # of sending, at peak and again at half load, per phase
    concurrency: int  # deliveries in flight at peak (closed loop)
    runs: int  # the median is reported


FULL = Plan(participants=200, seconds=8.0, concurrency=64, runs=3)
QUICK = Plan(participants=32, seconds=0.5, concurrency=16, runs=1)


@asynccontextmanager
async def fresh_database(kind: str) -> AsyncIterator[tuple[str, Path]]:
    """A new, empty database (``kind``) and files folder, both removed afterwards."""
    database = sqlite_database() if kind == "sqlite" else postgres_database()
    async with database as url:
        with tempfile.TemporaryDirectory(prefix="crmbot-files-") as files:
            yield url, Path(files)


def _machine() -> Result:
    return {"load_avg": [round(value, 2) for value in os.getloadavg()]}


async def one_run(kind: str, plan: Plan, profile: str = "") -> Result:
    """The bare handler, then both workloads in both modes on a fresh database."""
    load = Load(plan.participants, plan.seconds, plan.concurrency)
    workloads = (read_workload(plan.participants * 2), dialog_workload())
    result: Result = {"machine_before": _machine()}
    result["bare"] = await bare_phase(read_workload(plan.participants), load)
    async with fresh_database(kind) as (url, files):
        result |= await crmbot_phases(url, files, workloads, load, profile=profile)
    bare_rate = result["bare"]["peak"]["rate"]
    result["ratio_to_bare"] = {
        f"{workload.name}_{mode}": round(result[workload.name][mode]["peak"]["rate"] / bare_rate, 4)
        for workload in workloads
        for mode in MODES
    }
    result["machine_after"] = _machine()
    return result


def median_tree(runs: Sequence[Result]) -> Result:
    """The runs' median, leaf by leaf (numbers only; other leaves are the first run's)."""
    merged: Result = {}
    for key, first in runs[0].items():
        values = [run[key] for run in runs]
        if isinstance(first, dict):
            merged[key] = median_tree(values)
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            merged[key] = round(statistics.median(values), 4)
        else:
            merged[key] = first
    return merged


def goals(backends: Result) -> Result:
    """The issue's goals, on SQLite's medians; ``None`` when SQLite was not run."""
    sqlite = backends.get("sqlite", {}).get("median")
    verdicts: Result = {
        "acks_per_s": GOAL_ACKS_PER_S,
        "end_to_end_per_s": GOAL_END_TO_END_PER_S,
        "half_load_ack_p99_ms": GOAL_HALF_LOAD_ACK_P99_MS,
    }
    for name in ("read", "dialog"):
        if sqlite is None:
            verdicts[name] = None
            continue
        acks, e2e = sqlite[name]["acks"], sqlite[name]["e2e"]
        p99 = e2e["half"]["ack_p99_ms"]
        verdicts[name] = {
            "acks_per_s_met": acks["peak"]["rate"] >= GOAL_ACKS_PER_S,
            "end_to_end_per_s_met": e2e["peak"]["rate"] >= GOAL_END_TO_END_PER_S,
            "half_load_ack_p99_met": p99 is not None and p99 <= GOAL_HALF_LOAD_ACK_P99_MS,
        }
    return verdicts


async def run_benchmark(plan: Plan, kinds: Sequence[str], profile: str | None = None) -> Result:
    """Every backend in turn; the JSON document."""
    backends: Result = {}
    for kind in kinds:
        first = f"{profile}.{kind}" if profile else ""  # only the first run is profiled
        runs = [await one_run(kind, plan, first if n == 0 else "") for n in range(plan.runs)]
        backends[kind] = {"median": median_tree(runs), "runs": runs}
    return {
        "benchmark": "webhook",
        "plan": dataclasses.asdict(plan),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg_end": _machine()["load_avg"],
        },
        "backends": backends,
        "goals": goals(backends),
    }


def _cell(value: float | None, width: int, digits: int = 1) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def _row(label: str, phase: Result, ratio: float | None, per_run: str) -> str:
    peak, half = phase["peak"], phase["half"]
    cells = [
        _cell(peak["rate"], 8, 0),
        _cell(peak["ack_p50_ms"], 8),
        _cell(peak["ack_p99_ms"], 8),
        _cell(peak["reply_p99_ms"], 10),
        _cell(half["rate"], 8, 0),
        _cell(half["ack_p50_ms"], 8),
        _cell(half["ack_p99_ms"], 8),
        _cell(half["reply_p99_ms"], 10),
        f"{half['late']:>6}",
        _cell(peak["server_cpu_ms_per_msg"], 8, 2),
        _cell(ratio, 7, 3),
    ]
    return f"{label:<22}" + "".join(cells) + f"  {per_run}"


def table(results: Result) -> str:
    """The human summary of ``results``."""
    head = ("", "rate/s", "ack p50", "ack p99", "reply p99")
    half = ("half/s", "ack p50", "ack p99", "reply p99", "late", "cpu ms", "x bare")
    lines = [
        f"{'':<22}{'--- peak (closed loop) ---':^34}{'--- half load (open loop) ---':^40}",
        f"{head[0]:<22}{head[1]:>8}{head[2]:>8}{head[3]:>8}{head[4]:>10}{half[0]:>8}{half[1]:>8}"
        f"{half[2]:>8}{half[3]:>10}{half[4]:>6}{half[5]:>8}{half[6]:>7}  runs (rate/s)",
    ]
    for kind, backend in results["backends"].items():
        median, runs = backend["median"], backend["runs"]
        per_run = "/".join(f"{run['bare']['peak']['rate']:.0f}" for run in runs)
        lines.append(_row(f"{kind} bare", median["bare"], None, per_run))
        for name in ("read", "dialog"):
            for mode in MODES:
                rates = "/".join(f"{run[name][mode]['peak']['rate']:.0f}" for run in runs)
                ratio = median["ratio_to_bare"][f"{name}_{mode}"]
                lines.append(_row(f"{kind} {name} {mode}", median[name][mode], ratio, rates))
    verdicts = results["goals"]
    for name in ("read", "dialog"):
        met = verdicts[name]
        if met is None:
            continue
        lines.append(
            f"goals, {name} on SQLite: >= {verdicts['acks_per_s']} acks/s (notifier paused): "
            f"{_verdict(met['acks_per_s_met'])}; >= {verdicts['end_to_end_per_s']} msgs/s end "
            f"to end: {_verdict(met['end_to_end_per_s_met'])}; ack p99 <= "
            f"{verdicts['half_load_ack_p99_ms']:.0f} ms at half that: "
            f"{_verdict(met['half_load_ack_p99_met'])}"
        )
    lines.append(f"load average at the end: {results['machine']['load_avg_end']}")
    return "\n".join(lines)


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = arguments("bench.webhook", __doc__, quick="one short run per backend (CI)")
    parser.add_argument("--runs", type=int, help="runs per backend (the median is reported)")
    parser.add_argument(
        "--profile", help="cProfile the first run's servers into FILE.<backend>.<acks|e2e>"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print it; a missed goal is reported, not an error."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    plan = QUICK if args.quick else FULL
    if args.runs is not None:
        plan = dataclasses.replace(plan, runs=max(1, args.runs))
    kinds = args.backend or ["sqlite", "postgresql"]
    results = asyncio.run(run_benchmark(plan, kinds, args.profile))
    report(results, table, json_only=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
