"""The mail ingest benchmark: mails/s for a 50 KB mail with one attachment, and parse cost.

``python -m bench.mail [--quick] [--json] [--backend sqlite|postgresql]``.
Every run gets a fresh, migrated database seeded with contacts, each with a linked room
(bench.common.seed). Each mail is about 50 KB: a short text body and one 35 KB PDF-like
attachment (base64 in the mail), From one seeded contact and To another, with its own
Message-ID. Each ingest stores the raw message and the attachment in the FileStore
(fsync'd), the email, two contact links, two files and two outbox rows, in one commit.
``sequential`` is one mail at a time (an SMTP client that waits for 250 before the next);
``concurrent`` keeps ``concurrency`` ingests in flight (several transports at once).
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, select

from bench.common import BenchUser, arguments, bench_store, report, seed
from bot.mail.ingest import MailIngest
from bot.mail.parse import parse_mail
from store.models import Email, Outbox, StoredFile

Result = dict[str, Any]
DOMAIN = "crm.localhost"
ATTACHMENT_BYTES = 35 * 1024  # ~48 KB once base64-encoded: a ~50 KB mail


@dataclass(frozen=True, slots=True)
class Plan:
    """How much to do per backend."""

    contacts: int
    mails: int
    concurrency: int
    runs: int


FULL = Plan(contacts=2000, mails=1000, concurrency=8, runs=3)
QUICK = Plan(contacts=200, mails=200, concurrency=8, runs=1)


def mail_bytes(n: int, sender: BenchUser, recipient: BenchUser) -> bytes:
    """Mail number ``n``: ~50 KB with one attachment whose bytes differ per mail."""
    message = EmailMessage()
    message["From"] = f"{sender.contact_name} <user{sender.index}@example.com>"
    message["To"] = f"{recipient.contact_name} <user{recipient.index}@example.com>"
    message["Cc"] = f"crm@{DOMAIN}"
    message["Subject"] = f"Pedido {n}: condiciones y contrato"
    message["Message-ID"] = f"<bench-{n}-{os.getpid()}@example.com>"
    message["Date"] = "Fri, 27 Nov 2026 10:00:00 +0100"
    message.set_content("Hola:\n\nAdjunto el contrato firmado.\n\nUn saludo\n" * 20)
    payload = (f"%PDF-1.4 mail {n} ".encode() * (ATTACHMENT_BYTES // 16 + 1))[:ATTACHMENT_BYTES]
    message.add_attachment(payload, maintype="application", subtype="pdf", filename="c.pdf")
    return message.as_bytes()


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` in 0..1)."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


async def _ingest_all(ingest: MailIngest, mails: Sequence[bytes], concurrency: int) -> list[float]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(raw: bytes) -> None:
        async with gate:
            started = time.perf_counter()
            result = await ingest.ingest(raw)
            latencies.append(time.perf_counter() - started)
        if result.duplicate or result.refused or len(result.contact_ids) != 2:
            raise RuntimeError(f"unexpected ingest result {result}")

    await asyncio.gather(*(one(raw) for raw in mails))
    return latencies


async def run(kind: str, plan: Plan, concurrency: int) -> Result:
    """One fresh database: ``plan.mails`` mails ingested ``concurrency`` at a time."""
    async with bench_store(kind) as store:
        users = (await seed(store, plan.contacts)).users
        ingest = MailIngest(
            store.sessions, store.files, max_bytes=25 * 1024 * 1024, mail_domain=DOMAIN
        )
        pairs = [(users[n % len(users)], users[(n + 1) % len(users)]) for n in range(plan.mails)]
        warm = [mail_bytes(-n - 1, *pairs[n]) for n in range(20)]
        mails = [mail_bytes(n, *pair) for n, pair in enumerate(pairs)]
        await _ingest_all(ingest, warm, concurrency)
        started = time.perf_counter()
        latencies = await _ingest_all(ingest, mails, concurrency)
        wall = time.perf_counter() - started
        await _check(store.sessions, plan.mails + len(warm))
    return {
        "mails": plan.mails,
        "mail_bytes": round(statistics.mean(len(raw) for raw in mails)),
        "concurrency": concurrency,
        "wall_s": round(wall, 3),
        "mails_per_s": round(plan.mails / wall, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
    }


async def _check(sessions: Any, expected: int) -> None:
    async with sessions() as session:
        emails = await session.scalar(select(func.count()).select_from(Email))
        files = await session.scalar(select(func.count()).select_from(StoredFile))
        outbox = await session.scalar(select(func.count()).select_from(Outbox))
    if (emails, files, outbox) != (expected, 2 * expected, 2 * expected):
        raise RuntimeError(f"{emails} emails, {files} files, {outbox} outbox rows")


def parse_cost(samples: int = 200) -> Result:
    """CPU time of ``parse_mail`` alone for benchmark mails (no database, no disk)."""
    users = [BenchUser(i, f"user{i:05d}", "", i, f"Cliente{i:05d} Prueba") for i in range(2)]
    # Distinct mails (each has its own MIME boundary), as a real stream would be.
    mails = [mail_bytes(n, users[0], users[1]) for n in range(samples)]
    started = time.process_time()
    for raw in mails:
        parse_mail(raw)
    per_mail = (time.process_time() - started) / samples
    return {"parse_ms": round(per_mail * 1000, 3), "parses_per_s": round(1 / per_mail, 1)}


async def bench_backend(kind: str, plan: Plan) -> Result:
    """Sequential and concurrent runs (median of ``plan.runs`` each) on one backend."""
    result: Result = {}
    for label, concurrency in (("sequential", 1), ("concurrent", plan.concurrency)):
        runs = [await run(kind, plan, concurrency) for _ in range(plan.runs)]
        middle = sorted(runs, key=lambda r: r["mails_per_s"])[len(runs) // 2]
        result[label] = {**middle, "runs": [r["mails_per_s"] for r in runs]}
    return result


def table(results: Result) -> str:
    """The human summary."""
    lines = [f"{'backend':<11} {'mode':<11} {'mails/s':>8} {'p50 ms':>7} {'p99 ms':>7}  runs"]
    for kind, modes in results["backends"].items():
        for mode, r in modes.items():
            runs = "/".join(f"{value:.0f}" for value in r["runs"])
            lines.append(
                f"{kind:<11} {mode:<11} {r['mails_per_s']:>8.1f} {r['p50_ms']:>7.1f} "
                f"{r['p99_ms']:>7.1f}  {runs}"
            )
    parse = results["parse"]
    lines.append(f"parse only: {parse['parse_ms']} ms per mail ({parse['parses_per_s']}/s)")
    return "\n".join(lines)


async def main_async(plan: Plan, kinds: Sequence[str]) -> Result:
    """Every backend in turn; the JSON document."""
    return {
        "benchmark": "mail",
        "plan": {
            "contacts": plan.contacts,
            "mails": plan.mails,
            "concurrency": plan.concurrency,
            "runs": plan.runs,
        },
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "parse": parse_cost(),
        "backends": {kind: await bench_backend(kind, plan) for kind in kinds},
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the JSON document, then the table."""
    parser = arguments("bench.mail", __doc__, quick="one small run per mode (CI)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    plan = QUICK if args.quick else FULL
    results = asyncio.run(main_async(plan, args.backend or ["sqlite", "postgresql"]))
    report(results, table, json_only=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
