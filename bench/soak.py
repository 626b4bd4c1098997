"""The soak: many users on `crmbot serve` and the fake Rocket.Chat for minutes, with webhook
redeliveries and Rocket.Chat outages; nothing may be answered twice or lost, and the
server's memory must not grow.

``python -m bench.soak [--quick] [--json] [--backend sqlite|postgresql] [--minutes M]
[--users N] [--rooms R] [--max-messages K] [--mail webhook|smtp]``.

The database is prepared through the command line (`crmbot db upgrade`, `crmbot demo-data`,
`crmbot users add`), `crmbot serve` runs as a child process, and the fake Rocket.Chat
(tests/fakes) runs in this process: users talk in the demo data's linked rooms, several to a
room, each in a thread of their own. Loopback only; bounded by time and by message count.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import arguments, cpu_seconds, postgres_database, report, sqlite_database
from bench.soak_checks import Expected, check_database, database_faults
from bench.soak_faults import Faults, fault_answers
from bench.soak_ledger import Ledger, now
from bench.soak_mail import SmtpMail, WebhookMail
from bench.soak_users import Driver, Pace, SoakUser, start_delays
from bench.soak_world import (
    ADMIN,
    EMAIL_SECRET,
    MAIL_DOMAIN,
    USER_ROLE,
    WEBHOOK_TOKEN,
    Channel,
    Contact,
    Room,
    ServeProcess,
    child_env,
    crmbot,
    extra_room_contacts,
    free_port,
    map_roles,
    mirror_rooms,
    read_world,
    wait_outbox_empty,
)
from tests.fakes.rocketchat import FakeRocketChat, FakeRoom

Result = dict[str, Any]
WEBHOOK = "/webhooks/rocketchat"


@dataclass(frozen=True, slots=True)
class Plan:
    """How big and how long."""

    users: int = 200
    rooms: int = 50
    minutes: float = 10.0
    max_messages: int = 150_000  # chat messages; past it a dialogue under way is cancelled
    think_s: float = 3.0  # mean pause between a user's actions (half of it between steps)
    redeliver: float = 0.05  # share of messages (and emails) delivered a second time
    episodes: int = 9  # Rocket.Chat fault episodes, spread over the run
    outage_s: float = 8.0  # how long an outage or rate-limit episode lasts
    fault_burst: int = 5  # sends whose answer is lost, per fail_after / close_after episode
    reply_timeout_s: float = 90.0  # a user waits this long for a reply before going on
    drain_s: float = 180.0  # after the users stop, time for the owed replies to arrive
    rss_every_s: float = 5.0
    mix: tuple[float, float, float, float] = (0.35, 0.30, 0.20, 0.15)  # wizard/reads/file/mail
    mail: str = "webhook"  # or "smtp"
    seed: int = 20261128


FULL = Plan()
QUICK = Plan(
    users=24, rooms=8, minutes=0.4, think_s=1.0, episodes=3, outage_s=3.0, rss_every_s=1.0,
    drain_s=90.0,
)  # fmt: skip


# --- the run ----------------------------------------------------------------------------------
class Soak:
    """One run on one database: set up, load, drain, stop, check."""

    def __init__(self, plan: Plan, database_url: str, workdir: Path) -> None:
        self.plan = plan
        self.url = database_url
        self.workdir = workdir
        self.files = workdir / "files"
        self.cli_env = child_env(database_url, self.files)
        self.rss: list[tuple[float, float]] = []  # (seconds since load start, MiB)
        self.phases: dict[str, float] = {}  # seconds each phase took
        self._phase_began = 0.0

    def _phase(self, name: str) -> None:
        """Close the phase under way, naming it ``name``."""
        moment = now()
        if self._phase_began:
            self.phases[name] = round(moment - self._phase_began, 2)
        self._phase_began = moment

    async def run(self) -> Result:
        """The whole soak; the JSON document."""
        load_start = os.getloadavg()[0]
        self._phase("start")
        await crmbot(self.cli_env, self.workdir, "db", "upgrade")
        async with FakeRocketChat(seed=self.plan.seed) as rc, aiohttp.ClientSession() as http:
            ledger = Ledger(rc.bot.id)
            rc.state.listeners.append(ledger.on_saved)
            serve, smtp_port = self._serve(rc)
            try:
                # The demo data goes in while the server starts: nobody talks to it before.
                await asyncio.gather(
                    crmbot(self.cli_env, self.workdir, "demo-data"), serve.start(http)
                )
                self._phase("database_and_serve")
                users, rooms_of_contact = await self._world(rc, http, serve)
                self._phase("rooms_and_users")
                send_mail = SmtpMail(smtp_port) if smtp_port else WebhookMail(http, serve.url)
                result, driver = await self._load(
                    rc, http, serve, ledger, users, rooms_of_contact, send_mail
                )
            finally:
                exit_code = await serve.stop()
                self._phase("serve_stop")
            result["serve"] = {"exit_code": exit_code, **serve.log_summary()}
            if exit_code != 0:
                result["serve"]["log_tail"] = serve.log_tail()
            chat_ids = Counter(m.id for m in rc.messages if m.user.id == rc.bot.id)
            await self._check(result, driver, users, chat_ids, rooms_of_contact)
            self._phase("check")
        result["phases_s"] = self.phases
        result["machine"] = {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg_1m_start": round(load_start, 2),
            "load_avg_1m_end": round(os.getloadavg()[0], 2),
        }
        return result

    async def _world(
        self, rc: FakeRocketChat, http: aiohttp.ClientSession, serve: ServeProcess
    ) -> tuple[list[SoakUser], dict[int, list[str]]]:
        """Roles, the fake's rooms and integrations, the users; and each contact's rooms."""
        channels, contacts = await read_world(self.url)
        usernames = [f"soak{i:04d}" for i in range(self.plan.users)]
        await map_roles(
            self.url, self.files, {**dict.fromkeys(usernames, USER_ROLE), ADMIN: "admin"}
        )
        # One integration per event, as `crmbot rocketchat setup` creates them.
        rc.add_outgoing_webhook(serve.url + WEBHOOK, WEBHOOK_TOKEN)
        rc.add_outgoing_webhook(serve.url + WEBHOOK, WEBHOOK_TOKEN, event="fileUploaded")
        fake_rooms = mirror_rooms(rc, channels)
        rooms = await self._rooms(rc, http, serve, channels, contacts, fake_rooms)
        if len(rooms) > len(channels):  # rooms were linked through the chat
            channels, _ = await read_world(self.url)
        rooms_of_contact: dict[int, list[str]] = {}
        for channel in channels:
            rooms_of_contact.setdefault(channel.contact_id, []).append(channel.room_id)
        return self._users(rc, rooms, usernames), rooms_of_contact

    def _serve(self, rc: FakeRocketChat) -> tuple[ServeProcess, int | None]:
        port = free_port()
        smtp_port = None
        if self.plan.mail == "smtp":  # CRMBOT_SMTP_PORT when the caller set one
            smtp_port = int(os.environ.get("CRMBOT_SMTP_PORT") or 0) or free_port()
        settings = {
            "http_port": str(port),
            "rocketchat_url": rc.url,
            "rocketchat_user_id": rc.bot.id,
            "rocketchat_token": rc.bot.token,
            "webhook_token": WEBHOOK_TOKEN,
            "email_webhook_secret": EMAIL_SECRET,
            "mail_domain": MAIL_DOMAIN,
        }
        if smtp_port:
            settings["smtp_port"] = str(smtp_port)
        env = child_env(self.url, self.files, **settings)
        return ServeProcess(env, self.workdir, port), smtp_port

    async def _rooms(
        self,
        rc: FakeRocketChat,
        http: aiohttp.ClientSession,
        serve: ServeProcess,
        channels: list[Channel],
        contacts: dict[int, Contact],
        fake_rooms: dict[str, FakeRoom],
    ) -> list[Room]:
        """The demo's linked rooms, and more linked through the chat (`!vincular <email>` by an
        admin) when the plan wants more rooms than the demo data has."""
        rooms = [
            Room(channel, contacts[channel.contact_id], fake_rooms[channel.room_id])
            for channel in channels[: self.plan.rooms]
        ]
        extra = self.plan.rooms - len(rooms)
        if extra > 0:
            admin = rc.add_user(ADMIN)
            for number, contact in enumerate(extra_room_contacts(channels, contacts, extra), 1):
                room = rc.add_room(f"soak-extra-{number}", members=[rc.bot, admin])
                await rc.emit_message(room, admin, f"!vincular {contact.email}")
                channel = Channel(room.id, room.name or "", contact.id)
                rooms.append(Room(channel, contact, room))
            await wait_outbox_empty(http, serve.url, 60)
        return rooms

    def _users(self, rc: FakeRocketChat, rooms: list[Room], usernames: list[str]) -> list[SoakUser]:
        users = []
        for index, username in enumerate(usernames):
            room = rooms[index % len(rooms)]
            fake = rc.add_user(username)
            rc.add_member(room.fake, fake)
            room.users.append(fake)
            users.append(SoakUser(index, fake, room, random.Random(self.plan.seed * 7919 + index)))
        return users

    async def _load(
        self,
        rc: FakeRocketChat,
        http: aiohttp.ClientSession,
        serve: ServeProcess,
        ledger: Ledger,
        users: list[SoakUser],
        rooms_of_contact: dict[int, list[str]],
        send_mail: WebhookMail | SmtpMail,
    ) -> tuple[Result, Driver]:
        """Threads, calibration, then the users until the bounds, then the drain."""
        plan = self.plan
        duration = plan.minutes * 60
        faults = Faults(rc, plan.episodes, plan.outage_s, plan.fault_burst)
        clock = _Bounds(duration, plan.max_messages, lambda: faults.finished)
        driver = Driver(
            rc,
            ledger,
            Pace(plan.think_s, plan.redeliver, plan.reply_timeout_s, plan.mix),
            http=http,
            serve_url=serve.url,
            send_mail=send_mail,
            rooms_of_contact=rooms_of_contact,
            may_start=lambda: clock.may_start(driver.messages),
        )
        ledger.recording = True
        await asyncio.gather(*(driver.open_thread(user) for user in users))
        self._phase("threads")
        calibration = await driver.calibrate(users[0])
        calibration_messages = driver.messages
        ledger.load_from = len(ledger.sent)  # latencies are of the load, not the calibration
        self._phase("calibration")
        rss_start = serve.rss_mib()
        cpu = (serve.cpu_s(), cpu_seconds())
        clock.begin(calibration_messages)
        started = clock.started
        sampler = asyncio.create_task(self._sample_rss(serve, started))
        injector = asyncio.create_task(faults.run(lambda: clock.progress(driver.messages), started))
        delays = start_delays(users, min(10.0, duration / 10))
        await asyncio.gather(
            *(driver.run(user, delay) for user, delay in zip(users, delays, strict=True))
        )
        load_s = now() - started
        sent = driver.messages - calibration_messages
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
        if not injector.done():  # only past the hard stop: the episode puts its knobs back
            injector.cancel()
        await asyncio.gather(injector, return_exceptions=True)
        self._phase("load")
        drained = await self._drain(http, serve, ledger)
        self._phase("drain")
        rss_end = serve.rss_mib()
        busy = now() - started
        cpu_serve, cpu_here = serve.cpu_s() - cpu[0], cpu_seconds() - cpu[1]
        return {
            "benchmark": "soak",
            "plan": dataclasses.asdict(plan),
            "load_s": round(load_s, 1),
            "drain_s": round(drained, 1),
            "calibration": calibration,
            "messages": {
                "sent": sent,
                "per_s": round(sent / load_s, 1) if load_s else 0.0,
                "calibration": calibration_messages,
                "acknowledged": sum(1 for s in ledger.load() if s.acked and s.kind != "mail"),
                "unacknowledged": ledger.unacknowledged,
                "thread_roots": driver.done.thread_roots,
                "rocketchat_retries": driver.done.rocketchat_retries,
                "redeliveries": dict(driver.done.redeliveries),
                "late_waits": ledger.late_waits,
            },
            "wizards": {
                "started": driver.done.wizards_started,
                "completed": len(driver.done.orders),
                "cancelled_at_the_end": driver.done.wizards_cancelled,
            },
            "emails": {"sent": sum(1 for s in ledger.load() if s.kind == "mail")},
            "faults": {"episodes": faults.log, "answers": fault_answers(rc)},
            "rss_mib": self._rss_report(rss_start, rss_end),
            # Share of one core over load and drain: the server, and this process (the users
            # and the fake Rocket.Chat), which compete for the same cores.
            "cpu_share": {
                "serve": round(cpu_serve / busy, 2),
                "soak_process": round(cpu_here / busy, 2),
            },
        }, driver

    async def _drain(
        self, http: aiohttp.ClientSession, serve: ServeProcess, ledger: Ledger
    ) -> float:
        """Wait until every owed reply is in and the outbox is empty, or ``drain_s`` passes."""
        began = now()
        try:
            async with asyncio.timeout(self.plan.drain_s):
                while True:
                    threads_done = all(len(t.arrivals) >= t.owed for t in ledger.threads.values())
                    if threads_done:
                        await wait_outbox_empty(http, serve.url, self.plan.drain_s)
                        if all(len(t.arrivals) >= t.owed for t in ledger.threads.values()):
                            break
                    await asyncio.sleep(0.2)
        except TimeoutError:
            pass
        return now() - began

    async def _sample_rss(self, serve: ServeProcess, started: float) -> None:
        while True:
            self.rss.append((now() - started, serve.rss_mib()))
            await asyncio.sleep(self.plan.rss_every_s)

    def _rss_report(self, start: float, end: float) -> Result:
        samples = self.rss
        report: Result = {
            "start": round(start, 1),
            "end": round(end, 1),
            "max": round(max([start, end, *(mib for _, mib in samples)]), 1),
            "samples": len(samples),
        }
        # The first sample of each minute of load, to see a trend (or its absence) at a glance.
        minutes: dict[int, float] = {}
        for seconds, mib in samples:
            minutes.setdefault(int(seconds // 60), round(mib, 1))
        report["by_minute"] = list(minutes.values())
        if len(samples) >= 3:
            report["slope_mib_per_min"] = _slope(samples)
            half = samples[len(samples) // 2 :]
            if len(half) >= 3:
                report["slope_second_half_mib_per_min"] = _slope(half)
        return report

    async def _check(
        self,
        result: Result,
        driver: Driver,
        users: list[SoakUser],
        chat_ids: Counter[str],
        rooms_of_contact: dict[int, list[str]],
    ) -> None:
        """The database's findings and the ledger's books, into ``result``."""
        ledger = driver.ledger
        done = driver.done
        expected = Expected(
            usernames={user.username for user in users},
            user_ids={user.fake.id for user in users},
            titles=[title for title, *_ in done.orders],
            files=done.files,
            mail_tokens=done.mails,
            chat_ids=chat_ids,
        )
        findings, saved = await check_database(self.url, expected)
        origin = {title: (room, posted) for title, room, _, posted in done.orders}
        for order in saved:
            if order.title in origin:
                room, posted = origin[order.title]
                rooms = [r for r in rooms_of_contact.get(order.contact_id, []) if r != room]
                ledger.expect_notices(rooms, order.number, "wizard", posted)
        books = ledger.reckon()
        in_database = database_faults(findings)
        result.update(books)
        result["duplicates"] = int(books["duplicates"]) + in_database["duplicates"]
        result["lost"] = int(books["lost"]) + in_database["lost"]
        result["database"] = findings
        orders = findings["purchase_orders"]
        result["ok"] = (
            result["duplicates"] == 0
            and result["lost"] == 0
            and result["messages"]["unacknowledged"] == 0
            and isinstance(orders, dict)
            and orders["inexact"] == 0
            and findings["open_dialogs"] == 0
            and result["serve"]["exit_code"] == 0
        )


class _Bounds:
    """When the load stops: after ``duration`` seconds or ``cap`` messages, whichever comes
    first, once every fault episode has run (an episode needs traffic to mean anything);
    at twice the bounds in any case."""

    HARD_STOP = 2.0

    def __init__(self, duration: float, cap: int, faults_done: Callable[[], bool]) -> None:
        self.duration = duration
        self.cap = cap
        self.faults_done = faults_done
        self.started = now()
        self.base = 0  # messages sent before the load (calibration)

    def begin(self, base: int) -> None:
        self.started, self.base = now(), base

    def progress(self, messages: int) -> float:
        """How far along the run is, 0..1, by time or by count."""
        return max((now() - self.started) / self.duration, (messages - self.base) / self.cap)

    def may_start(self, messages: int) -> bool:
        """Whether a user may begin another action."""
        progress = self.progress(messages)
        return progress < 1 or (not self.faults_done() and progress < self.HARD_STOP)


def _slope(samples: Sequence[tuple[float, float]]) -> float:
    """MiB per minute of a least-squares line through (seconds, MiB)."""
    xs = [t / 60 for t, _ in samples]
    ys = [mib for _, mib in samples]
    if len(set(xs)) < 2:
        return 0.0
    return round(statistics.linear_regression(xs, ys).slope, 3)


async def run_soak(plan: Plan, database_url: str, workdir: Path) -> Result:
    """One soak against ``database_url`` (an empty or migrated database)."""
    return await Soak(plan, database_url, workdir).run()


@asynccontextmanager
async def _database(kind: str) -> AsyncIterator[str]:
    database = (
        sqlite_database()
        if kind == "sqlite"
        else postgres_database(name=f"crmbot_soak_{os.getpid()}")
    )
    async with database as url:
        yield url


async def soak_backend(plan: Plan, kind: str) -> Result:
    """A fresh database of ``kind`` and a working folder, both removed afterwards."""
    async with _database(kind) as url:
        with tempfile.TemporaryDirectory(prefix="crmbot-soak-") as folder:
            result = await run_soak(plan, url, Path(folder))
    return {"backend": kind, **result}


# --- the report -------------------------------------------------------------------------------
def table(results: Sequence[Result]) -> str:
    """The human summary."""
    head = (
        "backend",
        "msgs",
        "msg/s",
        "replies",
        "dups",
        "lost",
        "p50 ms",
        "p99 ms",
        "RSS start/end/max MiB",
        "MiB/min",
    )
    row = "{:<11}{:>7}{:>7}{:>9}{:>6}{:>6}{:>8}{:>8}  {:<22}{:>8}"
    lines = [row.format(*head)]
    for r in results:
        chat, rss, messages = r["latency_ms"]["chat"], r["rss_mib"], r["messages"]
        lines.append(
            row.format(
                r["backend"],
                messages["sent"],
                f"{messages['per_s']:.1f}",
                r["replies_delivered"],
                r["duplicates"],
                r["lost"],
                f"{chat['p50']:.0f}",
                f"{chat['p99']:.0f}",
                f"{rss['start']:.0f}/{rss['end']:.0f}/{rss['max']:.0f}",
                f"{rss.get('slope_mib_per_min', 0.0):.2f}",
            )
        )
        kinds = ", ".join(
            f"{kind} {v['p50']:.0f}/{v['p99']:.0f}"
            for kind, v in r["latency_ms"].items()
            if kind != "chat" and v["n"]
        )
        lines.append(f"  p50/p99 ms by kind: {kinds}")
        lines.append(
            f"  wizards {r['wizards']['completed']}/{r['wizards']['started']}, "
            f"emails {r['emails']['sent']}, redeliveries {r['messages']['redeliveries']}, "
            f"faults {r['faults']['answers']}, load avg {r['machine']['load_avg_1m_start']}"
            f"→{r['machine']['load_avg_1m_end']}, ok: {r['ok']}"
        )
    return "\n".join(lines)


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = arguments("bench.soak", __doc__, quick="about 25 s of load (CI)")
    parser.add_argument("--minutes", type=float, help="load duration")
    parser.add_argument("--users", type=int)
    parser.add_argument("--rooms", type=int)
    parser.add_argument("--max-messages", type=int, help="stop starting new actions after this")
    parser.add_argument("--think", type=float, help="mean pause between actions, seconds")
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--episodes", type=int, help="Rocket.Chat fault episodes (default: one a minute)"
    )
    parser.add_argument("--outage", type=float, help="seconds each outage episode lasts")
    parser.add_argument(
        "--mail",
        choices=["webhook", "smtp"],
        help="how emails arrive (default: smtp when CRMBOT_SMTP_PORT is set, else webhook)",
    )
    return parser.parse_args(argv)


def plan_from(args: argparse.Namespace) -> Plan:
    """The plan the options ask for."""
    plan = QUICK if args.quick else FULL
    changes: dict[str, Any] = {
        name: value
        for name, value in (
            ("minutes", args.minutes),
            ("users", args.users),
            ("rooms", args.rooms),
            ("max_messages", args.max_messages),
            ("think_s", args.think),
            ("seed", args.seed),
            ("episodes", args.episodes or _episodes_for(args.minutes)),
            ("outage_s", args.outage),
            ("mail", args.mail or ("smtp" if os.environ.get("CRMBOT_SMTP_PORT") else None)),
        )
        if value is not None
    }
    return dataclasses.replace(plan, **changes)


def _episodes_for(minutes: float | None) -> int | None:
    """One fault episode a minute, none in the first or the last; at least three."""
    return None if minutes is None else max(3, round(minutes) - 1)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak and print it; exit status 1 when anything was doubled or lost."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    plan = plan_from(args)
    kinds = args.backend or ["sqlite"]
    started = time.perf_counter()
    results = [asyncio.run(soak_backend(plan, kind)) for kind in kinds]
    document = {"results": results, "wall_s": round(time.perf_counter() - started, 1)}
    report(document, lambda _document: table(results), json_only=args.json)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
