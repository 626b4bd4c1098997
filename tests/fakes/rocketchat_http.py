"""Owns the fake's HTTP plumbing around the routes: Rocket.Chat's JSON and error shapes
(§2.2), authentication (§2.1) and rate limiting (§2.3), plus the app/request keys."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

from aiohttp import web

from tests.fakes.rocketchat_model import FakeUser, JsonObj
from tests.fakes.rocketchat_state import Clock, FakeState

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATE_KEY = web.AppKey("rocketchat_state", FakeState)
USER_KEY = web.RequestKey("rocketchat_user", FakeUser)

# Routes reachable without X-User-Id/X-Auth-Token (§2.1: every /api/v1 route but login).
PUBLIC_ROUTES = frozenset({"/api/v1/login"})

# Router.ts sets these on every JSON response (§2.2).
JSON_HEADERS = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
}


def json_response(
    body: JsonObj, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return web.Response(status=status, body=data, headers={**JSON_HEADERS, **(headers or {})})


def success(body: JsonObj) -> web.Response:
    """`API.v1.success()` adds `success:true` to object bodies (§2.1)."""
    return json_response({**body, "success": True})


class ApiError(Exception):
    """An error answer in one of Rocket.Chat's documented shapes (§2.2)."""

    def __init__(self, status: int, body: JsonObj) -> None:
        super().__init__(body.get("error"))
        self.status = status
        self.body = body

    @classmethod
    def meteor(cls, error_type: str, reason: str | None = None) -> ApiError:
        """A thrown Meteor.Error: 400, message `"<reason> [<type>]"` plus errorType (§2.2)."""
        message = f"{reason} [{error_type}]" if reason else f"[{error_type}]"
        return cls(400, {"success": False, "error": message, "errorType": error_type})

    @classmethod
    def failure(cls, error: str | None = None, error_type: str | None = None) -> ApiError:
        """`API.v1.failure(...)` or a plain JS Error: 400, no errorType unless given (§2.2)."""
        body: JsonObj = {"success": False}
        if error is not None:
            body["error"] = error
        if error_type is not None:
            body["errorType"] = error_type
        return cls(400, body)

    @classmethod
    def invalid_body(cls, messages: list[str]) -> ApiError:
        """Typed-route ajv body errors: `invalid-params`, messages joined, no suffix (§2.2)."""
        error = "\n ".join(messages)
        return cls(400, {"success": False, "errorType": "invalid-params", "error": error})

    @classmethod
    def invalid_query(cls, messages: list[str]) -> ApiError:
        """Bad query parameters carry `error-invalid-params` (§2.2)."""
        error = "\n ".join(messages)
        return cls(400, {"success": False, "errorType": "error-invalid-params", "error": error})

    @classmethod
    def forbidden(cls) -> ApiError:
        """`API.v1.forbidden()` with no message in 8.x (§2.2)."""
        return cls(403, {"success": False, "error": "forbidden"})


def error_body(status: int) -> JsonObj:
    """The §2.2 body for a bare status; other statuses get their reason phrase."""
    known = {
        401: "You must be logged in to do this.",
        404: "Resource not found",
        500: "Internal server error",
        503: "Service Unavailable",
    }
    return {"success": False, "error": known.get(status, HTTPStatus(status).phrase)}


async def json_object(request: web.Request) -> JsonObj:
    """The request's JSON object body; a non-object fails like ajv's `type: object`."""
    try:
        data: object = await request.json()
    except ValueError as exc:  # malformed JSON: RC's body parser rejects it with a 400
        raise ApiError.failure(f"Invalid JSON body: {exc}") from exc
    if not isinstance(data, dict):
        raise ApiError.invalid_body(["must be object"])
    return {str(k): v for k, v in data.items()}


def current_user(request: web.Request) -> FakeUser:
    return request[USER_KEY]


@dataclass
class RateRule:
    calls: int = 10
    window_ms: int = 60_000


@dataclass
class RateLimiter:
    """Meteor's RateLimiter as the REST API applies it: a fixed window per (route, IP,
    user), counted after the increment; defaults 10 calls / 60 000 ms (§2.3)."""

    clock: Clock
    enabled: bool = True
    default: RateRule = field(default_factory=RateRule)
    per_route: dict[str, RateRule] = field(default_factory=dict)
    _windows: dict[tuple[str, str, str], tuple[float, int]] = field(default_factory=dict)

    def check(self, route: str, ip: str, user: FakeUser | None) -> tuple[bool, dict[str, str]]:
        """(allowed, X-RateLimit-* headers), or (True, {}) when the call is not checked."""
        if not self.enabled or (user is not None and user.bypasses_rate_limit):
            return True, {}
        rule = self.per_route.get(route, self.default)
        now_ms = self.clock() * 1000
        key = (route, ip, user.id if user else "")
        start, count = self._windows.get(key, (now_ms, 0))
        if now_ms >= start + rule.window_ms:
            start, count = now_ms, 0
        count += 1
        self._windows[key] = (start, count)
        time_to_reset = start + rule.window_ms - now_ms
        headers = {
            "X-RateLimit-Limit": str(rule.calls),
            "X-RateLimit-Remaining": str(max(rule.calls - count, 0)),
            # An absolute epoch in milliseconds, Date.now() + timeToReset (§2.3).
            "X-RateLimit-Reset": str(int(now_ms + time_to_reset)),
        }
        return count <= rule.calls, headers

    def too_many(self, headers: dict[str, str]) -> web.Response:
        wait_ms = int(headers["X-RateLimit-Reset"]) - self.clock() * 1000
        seconds = max(int(-(-wait_ms // 1000)), 0)  # Math.ceil(timeToReset / 1000)
        error = (
            "Error, too many requests. Please slow down. You must wait "
            f"{seconds} seconds before trying this endpoint again. [error-too-many-requests]"
        )
        return json_response({"success": False, "error": error}, 429, headers)  # no errorType


RATE_LIMITER_KEY = web.AppKey("rocketchat_rate_limiter", RateLimiter)


def _authenticate(request: web.Request) -> FakeUser | None:
    state = request.app[STATE_KEY]
    return state.authenticate(request.headers.get("X-User-Id"), request.headers.get("X-Auth-Token"))


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Auth, then the rate limit, then the route; ApiError becomes its JSON answer."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    if request.match_info.http_exception is not None:
        return json_response(error_body(404), 404)
    route = request.match_info.route.resource
    route_name = route.canonical if route is not None else request.path
    user: FakeUser | None = None
    if route_name not in PUBLIC_ROUTES:
        user = _authenticate(request)
        if user is None:
            return json_response(error_body(401), 401)
        request[USER_KEY] = user
    limiter = request.app[RATE_LIMITER_KEY]
    allowed, rate_headers = limiter.check(route_name, request.remote or "", user)
    if not allowed:
        return limiter.too_many(rate_headers)
    try:
        response = await handler(request)
    except ApiError as exc:
        response = json_response(exc.body, exc.status)
    response.headers.update(rate_headers)  # "on every checked response" (§2.3)
    return response
