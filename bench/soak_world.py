"""The soak's world: a database prepared through the command line, `crmbot serve` as a child
process, and the fake Rocket.Chat's rooms and people mirroring the demo data's linked rooms.

Everything listens on 127.0.0.1 only. The server's output goes to a log file rather than a
pipe: a pipe nobody reads fills up during an outage's warnings and then blocks the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import aiohttp
from sqlalchemy import select

from bot import cli_store
from bot.settings import Settings
from store.db import create_engine, session_factory
from store.models import ChatChannel
from store.models import Contact as ContactRow
from tests.fakes.rocketchat import FakeRocketChat, FakeRoom, FakeUser

REPO = Path(__file__).resolve().parents[1]
ENV_KEEP = ("PATH", "HOME", "LANG", "SYSTEMROOT")
WEBHOOK_TOKEN = "soak-webhook-token-7Hq2"
EMAIL_SECRET = "soak-email-secret-3Kd9"
MAIL_DOMAIN = "crm.localhost"
USER_ROLE = "compras"  # creates purchase orders and reads everything (CONTRACT §7)
ADMIN = "soakadmin"  # links the rooms the demo data lacks (linking needs admin or ventas)
START_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_env(database_url: str, files: Path, **settings: str) -> dict[str, str]:
    """A clean environment for `crmbot` children: no stray CRMBOT_* from the caller."""
    env = {key: value for key, value in os.environ.items() if key in ENV_KEEP}
    env |= {f"CRMBOT_{name.upper()}": value for name, value in settings.items()}
    return env | {
        "CRMBOT_DATABASE_URL": database_url,
        "CRMBOT_FILES_DIR": str(files),
        # This checkout's code, whichever copy of crmbot happens to be installed.
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }


async def crmbot(env: dict[str, str], cwd: Path, *args: str) -> str:
    """Run `crmbot <args>` to the end; its stdout, or RuntimeError with its stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"crmbot {' '.join(args)}: {err.decode().strip()}")
    return out.decode()


@dataclass(frozen=True, slots=True)
class Channel:
    """A chat room linked to a contact (as `crmbot records channels` shows it)."""

    room_id: str
    room_name: str
    contact_id: int


@dataclass(frozen=True, slots=True)
class Contact:
    """A contact the soak's rooms are linked to."""

    id: int
    name: str
    email: str


async def read_world(database_url: str) -> tuple[list[Channel], dict[int, Contact]]:
    """Every linked room (demo rooms in room-number order) and every contact by id, read
    from the database directly: `crmbot records` twice would cost two interpreter starts."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            rooms = await session.execute(
                select(ChatChannel.room_id, ChatChannel.room_name, ChatChannel.contact_id)
            )
            people = await session.execute(
                select(ContactRow.id, ContactRow.first_name, ContactRow.last_name, ContactRow.email)
            )
            channels = [Channel(room, name, contact) for room, name, contact in rooms]
            contacts = {
                id_: Contact(id_, f"{first} {last}".strip(), email or "")
                for id_, first, last, email in people
            }
    finally:
        await engine.dispose()
    return sorted(channels, key=lambda c: (len(c.room_id), c.room_id)), contacts


async def map_roles(database_url: str, files: Path, users: dict[str, str]) -> None:
    """`crmbot users add <name> --role <role>` for each user, through the command's own code
    in this process: a process per user would take minutes for 200 users."""
    settings = Settings(database_url=database_url, files_dir=files)
    with contextlib.redirect_stdout(io.StringIO()):  # "added <name>: <role>" per user
        for username, role in users.items():
            await cli_store.users_add(settings, username, role)


class ServeProcess:
    """`crmbot serve` as a child process: started, probed, measured and stopped by SIGTERM."""

    def __init__(self, env: dict[str, str], cwd: Path, port: int) -> None:
        self.env = env
        self.cwd = cwd
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = cwd / "serve.log"
        self._log: IO[bytes] | None = None
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "start() first"
        return self._process.pid

    async def start(self, http: aiohttp.ClientSession) -> None:
        """Start it and wait until `/healthz` answers 200 (its database is reachable)."""
        self._log = self.log_path.open("wb")
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            cwd=self.cwd,
            env=self.env,
            stdout=self._log,
            stderr=self._log,
        )
        async with asyncio.timeout(START_TIMEOUT):
            while not await self._healthy(http):
                if self._process.returncode is not None:
                    raise RuntimeError(f"crmbot serve exited: {self.log_tail()}")
                await asyncio.sleep(0.1)

    async def _healthy(self, http: aiohttp.ClientSession) -> bool:
        try:
            async with http.get(self.url + "/healthz") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    def rss_mib(self) -> float:
        """The server's resident set size now (VmRSS of /proc/<pid>/status), in MiB."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024  # the value is in kB
        raise RuntimeError("no VmRSS line")

    async def stop(self, limit_s: float = 60.0) -> int:
        """SIGTERM and wait; its exit status (killed after ``limit_s``: -9)."""
        process = self._process
        if process is None:
            return 0
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(limit_s):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._log is not None:
            self._log.close()
        return process.returncode if process.returncode is not None else -9

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the server wrote."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def cpu_s(self) -> float:
        """CPU time the server has used so far (user + system, /proc/<pid>/stat)."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15
        return ticks / os.sysconf("SC_CLK_TCK")

    def log_summary(self, examples: int = 5) -> dict[str, object]:
        """How many ERROR and WARNING lines and tracebacks the server logged, with a few
        distinct examples."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        flagged = [line for line in text.splitlines() if "ERROR" in line or "WARNING" in line]
        return {
            "errors": sum(1 for line in flagged if "ERROR" in line),
            "warnings": sum(1 for line in flagged if "WARNING" in line),
            "tracebacks": text.count("Traceback (most recent call last)"),
            "examples": list(dict.fromkeys(line[:240] for line in flagged))[:examples],
        }


async def metric(http: aiohttp.ClientSession, serve_url: str, name: str) -> float:
    """One unlabelled sample from the server's `/metrics`."""
    async with http.get(serve_url + "/metrics") as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise LookupError(f"{name} is not in /metrics")


async def wait_outbox_empty(http: aiohttp.ClientSession, serve_url: str, limit_s: float) -> None:
    """Wait until every committed reply has been posted (`crmbot_outbox_depth` is 0)."""
    async with asyncio.timeout(limit_s):
        while True:
            if await metric(http, serve_url, "crmbot_outbox_depth") == 0:
                return
            await asyncio.sleep(0.05)


# --- the chat side ----------------------------------------------------------------------------
@dataclass(slots=True)
class Room:
    """A linked room the soak's users talk in."""

    channel: Channel
    contact: Contact
    fake: FakeRoom
    users: list[FakeUser] = field(default_factory=list)


def mirror_rooms(rc: FakeRocketChat, channels: list[Channel]) -> dict[str, FakeRoom]:
    """Every linked room as a public channel with the bot in it (it must be a member to
    download files, ROCKETCHAT.md §5); notices reach rooms nobody talks in too."""
    return {
        channel.room_id: rc.add_room(channel.room_name, room_id=channel.room_id, members=[rc.bot])
        for channel in channels
    }


def extra_room_contacts(
    channels: list[Channel], contacts: dict[int, Contact], n: int
) -> list[Contact]:
    """Contacts for ``n`` rooms beyond the demo set: those with one room first (so they have
    an address like every linked demo contact), then the rest in id order."""
    per_contact: dict[int, int] = {}
    for channel in channels:
        per_contact[channel.contact_id] = per_contact.get(channel.contact_id, 0) + 1
    ordered = sorted(contacts.values(), key=lambda c: (per_contact.get(c.id, 0) != 1, c.id))
    return ordered[:n]


def wall_clock() -> float:
    """Seconds since the epoch (for signed requests)."""
    return time.time()
