"""Owns `POST /webhooks/email`: size cap, HMAC signature, clock window, replay guard, then ingest.

CONTRACT §3: one raw RFC 822 message (`Content-Type: message/rfc822`) signed with header
`X-Crmbot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`. The body is
capped while it is read, the signature compared in constant time, and only then is anything
looked up or stored; a signature is accepted once (a replay is refused, in every process on
the database, through the injected ledger). Nothing is stored on any error: a claimed
signature is released again when the message could not be stored, so the sender may retry.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

from bot.metrics import Metrics
from webhooks.rocketchat import Refused, read_limited

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Crmbot-Signature"
CONTENT_TYPE = "message/rfc822"
WINDOW_SECONDS = 300  # CONTRACT §3: more than this off the server's clock is refused
_HEX64 = re.compile(r"[0-9a-f]{64}")
_DIGITS = re.compile(r"[0-9]{1,12}")

Handler = Callable[[web.Request], Awaitable[web.Response]]
Clock = Callable[[], float]


class Ingested(Protocol):
    """What the ingest pipeline answers (bot.mail.ingest.IngestResult)."""

    @property
    def email_id(self) -> int | None: ...
    @property
    def duplicate(self) -> bool: ...
    @property
    def refused(self) -> str | None: ...


Ingest = Callable[[bytes], Awaitable[Ingested]]


class SignatureLedger(Protocol):
    """Signatures seen before (store.signatures.SignatureLedger)."""

    async def claim(self, signature: str, timestamp: int, *, forget_before: int) -> bool: ...
    async def release(self, signature: str) -> None: ...


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The header value a sender puts on ``body`` at ``timestamp``."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def parse_signature(header: str | None) -> tuple[int, list[str]]:
    """The timestamp and the `v1` candidates of a signature header, or `Refused(401)`.

    Unknown keys are ignored and several `v1` are allowed, so a sender can sign with an old
    and a new secret while the secret is being rotated.
    """
    bad = Refused(401, "email_unauthorized", "invalid or missing signature")
    if not header:
        raise bad
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and _DIGITS.fullmatch(value):
            timestamp = int(value)
        elif key == "v1" and _HEX64.fullmatch(value.lower()):
            candidates.append(value.lower())
    if timestamp is None or not candidates:
        raise bad
    return timestamp, candidates


def verify(secret: bytes, header: str | None, body: bytes, now: float) -> tuple[int, str]:
    """The timestamp and the matching signature, or `Refused(401)` (bad, stale, missing)."""
    timestamp, candidates = parse_signature(header)
    expected = sign(secret, timestamp, body).rpartition("v1=")[2]
    # Every candidate is compared, so the time taken says nothing about which one failed.
    matches = [c for c in candidates if hmac.compare_digest(c, expected)]
    if not matches:
        raise Refused(401, "email_unauthorized", "invalid or missing signature")
    if abs(now - timestamp) > WINDOW_SECONDS:
        raise Refused(401, "email_stale", f"timestamp more than {WINDOW_SECONDS} s off")
    return timestamp, matches[0]


class EmailWebhook:
    """`POST /webhooks/email`; `handle` is the aiohttp handler. With no secret it is 404."""

    def __init__(
        self,
        ingest: Ingest,
        ledger: SignatureLedger,
        *,
        secret: str | None,
        max_body: int,
        clock: Clock = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        self._ingest = ingest
        self._ledger = ledger
        self._secret = secret.encode() if secret else None
        self._max_body = max_body
        self._clock = clock
        self._metrics = metrics or Metrics()

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one delivery."""
        if self._secret is None:
            return web.json_response({"error": "not found"}, status=404)
        try:
            body, signature = await self._authenticated(request, self._secret)
            return await self._store(body, signature)
        except Refused as refused:
            log.warning("email webhook from %s refused: %s", request.remote, refused.message)
            self._metrics.error(refused.kind)
            return web.json_response({"error": refused.message}, status=refused.status)

    async def _authenticated(self, request: web.Request, secret: bytes) -> tuple[bytes, str]:
        if request.content_type != CONTENT_TYPE:
            raise Refused(415, "email_bad_request", f"Content-Type must be {CONTENT_TYPE}")
        body = await read_limited(request, self._max_body)
        now = self._clock()
        timestamp, signature = verify(secret, request.headers.get(SIGNATURE_HEADER), body, now)
        if not body.strip():
            raise Refused(400, "email_bad_request", "empty message")
        # Rows older than twice the window can only match stale timestamps: forgotten.
        forget_before = int(now) - 2 * WINDOW_SECONDS
        try:
            fresh = await self._ledger.claim(signature, timestamp, forget_before=forget_before)
        except Exception:
            log.exception("the signature ledger is unavailable")
            raise Refused(503, "email_ingest_failed", "temporarily unavailable") from None
        if not fresh:
            raise Refused(401, "email_replayed", "signature already used")
        return body, signature

    async def _store(self, body: bytes, signature: str) -> web.Response:
        try:
            result = await self._ingest(body)
        except Exception:
            log.exception("emailed message could not be stored")
            await self._release(signature)
            raise Refused(503, "email_ingest_failed", "temporarily unavailable") from None
        if result.refused is not None:
            await self._release(signature)
            status = 413 if result.refused == "too_large" else 400
            raise Refused(status, "email_refused", f"message refused: {result.refused}")
        return web.json_response({"email_id": result.email_id, "duplicate": result.duplicate})

    async def _release(self, signature: str) -> None:
        try:
            await self._ledger.release(signature)
        except Exception:  # the database is down; the sender's retry is signed afresh anyway
            log.exception("could not release signature after a failed delivery")


def email_webhook(
    ingest: Ingest,
    ledger: SignatureLedger,
    *,
    secret: str | None,
    max_body: int,
    clock: Clock = time.time,
    metrics: Metrics | None = None,
) -> Handler:
    """The `POST /webhooks/email` handler over an injected ``ingest`` and ``ledger``."""
    return EmailWebhook(
        ingest, ledger, secret=secret, max_body=max_body, clock=clock, metrics=metrics
    ).handle
