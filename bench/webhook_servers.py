"""The servers under test, each in its own process: crmbot's app, or a bare aiohttp handler.

A child process has its own event loop and, on a multi-core machine, its own core, so the
load generator and the fake Rocket.Chat do not share the server's CPU. The child binds a
free loopback port, runs ``web.run_app`` (as ``crmbot serve`` does) and reports the port
once it serves; SIGTERM shuts it down gracefully, the inbox committing what it holds.
"""

from __future__ import annotations

import asyncio
import cProfile
import hmac
import json
import logging
import multiprocessing
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Literal, Self

from aiohttp import web

from bot.heap import settle_after_startup
from bot.server import build_app
from bot.settings import Settings

READY_TIMEOUT = 120.0  # the child imports the whole application before it can serve
STOP_TIMEOUT = 60.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """What a child serves (picklable: it crosses to a spawned interpreter)."""

    app: Literal["crmbot", "bare"]
    token: str
    deliver: bool = False  # crmbot only: start the notifier (replies go to Rocket.Chat)
    settings: dict[str, str] = field(default_factory=dict)  # crmbot only: Settings values
    profile: str = ""  # a file for the cProfile of the server's whole life, if set


def bare_app(token: str) -> web.Application:
    """The baseline: read the body, parse the JSON, check the token, answer ``{}``."""
    expected = token.encode()

    async def handle(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        given = body.get("token") if isinstance(body, dict) else None
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), expected):
            return web.json_response({"error": "invalid or missing token"}, status=401)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/webhooks/rocketchat", handle)
    return app


def _application(spec: ServerSpec) -> web.Application:
    if spec.app == "bare":
        app = bare_app(spec.token)
    else:
        settings = Settings(_env_file=None, webhook_token=spec.token, **spec.settings)  # type: ignore[arg-type]
        app = build_app(settings, deliver=spec.deliver)
    settle_after_startup(app)  # as `crmbot serve` does; the bare handler too, for a fair ratio
    return app


def _serve(spec: ServerSpec, ready: Connection) -> None:
    """The child's main: serve until SIGTERM; sends the port once requests are answered."""
    serve(spec, ready.send)


def serve(spec: ServerSpec, report_port: Callable[[int], None]) -> None:
    """Serve ``spec`` on a free loopback port until SIGTERM; ``report_port`` once serving."""
    logging.basicConfig(level=logging.WARNING, format="server %(levelname)s %(name)s: %(message)s")
    sock = socket.create_server(("127.0.0.1", 0), backlog=1024)
    port = sock.getsockname()[1]

    def announce(*_lines: object) -> None:
        report_port(port)

    profiler = cProfile.Profile() if spec.profile else None
    if profiler is not None:
        profiler.enable()
    web.run_app(
        _application(spec), sock=sock, access_log=None, print=announce, shutdown_timeout=25.0
    )
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(spec.profile)


class ServerProcess:
    """``async with ServerProcess(spec) as server:`` serves on ``server.url`` meanwhile."""

    def __init__(self, spec: ServerSpec) -> None:
        # Children fork from a server process that has imported the application once: a
        # clean interpreter each (nothing of this one's loop or threads), without paying
        # the imports at every start.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        self._ready, self._child_end = context.Pipe(duplex=False)
        self._process = context.Process(target=_serve, args=(spec, self._child_end), daemon=True)
        self.url = ""

    async def __aenter__(self) -> Self:
        self._process.start()
        self._child_end.close()  # the child's copy is the only one left: EOF if it dies
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, self._ready.poll, READY_TIMEOUT):
            self._process.kill()
            raise RuntimeError(f"the server did not start (exit code {self._process.exitcode})")
        try:
            port = self._ready.recv()
        except EOFError:
            await asyncio.get_running_loop().run_in_executor(None, self._process.join)
            raise RuntimeError(f"the server exited with {self._process.exitcode}") from None
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def stop(self) -> None:
        """SIGTERM, as an operator would send; a child that does not exit in time is killed."""
        if self._process.exitcode is not None:
            return
        self._process.terminate()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._process.join, STOP_TIMEOUT)
        if self._process.exitcode is None:
            self._process.kill()
            await loop.run_in_executor(None, self._process.join)
            raise RuntimeError("the server did not stop on SIGTERM")
        if self._process.exitcode != 0:
            raise RuntimeError(f"the server exited with {self._process.exitcode}")

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far, all its threads included."""
        with open(f"/proc/{self._process.pid}/stat") as stat:
            # Fields after the command name (which may hold spaces) start at the state.
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def spec_argument(spec: ServerSpec) -> str:
    """``spec`` as the one argument of ``python -m bench.webhook_servers``."""
    return json.dumps(asdict(spec))


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.webhook_servers SPEC_JSON``: serve; print the port once serving.

    For a server under a tool that must start the interpreter itself (valgrind).
    """
    (argument,) = sys.argv[1:] if argv is None else argv
    spec = ServerSpec(**json.loads(argument))
    serve(spec, lambda port: print(port, flush=True))


if __name__ == "__main__":
    main()
