"""A throwaway Dovecot IMAP server on loopback for the IMAP tests (EMAIL.md §2(b), §7).

Debian's `dovecot-imapd` (which `.ci/run` installs) runs in the foreground from its own
config and mail directories under a temporary folder, on a free port, with plaintext login
on 127.0.0.1 only; the system's /etc/dovecot is never read. Each test gets a mailbox of its
own (one of the users written to its passwd-file at start), so one server serves a whole
module. Without `dovecot` (or without root, which it needs to switch to the
mail user `nobody`) the tests are skipped locally and fail in CI, where it must be there.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aioimaplib
import pytest

HOST = "127.0.0.1"
START_TIMEOUT = 15.0  # a guard against a server that never comes up, not a timing assumption
STOP_TIMEOUT = 20.0
# Users are written before the start: Dovecot's passwd-file cache may miss a later change
# made within the same second.
USERS = 24

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = {host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# A wrong password is answered at once and earns loopback no delay on later logins (the
# auth penalty is off when the auth process cannot reach its anvil socket).
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u
{capability}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/mail/%u
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@dataclass(frozen=True)
class Mailbox:
    """One user's mailbox on the test server."""

    host: str
    port: int
    user: str
    password: str

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[aioimaplib.IMAP4]:
        """A logged-in client with INBOX selected, logged out and closed afterwards."""
        client = aioimaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            await client.wait_hello_from_server()
            assert (await client.login(self.user, self.password)).result == "OK"
            assert (await client.select("INBOX")).result == "OK"
            yield client
            await client.logout()
        finally:
            # Closed here: the server's close after LOGOUT may reach us after the test ends.
            if client.protocol.transport is not None:
                client.protocol.transport.close()

    async def append(self, *messages: bytes) -> None:
        """Deliver ``messages`` into INBOX, unseen."""
        async with self.session() as client:
            for raw in messages:
                assert (await client.append(raw, mailbox="INBOX")).result == "OK"

    async def unseen(self) -> list[int]:
        """UIDs of the INBOX messages without `\\Seen`."""
        async with self.session() as client:
            found = await client.uid_search("UNSEEN", charset=None)
        return [int(uid) for line in found.lines[:-1] for uid in line.split() if uid.isdigit()]


@dataclass
class Dovecot:
    """A running test server; `mailbox()` hands out the next unused user."""

    root: Path
    port: int
    process: subprocess.Popen[bytes]
    users: list[Mailbox]

    def mailbox(self) -> Mailbox:
        if not self.users:
            raise RuntimeError(f"all {USERS} test mailboxes are used: raise USERS")
        return self.users.pop(0)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def unavailable() -> str | None:
    """Why Dovecot cannot run here, or None."""
    if shutil.which("dovecot") is None:
        return "dovecot is not installed (apt-get install dovecot-imapd)"
    if os.geteuid() != 0:
        return "the test Dovecot needs root to run its mail processes as nobody"
    return None


def require_dovecot() -> None:
    """Skip without Dovecot; in CI (`CI` set) fail, since .ci/run installs it."""
    problem = unavailable()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)


@contextlib.contextmanager
def running_dovecot(*, idle: bool = True) -> Iterator[Dovecot]:
    """A Dovecot on a free loopback port; ``idle=False`` leaves IDLE out of its capabilities."""
    require_dovecot()
    root = Path(tempfile.mkdtemp(prefix="crmbot-dovecot-"))
    try:
        root.chmod(0o755)  # the mail processes run as nobody and must reach mail/
        (root / "mail").mkdir()
        shutil.chown(root / "mail", "nobody", "nogroup")
        port = _free_port()
        users = [
            Mailbox(HOST, port, f"crm-{n}@example.test", secrets.token_hex(8)) for n in range(USERS)
        ]
        lines = "".join(f"{u.user}:{{PLAIN}}{u.password}\n" for u in users)
        (root / "users").write_text(lines)
        # Without IDLE in the list a client must poll (the list is the rest of 2.3's).
        capability = "" if idle else "imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID UIDPLUS"
        config = root / "dovecot.conf"
        config.write_text(CONFIG.format(root=root, host=HOST, port=port, capability=capability))
        process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = Dovecot(root, port, process, users)
        try:
            _wait_ready(server)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_ready(server: Dovecot) -> None:
    """Until the server greets (its login process has its auth ready), within a bound."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"dovecot exited at start:\n{server.log()}")
        try:
            with (
                socket.create_connection((HOST, server.port), timeout=5) as connection,
                connection.makefile("rb") as reader,
            ):
                greeting = reader.readline()
                connection.sendall(b"a LOGOUT\r\n")
            if greeting.startswith(b"* OK"):
                return
        except OSError:
            pass
        time.sleep(0.02)  # between connection attempts while the server starts
    raise RuntimeError(f"dovecot did not greet within {START_TIMEOUT} s:\n{server.log()}")
