"""Owns `POST /webhooks/rocketchat`: size limit, JSON, token, then the injected `accept`.

The order is the point (ARCHITECTURE convention 12): the body is capped while it is read,
parsed, and its `token` compared in constant time before anything is stored or looked up.
Answers follow Rocket.Chat's retry rules (ROCKETCHAT.md §1.7): 200 with a non-empty body
(`{}`) once the message is durably recorded, since an empty 200 is retried; 503 when the
core could not record it, or not before Rocket.Chat would give up waiting (20 s, after which
it never retries), since Rocket.Chat retries a 503 but never a 500 that has a body.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.chat import Incoming, TemporarilyUnavailable
from bot.metrics import Metrics
from webhooks.translate import Delivery, PayloadError, parse_delivery, skip_reason

log = logging.getLogger(__name__)

Accept = Callable[[Incoming], Awaitable[object]]
Handler = Callable[[web.Request], Awaitable[web.Response]]
MAX_BODY = 1024 * 1024  # CONTRACT §3
CHUNK = 64 * 1024
ACK_BODY = b"{}"  # non-empty: an empty 200 is retried (ROCKETCHAT.md §1.7)
# Rocket.Chat drops a delivery it waited 20 s for (ROCKETCHAT.md §1.2, §1.7); a 503 before
# then makes it retry, and the retry is deduplicated if the first attempt commits after all.
ACCEPT_TIMEOUT = 15.0


class Refused(Exception):
    """A request answered with an error status; ``kind`` labels the error metric."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The body, or `Refused(413)` as soon as it is known to exceed ``limit`` bytes.

    A declared Content-Length is refused before reading a byte; a chunked body is refused
    at the first chunk past the limit, so an endless body never fills memory. aiohttp then
    reads and discards what the client still sends (its lingering close, at most 10 s), so
    the client sees the 413 instead of a connection reset.
    """
    too_large = Refused(413, "too_large", f"body larger than {limit} bytes")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    body = bytearray()
    try:
        async for chunk in request.content.iter_chunked(CHUNK):
            body += chunk
            if len(body) > limit:
                raise too_large
    except web.RequestPayloadError as exc:
        raise Refused(400, "bad_request", f"unreadable body: {exc}") from exc
    return bytes(body)


def parse_object(raw: bytes) -> dict[str, object]:
    """The body as a JSON object, or `Refused(400)`."""
    try:
        body: object = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, absurd nesting
        raise Refused(400, "bad_request", "body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise Refused(400, "bad_request", "body must be a JSON object")
    return body


def check_token(body: dict[str, object], expected: bytes) -> None:
    """`Refused(401)` unless the body's `token` equals ``expected`` (constant time)."""
    token = body.get("token")
    if not isinstance(token, str) or not hmac.compare_digest(token.encode(), expected):
        raise Refused(401, "unauthorized", "invalid or missing token")


def _acknowledged() -> web.Response:
    """200 ``{}``: recorded. The body is written out, not encoded again at every delivery."""
    return web.Response(body=ACK_BODY, content_type="application/json")


class RocketChatWebhook:
    """Rocket.Chat's outgoing-webhook deliveries; `handle` is the aiohttp handler.

    ``accept`` resolves once the message is durably recorded. Its wait may be cancelled
    (timeout), so it must keep recording on its own, as the inbox's writer task does.
    """

    def __init__(
        self,
        accept: Accept,
        *,
        token: str,
        bot_user_id: str | None,
        bot_username: str,
        max_body: int = MAX_BODY,
        accept_timeout: float = ACCEPT_TIMEOUT,
        metrics: Metrics | None = None,
    ) -> None:
        if not token:
            raise ValueError("the webhook token must not be empty")
        self._accept = accept
        self._expected = token.encode()
        self._bot_user_id = bot_user_id
        self._bot_username = bot_username
        self._max_body = max_body
        self._accept_timeout = accept_timeout
        self._metrics = metrics or Metrics()

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one delivery, timing it."""
        started = time.perf_counter()
        try:
            return await self._answer(request)
        finally:
            self._metrics.webhook_latency.observe(time.perf_counter() - started)

    async def _authenticated(self, request: web.Request) -> Delivery:
        body = parse_object(await read_limited(request, self._max_body))
        check_token(body, self._expected)
        try:
            return parse_delivery(body)
        except PayloadError as exc:
            raise Refused(400, "bad_request", str(exc)) from exc

    async def _answer(self, request: web.Request) -> web.Response:
        try:
            delivery = await self._authenticated(request)
        except Refused as refused:
            log.warning("webhook from %s refused: %s", request.remote, refused.message)
            self._metrics.error(refused.kind)
            return web.json_response({"error": refused.message}, status=refused.status)
        if skip_reason(delivery, bot_user_id=self._bot_user_id, bot_username=self._bot_username):
            self._metrics.message("ignored")
            return _acknowledged()
        try:
            # Only the wait is cancelled on timeout: the inbox still handles the message.
            async with asyncio.timeout(self._accept_timeout):
                outcome = await self._accept(delivery.incoming)
        except TemporarilyUnavailable as exc:
            log.warning("message %s not recorded yet: %s", delivery.incoming.message_id, exc)
            self._metrics.error("accept_failed")
            return web.json_response({"error": "temporarily unavailable"}, status=503)
        except Exception:
            # The batch did not commit (database down, say) or is too slow: ask Rocket.Chat
            # to deliver it again rather than lose it.
            log.exception("message %s could not be recorded", delivery.incoming.message_id)
            self._metrics.error("accept_failed")
            return web.json_response({"error": "temporarily unavailable"}, status=503)
        self._metrics.message(str(outcome) if isinstance(outcome, str) else "accepted")
        return _acknowledged()


def rocketchat_webhook(
    accept: Accept,
    *,
    token: str,
    bot_user_id: str | None,
    bot_username: str,
    max_body: int = MAX_BODY,
    accept_timeout: float = ACCEPT_TIMEOUT,
    metrics: Metrics | None = None,
) -> Handler:
    """The `POST /webhooks/rocketchat` handler over an injected ``accept``."""
    return RocketChatWebhook(
        accept,
        token=token,
        bot_user_id=bot_user_id,
        bot_username=bot_username,
        max_body=max_body,
        accept_timeout=accept_timeout,
        metrics=metrics,
    ).handle
