"""Owns the one HTTP session to Rocket.Chat: auth headers, JSON answers, 429 waits, back-off."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
import orjson
from yarl import URL

from bot.transport.rocketchat.errors import AuthenticationError, TransportError

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]  # epoch seconds, like time.time
FormFactory = Callable[[], aiohttp.FormData]

# The reset is the server's clock and rounded to the millisecond: wait a little past it.
RESET_SLACK = 0.05


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one call tries before giving the failure back to its caller."""

    attempts: int = 4  # tries per call when Rocket.Chat is unreachable or answers 5xx
    base: float = 0.5  # first back-off, doubled each time up to ``cap``
    cap: float = 8.0
    rate_limit_waits: int = 5  # 429s waited out per call
    # §2.3: the default window is 60 s, so a reset further away is clock skew, not a wait.
    max_rate_wait: float = 60.0

    def backoff(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failure in a row."""
        return float(min(self.cap, self.base * 2 ** max(failures - 1, 0)))


@dataclass(frozen=True, slots=True)
class Answer:
    """A Rocket.Chat answer below 500: its status and JSON object (empty when not JSON)."""

    status: int
    body: Mapping[str, object]
    is_json: bool
    rate_reset_ms: int | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and self.body.get("success") is not False

    @property
    def error(self) -> str:
        return str(self.body.get("error") or "")

    @property
    def error_type(self) -> str:
        return str(self.body.get("errorType") or "")


class Unreachable(Exception):
    """No usable answer: network error, timeout or 5xx; the caller may try again.

    ``reached`` is False only when the request surely never got to Rocket.Chat (no
    connection, or a proxy's own 503 page), which matters for calls that cannot be
    checked afterwards (rooms.mediaConfirm).
    """

    def __init__(self, reason: str, *, reached: bool) -> None:
        super().__init__(reason)
        self.reached = reached


def _json_object(raw: bytes) -> tuple[Mapping[str, object], bool]:
    try:
        data: object = json.loads(raw)  # a JSON object's keys are always strings
    except ValueError:
        return {}, False  # e.g. a reverse proxy's HTML error page
    if not isinstance(data, dict):
        return {}, False
    return data, True


def _reset_ms(headers: Mapping[str, str]) -> int | None:
    try:
        return int(headers["X-RateLimit-Reset"])
    except (KeyError, ValueError):
        return None


class RestClient:
    """Calls ``/api/v1`` routes with the personal-access-token headers (§2.1)."""

    def __init__(
        self,
        base_url: str,
        user_id: str,
        token: str,
        *,
        timeout: float,
        clock: Clock,
        sleep: Sleep,
        policy: RetryPolicy,
    ) -> None:
        self.base = URL(base_url.rstrip("/"))
        self._auth = {"X-User-Id": user_id, "X-Auth-Token": token}
        # Every reply is one call: its URL and headers are built once per route, not each time.
        self._routes: dict[str, URL] = {}
        self._json_headers = {**self._auth, "Content-Type": "application/json"}
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep
        self.policy = policy
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"Accept": "application/json"},
                # The token headers authenticate every call; a cookie Rocket.Chat (or a
                # proxy) sets is never needed, so none is kept or matched per request.
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("use the transport as `async with RocketChatTransport(...)`")
        return self._session

    def auth_for(self, url: URL) -> dict[str, str]:
        """The auth headers, but only for Rocket.Chat itself: never leak the token elsewhere."""
        return dict(self._auth) if url.origin() == self.base.origin() else {}

    def api(self, route: str) -> URL:
        url = self._routes.get(route)
        if url is None:
            url = self._routes[route] = URL(f"{self.base}/api/v1/{route}")
        return url

    async def call(
        self,
        method: str,
        route: str,
        *,
        json: Mapping[str, object] | None = None,
        params: Mapping[str, str] | None = None,
        form: FormFactory | None = None,
    ) -> Answer:
        """One request; after a 429 it is sent again once the window resets (§2.3: the
        limiter rejects before the route runs, so nothing happened)."""
        url = self.api(route)
        for waits in range(self.policy.rate_limit_waits + 1):
            answer = await self._once(method, url, json, params, form)
            if answer.status != 429:
                return answer
            if waits < self.policy.rate_limit_waits:
                await self._wait_for_reset(answer)
        # Several windows waited out already: hand it back rather than multiply the waits.
        raise TransportError(f"{route}: still rate limited (HTTP 429)")

    async def _once(
        self,
        method: str,
        url: URL,
        body: Mapping[str, object] | None,
        params: Mapping[str, str] | None,
        form: FormFactory | None,
    ) -> Answer:
        # A FormData is consumed by one request, hence a factory for each attempt.
        data: aiohttp.FormData | bytes | None = form() if form is not None else None
        # ``url`` is one of Rocket.Chat's own API routes (``api``), so the token goes with it;
        # auth_for's origin check is for the URLs a message hands us (file downloads).
        headers = self._auth
        if body is not None:
            # orjson writes the same JSON as aiohttp's json= would, in a fraction of the time.
            data, headers = orjson.dumps(body), self._json_headers
        try:
            async with self.session.request(
                method, url, params=params, data=data, headers=headers
            ) as response:
                raw = await response.read()
                status, reset = response.status, _reset_ms(response.headers)
        except aiohttp.ClientConnectorError as exc:
            raise Unreachable(f"cannot connect: {exc}", reached=False) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unreachable(describe(exc), reached=True) from exc
        parsed, is_json = _json_object(raw)
        answer = Answer(status, parsed, is_json, reset)
        if status >= 500:
            # A proxy's own 503 page means no Rocket.Chat behind it (the fake's docstring).
            reached = is_json or status != 503
            raise Unreachable(f"HTTP {status}: {answer.error or 'server error'}", reached=reached)
        if status == 401:
            raise AuthenticationError(f"{url.path}: HTTP 401 {answer.error}".rstrip())
        return answer

    async def _wait_for_reset(self, answer: Answer) -> None:
        # X-RateLimit-Reset is an absolute epoch in ms and there is no Retry-After (§2.3).
        if answer.rate_reset_ms is None:
            delay = self.policy.backoff(1)
        else:
            delay = answer.rate_reset_ms / 1000 - self.clock()
        await self.sleep(min(max(delay, 0.0), self.policy.max_rate_wait) + RESET_SLACK)

    async def retrying(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` again after each Unreachable, backing off exponentially; after
        ``policy.attempts`` failures raise TransportError so the caller keeps the work queued."""
        failures = 0
        while True:
            try:
                return await attempt()
            except Unreachable as exc:
                failures += 1
                if failures >= self.policy.attempts:
                    raise TransportError(f"{what}: {exc} ({failures} attempts)") from exc
                await self.sleep(self.policy.backoff(failures))


def describe(exc: BaseException) -> str:
    """A one-line reason for a network failure (a bare TimeoutError has no message)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
