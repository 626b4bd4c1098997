"""Instructions the server spends per webhook delivery, counted by callgrind.

``python -m bench.webhook_cost [--quick] [--json] [--backend B] [--deliveries N]``.
Timings on a shared 2-core machine move by a third from one hour to the next; the number
of instructions a process retires for the same work does not (valgrind's callgrind counts
them; two runs of the same code agree to 0.1 %). So this measures the *cost* of the same
load as ``bench.webhook`` (the same bodies, workloads, participants and server set-up):
the server runs under callgrind, counting only while the measured deliveries are sent
(``--instr-atstart=no``, switched on and dumped with ``callgrind_control``), and the result
is instructions per delivery, beside the bare aiohttp handler's, as a ratio.

What it does not say: how many instructions a core retires per second (that is the
machine), and the cost of PostgreSQL's own process. A rate follows from both: at R billion
instructions per second on the server's core, a delivery of C thousand instructions allows
R * 10**6 / C deliveries per second.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bench.common import arguments, report
from bench.webhook import fresh_database
from bench.webhook_load import LoadGenerator, Participant, ReplyTracker, Workload
from bench.webhook_phase import (
    TOKEN,
    bare_participants,
    dialog_workload,
    read_workload,
    seeded_participants,
    server_settings,
)
from bench.webhook_servers import ServerSpec, spec_argument
from tests.fakes.rocketchat import FakeRocketChat

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 600.0  # the interpreter imports the application under valgrind: slow
Result = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Plan:
    """How much each counted server is sent."""

    participants: int
    concurrency: int  # deliveries in flight (the inbox's batches are about this size)
    warmup: int  # deliveries after the workload's opening, not counted
    deliveries: int  # counted


FULL = Plan(participants=64, concurrency=32, warmup=200, deliveries=1000)
QUICK = Plan(participants=32, concurrency=16, warmup=64, deliveries=200)


class CountedServer:
    """A server process under callgrind, counting only between ``start_counting`` and
    ``stop_counting``."""

    def __init__(self, process: asyncio.subprocess.Process, out: Path, url: str) -> None:
        self.process = process
        self._out = out
        self.url = url
        self._dumps = 0

    async def _control(self, *args: str) -> None:
        control = await asyncio.create_subprocess_exec(
            "callgrind_control", *args, str(self.process.pid),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        if await control.wait() != 0:
            raise RuntimeError(f"callgrind_control {' '.join(args)} failed")

    async def start_counting(self) -> None:
        await self._control("--instr=on")

    async def stop_counting(self) -> int:
        """The instructions counted since ``start_counting``."""
        await self._control("--dump")
        await self._control("--instr=off")
        self._dumps += 1
        found = re.search(r"^summary: (\d+)$", _read(Path(f"{self._out}.{self._dumps}")), re.M)
        if found is None:
            raise RuntimeError("callgrind's dump has no summary line")
        return int(found.group(1))


def _read(path: Path) -> str:
    # A dump is a few hundred kilobytes, read once per count.
    return path.read_text(errors="replace")


@asynccontextmanager
async def counted_server(spec: ServerSpec, workdir: Path) -> AsyncIterator[CountedServer]:
    """``spec`` served under callgrind, counting nothing until asked; stopped by SIGTERM."""
    out = workdir / "callgrind.out"
    log = (workdir / "valgrind.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
        sys.executable, "-m", "bench.webhook_servers", spec_argument(spec),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=log,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), STARTUP_TIMEOUT)
        if not line.strip().isdigit():
            raise RuntimeError(f"the server did not start; see {workdir / 'valgrind.log'}")
        yield CountedServer(process, out, f"http://127.0.0.1:{int(line)}")
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
        log.close()


async def measure_cost(
    fake: FakeRocketChat, server: CountedServer, workload: Workload,
    people: Sequence[Participant], plan: Plan, *, delivering: bool,
) -> Result:  # fmt: skip
    """The workload's opening and warm-up uncounted, then ``plan.deliveries`` counted (with
    their replies' delivery when ``delivering``)."""
    tracker = ReplyTracker(fake) if delivering else None
    async with LoadGenerator(fake, server.url, TOKEN, workload, people, tracker) as load:
        opening = plan.participants * workload.opening
        await load.closed_loop(plan.concurrency, count=opening + plan.warmup)
        if tracker is not None:
            await tracker.all_in(120.0)
        await server.start_counting()
        await load.closed_loop(plan.concurrency, count=plan.deliveries)
        if tracker is not None:
            await tracker.all_in(120.0)  # the replies' delivery is part of the cost
        instructions = await server.stop_counting()
    return {
        "deliveries": plan.deliveries,
        "instructions": instructions,
        "k_instructions_per_delivery": round(instructions / plan.deliveries / 1000, 1),
    }


async def crmbot_cost(kind: str, workload: Workload, plan: Plan, *, delivering: bool) -> Result:
    """One workload against crmbot's app on a fresh ``kind`` database."""
    async with fresh_database(kind) as (url, files), FakeRocketChat() as fake:
        people = await seeded_participants(url, files, fake, plan.participants)
        settings = server_settings(url, files, fake)
        spec = ServerSpec("crmbot", TOKEN, delivering, settings)
        async with counted_server(spec, files) as server:
            return await measure_cost(fake, server, workload, people, plan, delivering=delivering)


async def bare_cost(plan: Plan) -> Result:
    """The read workload's bodies against the bare handler (it reads no database)."""
    async with FakeRocketChat() as fake:
        people = bare_participants(fake, plan.participants)
        with tempfile.TemporaryDirectory(prefix="crmbot-cost-") as workdir:
            async with counted_server(ServerSpec("bare", TOKEN), Path(workdir)) as server:
                workload = read_workload(plan.participants)
                return await measure_cost(fake, server, workload, people, plan, delivering=False)


async def run_benchmark(plan: Plan, kinds: Sequence[str]) -> Result:
    """The bare handler, then each backend's workloads, paused and delivering."""
    bare = await bare_cost(plan)
    result: Result = {"benchmark": "webhook_cost", "plan": asdict(plan), "bare": bare}
    for kind in kinds:
        figures: Result = {}
        for workload in (read_workload(plan.participants), dialog_workload()):
            for mode, delivering in (("acks", False), ("e2e", True)):
                cost = await crmbot_cost(kind, workload, plan, delivering=delivering)
                ratio = cost["instructions"] / bare["instructions"]
                figures[f"{workload.name}_{mode}"] = cost | {"x_bare": round(ratio, 2)}
        result[kind] = figures
    return result


def table(result: Result) -> str:
    """The figures as a text table (thousands of instructions per delivery)."""
    rows = [f"{'':22}{'k instr/delivery':>18}{'x bare':>8}"]
    rows.append(f"{'bare handler':22}{result['bare']['k_instructions_per_delivery']:>18}{'':>8}")
    for kind in ("sqlite", "postgresql"):
        for name, cost in result.get(kind, {}).items():
            label = f"{kind} {name.replace('_', ' ')}"
            rows.append(f"{label:22}{cost['k_instructions_per_delivery']:>18}{cost['x_bare']:>8}")
    return "\n".join(rows)


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = arguments("bench.webhook_cost", __doc__, quick="fewer deliveries (CI)")
    parser.add_argument("--deliveries", type=int, help="deliveries counted per server")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Count and print; 2 when valgrind is not installed."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    missing = [tool for tool in ("valgrind", "callgrind_control") if shutil.which(tool) is None]
    if missing:
        print(f"bench.webhook_cost needs {' and '.join(missing)} (apt-get install valgrind)")
        return 2
    plan = QUICK if args.quick else FULL
    if args.deliveries is not None:
        plan = replace(plan, deliveries=max(1, args.deliveries))
    result = asyncio.run(run_benchmark(plan, args.backend or ["sqlite"]))
    report(result, table, json_only=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
