"""Owns `GET /healthz`: 200 while an injected ping (the database) answers, 503 otherwise."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

Ping = Callable[[], Awaitable[object]]
# A load balancer probes every few seconds: a ping that hangs must fail before it does.
PING_TIMEOUT = 5.0


def health_handler(
    ping: Ping, *, timeout: float = PING_TIMEOUT
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The `/healthz` handler over ``ping``."""

    async def handle(_request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(timeout):
                await ping()
        except Exception as exc:
            log.warning("health check failed: %s", str(exc) or type(exc).__name__)
            return web.json_response({"status": "unavailable"}, status=503)
        return web.json_response({"status": "ok"})

    return handle
