"""`crmbot serve` as a real subprocess: start it, wait until it listens, kill it with SIGKILL
or stop it with SIGTERM, and start it again on the same port, database and files.

Also the two waits the process tests need: polling a condition until it holds (never a
fixed sleep) and the environment that points a serve process at a fake Rocket.Chat.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from tests.databases import TestDatabase
from tests.e2e.test_cli import ENV_KEEP
from tests.e2e.test_webhook import TOKEN
from tests.fakes.rocketchat import FakeRocketChat

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_PATH = "/webhooks/rocketchat"
# Guards against a process that never comes up or never goes away; not timing assumptions.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
POLL_INTERVAL = 0.02


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_env(
    rc: FakeRocketChat, database: TestDatabase, tmp_path: Path, port: int
) -> dict[str, str]:
    """A clean environment (no stray CRMBOT_* settings) for `crmbot serve` against ``rc``."""
    env = {key: value for key, value in os.environ.items() if key in ENV_KEEP}
    return env | {
        "CRMBOT_DATABASE_URL": database.url,
        "CRMBOT_HTTP_PORT": str(port),
        "CRMBOT_ROCKETCHAT_URL": rc.url,
        "CRMBOT_ROCKETCHAT_USER_ID": rc.bot.id,
        "CRMBOT_ROCKETCHAT_TOKEN": rc.bot.token,
        "CRMBOT_WEBHOOK_TOKEN": TOKEN,
        "CRMBOT_FILES_DIR": str(tmp_path / "files"),
        # This checkout's code, whichever copy of crmbot happens to be installed.
        "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
    }


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]], *, within: float = 20.0, what: str = "it"
) -> None:
    """Poll ``condition`` (plain or async) until it holds; fail naming ``what`` after
    ``within`` seconds."""
    try:
        async with asyncio.timeout(within):
            while True:
                held = condition()
                if held if isinstance(held, bool) else await held:
                    return
                await asyncio.sleep(POLL_INTERVAL)
    except TimeoutError:
        raise AssertionError(f"timed out after {within} s waiting for {what}") from None


class ServeProcess:
    """One `crmbot serve` (``python -m bot serve``) on a fixed port; restartable.

    stderr is read continuously once the server listens: a process whose log pipe fills
    up would block, and the log is kept for failure messages.
    """

    def __init__(self, env: Mapping[str, str], cwd: Path) -> None:
        self.env = dict(env)
        self.cwd = cwd
        self.port = int(self.env["CRMBOT_HTTP_PORT"])
        self.log: list[str] = []
        self.starts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str:
        return self.url + WEBHOOK_PATH

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int:
        assert self._process is not None, "start() first"
        return self._process.pid

    def log_text(self) -> str:
        return "".join(self.log)

    async def start(self) -> None:
        """Spawn the process and return once it says it is listening."""
        assert not self.running, "already running"
        self.starts += 1
        self.log.append(f"--- start {self.starts}\n")
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        stderr = self._process.stderr
        assert stderr is not None
        try:
            async with asyncio.timeout(START_TIMEOUT):
                while True:
                    line = (await stderr.readline()).decode(errors="replace")
                    if not line:
                        raise AssertionError(f"serve exited before listening:\n{self.log_text()}")
                    self.log.append(line)
                    if "listening on" in line:
                        break
        except BaseException:
            await self.kill()
            raise
        self._reader = asyncio.create_task(self._keep_reading(stderr))

    async def _keep_reading(self, stderr: asyncio.StreamReader) -> None:
        while line := await stderr.readline():
            self.log.append(line.decode(errors="replace"))

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, whatever was in flight is cut off."""
        await self._end(signal.SIGKILL)

    async def stop(self) -> int:
        """SIGTERM, the graceful shutdown; returns the exit status."""
        return await self._end(signal.SIGTERM)

    async def restart(self) -> None:
        """Kill the process if it still runs, then start a new one on the same port."""
        await self.kill()
        await self.start()

    async def _end(self, sig: signal.Signals) -> int:
        process = self._process
        if process is None:
            return 0
        if process.returncode is None:
            process.send_signal(sig)
        async with asyncio.timeout(STOP_TIMEOUT):
            status = await process.wait()
            if self._reader is not None:
                await self._reader  # EOF once the process is gone
        self._reader = None
        return status


@asynccontextmanager
async def serve_processes(
    envs: Sequence[Mapping[str, str]], cwd: Path
) -> AsyncIterator[list[ServeProcess]]:
    """Several serve processes, started side by side; those still running are killed on the
    way out."""
    serves = [ServeProcess(env, cwd) for env in envs]
    try:
        await asyncio.gather(*(serve.start() for serve in serves))
        yield serves
    finally:
        for serve in serves:
            await serve.kill()


@asynccontextmanager
async def serve_process(env: Mapping[str, str], cwd: Path) -> AsyncIterator[ServeProcess]:
    """One started serve process; killed on the way out if the test left it running."""
    async with serve_processes([env], cwd) as (serve,):
        yield serve
