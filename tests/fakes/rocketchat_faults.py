"""Owns the fake's transport-level faults (fail, hang or drop the next requests; a proxy
outage) and the log of every request it answered."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal

from aiohttp import web

from tests.fakes.rocketchat_http import Handler, error_body, json_response

FaultKind = Literal["fail", "hang", "close"]
# "before": the route never runs. "after": the route runs (a message is stored) and only the
# answer is lost: the ambiguous case ROCKETCHAT.md §2.4's exactly-once recipe is about.
When = Literal["before", "after"]


@dataclass(frozen=True)
class RequestRecord:
    """One request as the fake saw it; `status` is None when no answer was sent."""

    method: str
    path: str
    query: str
    status: int | None
    fault: str | None = None


@dataclass(frozen=True)
class _Fault:
    kind: FaultKind
    status: int
    when: When
    path: str | None


def proxy_page(status: int) -> web.Response:
    """What a reverse proxy in front of a stopped Rocket.Chat serves: its own HTML page,
    not Rocket.Chat JSON (rocketchat-API raises RocketBadStatusCodeException on it, §6)."""
    title = f"{status} {HTTPStatus(status).phrase}"
    body = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}"
    body += "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    return web.Response(status=status, text=body, content_type="text/html")


class FaultControl:
    """Pending faults, taken first-come by matching requests, plus the request log."""

    def __init__(self) -> None:
        self.requests: list[RequestRecord] = []
        self.proxy_status: int | None = None
        self._pending: list[_Fault] = []
        self._hung: list[asyncio.Future[bool]] = []
        self._hung_event = asyncio.Event()
        self._transports: set[asyncio.Transport] = set()

    def add(self, kind: FaultKind, n: int, status: int, when: When, path: str | None) -> None:
        self._pending.extend(_Fault(kind, status, when, path) for _ in range(n))

    def take(self, path: str) -> _Fault | None:
        for index, fault in enumerate(self._pending):
            if fault.path is None or fault.path == path:
                return self._pending.pop(index)
        return None

    @property
    def hung_count(self) -> int:
        return sum(1 for f in self._hung if not f.done())

    async def wait_for_hung(self, n: int) -> None:
        while self.hung_count < n:
            self._hung_event.clear()
            await self._hung_event.wait()

    def release_hung(self, *, answer: bool) -> None:
        """Wake hung requests: answer them (True) or drop their connections (False)."""
        for future in self._hung:
            if not future.done():
                future.set_result(answer)
        self._hung.clear()

    def drop_connections(self) -> None:
        """Close every connection a request came in on, as a dying server would."""
        for transport in self._transports:
            transport.abort()
        self._transports.clear()

    def record(self, request: web.Request, status: int | None, fault: str | None = None) -> None:
        self.requests.append(
            RequestRecord(request.method, request.path, request.query_string, status, fault)
        )

    async def run(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.transport is not None:
            self._transports.add(request.transport)
        if self.proxy_status is not None:
            self.record(request, self.proxy_status, "outage")
            return proxy_page(self.proxy_status)
        fault = self.take(request.path)
        if fault is None:
            return await self._answer(request, handler)
        return await self._inject(fault, request, handler)

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self.record(request, exc.status)
            raise
        self.record(request, response.status)
        return response

    async def _inject(
        self, fault: _Fault, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        label = f"{fault.kind}-{fault.when}"
        response = await handler(request) if fault.when == "after" else None
        if fault.kind == "fail":
            self.record(request, fault.status, label)
            return json_response(error_body(fault.status), fault.status)
        if fault.kind == "hang" and await self._hang():
            if response is None:
                return await self._answer(request, handler)
            self.record(request, response.status, label)
            return response
        self.record(request, None, label)
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)  # never reaches the client: the socket is gone

    async def _hang(self) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._hung.append(future)
        self._hung_event.set()
        return await future


FAULTS_KEY = web.AppKey("rocketchat_faults", FaultControl)


class FaultKnobs:
    """The fault-injection methods of FakeRocketChat, over its `faults`."""

    faults: FaultControl

    def fail_next(
        self, n: int = 1, status: int = 500, *, path: str | None = None, when: When = "before"
    ) -> None:
        """The next n requests (to `path`, if given) get `status` with Rocket.Chat's §2.2 body.
        With when="after" the route runs first, so e.g. the message is stored anyway."""
        self.faults.add("fail", n, status, when, path)

    def hang_next(self, n: int = 1, *, path: str | None = None, when: When = "before") -> None:
        """The next n requests get no answer until `release_hung()` or `close()`."""
        self.faults.add("hang", n, 0, when, path)

    def close_next(self, n: int = 1, *, path: str | None = None, when: When = "before") -> None:
        """The next n requests have their connection dropped without an answer."""
        self.faults.add("close", n, 0, when, path)

    def release_hung(self, *, answer: bool = True) -> None:
        """Answer the hung requests normally, or (answer=False) drop their connections."""
        self.faults.release_hung(answer=answer)

    async def wait_for_hung(self, n: int = 1) -> None:
        """Return once n requests are hanging, so tests need not sleep."""
        await self.faults.wait_for_hung(n)


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    return await request.app[FAULTS_KEY].run(request, handler)
