"""A private, throwaway PostgreSQL cluster that a test may stop and start at will.

The machine's shared server (127.0.0.1:5432) serves every other test, so restarting it would
break them: this one lives in a temporary directory, on a free loopback port, with its socket
in that directory too. PostgreSQL refuses to run as root, so under root every command runs
as the `postgres` OS user (`runuser`), which then owns the directory. Without the server
binaries the test is skipped locally and fails in CI, where they must be there.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

HOST = "127.0.0.1"
OS_USER = "postgres"
# Guards against a server that never comes up or goes down, not timing assumptions.
COMMAND_TIMEOUT = 60
START_WAIT_SECONDS = 30


@dataclass(frozen=True)
class Binaries:
    initdb: str
    pg_ctl: str


@dataclass
class Cluster:
    """A running cluster; `stop` and `start` simulate the database server restarting."""

    root: Path
    port: int
    binaries: Binaries
    as_user: tuple[str, ...]

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@{HOST}:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        """The asyncpg form of ``url`` (for administration)."""
        return f"postgresql://postgres@{HOST}:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses={HOST} -c fsync=off"
        self._pg_ctl(
            "start", "-w", "-t", str(START_WAIT_SECONDS), "-l", str(self.log), "-o", options
        )

    def stop(self) -> None:
        """A fast shutdown: sessions are terminated and open transactions rolled back."""
        self._pg_ctl("stop", "-w", "-m", "fast")

    def server_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _pg_ctl(self, *args: str) -> None:
        _run([*self.as_user, self.binaries.pg_ctl, "-D", str(self.data), *args])


def find_binaries() -> Binaries | None:
    """initdb and pg_ctl of the newest installed server, or None."""
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    if versions:
        folder = Path(versions[-1]).parent
        return Binaries(str(folder / "initdb"), str(folder / "pg_ctl"))
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    return Binaries(initdb, pg_ctl) if initdb and pg_ctl else None


def _run_as() -> tuple[str, ...] | None:
    """The command prefix that runs the server as a non-root user; None when impossible."""
    if os.geteuid() != 0:
        return ()
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        return None
    runuser = shutil.which("runuser")
    return (runuser, "-u", OS_USER, "--") if runuser else None


def require_cluster() -> tuple[Binaries, tuple[str, ...]]:
    """What starting a cluster needs; skips (locally) or fails (in CI) without it."""
    binaries, as_user = find_binaries(), _run_as()
    problem = None
    if binaries is None:
        problem = "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    elif as_user is None:
        problem = f"running as root needs the `{OS_USER}` OS user and runuser to start PostgreSQL"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    assert binaries is not None
    assert as_user is not None
    return binaries, as_user


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    """A fresh cluster, started; stopped and deleted afterwards whatever happens."""
    binaries, as_user = require_cluster()
    root = Path(tempfile.mkdtemp(prefix="crmbot-pg-"))
    cluster = Cluster(root, _free_port(), binaries, as_user)
    try:
        if as_user:
            shutil.chown(root, OS_USER, OS_USER)
        _run([*as_user, binaries.initdb, "-D", str(cluster.data), "-U", "postgres",
              "--auth=trust", "-E", "UTF8", "--no-sync"])  # fmt: skip
        cluster.start()
        try:
            yield cluster
        finally:
            if (cluster.data / "postmaster.pid").exists():
                cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(command: list[str]) -> None:
    result = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port
