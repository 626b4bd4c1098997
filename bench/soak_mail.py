"""How the soak's emails reach `crmbot serve`: the signed `POST /webhooks/email` (CONTRACT §3,
EMAIL.md), or SMTP to the dropbox `crm@<domain>` when the server listens for it."""

from __future__ import annotations

import asyncio
import hashlib
import io

import aiohttp
import aiosmtplib

from bench.soak_world import EMAIL_SECRET, MAIL_DOMAIN, wall_clock
from webhooks.email import SIGNATURE_HEADER, sign

TRIES = 5  # a sender tries again when the server answers 503 (it stored nothing)
RETRY_PAUSE = 0.5


class WebhookMail:
    """Posts raw messages, each freshly signed (a signature is accepted once)."""

    def __init__(self, http: aiohttp.ClientSession, serve_url: str) -> None:
        self.http = http
        self.url = serve_url + "/webhooks/email"
        self._last: dict[bytes, int] = {}  # body digest -> the last timestamp it was signed at

    def _timestamp(self, raw: bytes) -> int:
        """Now, but later than any earlier signature of the same body: the same body signed
        in the same second is the same signature, which the server refuses as a replay."""
        key = hashlib.sha256(raw).digest()
        stamp = max(int(wall_clock()), self._last.get(key, 0) + 1)
        self._last[key] = stamp
        return stamp

    async def __call__(self, raw: bytes) -> tuple[bool, bool | None]:
        """(stored or already there, it was already there)."""
        for _ in range(TRIES):
            headers = {
                "Content-Type": "message/rfc822",
                SIGNATURE_HEADER: sign(EMAIL_SECRET.encode(), self._timestamp(raw), raw),
            }
            async with self.http.post(self.url, data=io.BytesIO(raw), headers=headers) as answer:
                if answer.status == 200:
                    body = await answer.json()
                    return True, bool(body.get("duplicate"))
                if answer.status != 503:
                    return False, False
            await asyncio.sleep(RETRY_PAUSE)
        return False, False


class SmtpMail:
    """Hands raw messages to the server's SMTP listener, the dropbox in the envelope."""

    def __init__(self, port: int) -> None:
        self.port = port

    async def __call__(self, raw: bytes) -> tuple[bool, bool | None]:
        """(accepted with 250, None: SMTP does not say whether it was a duplicate)."""
        for _ in range(TRIES):
            try:
                await aiosmtplib.send(
                    raw,
                    sender="proveedor@externo.example",
                    recipients=[f"crm@{MAIL_DOMAIN}"],
                    hostname="127.0.0.1",
                    port=self.port,
                    start_tls=False,
                    use_tls=False,
                )
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code < 400 or exc.code >= 500:  # 5xx: refused for good
                    return False, None
            else:
                return True, None
            await asyncio.sleep(RETRY_PAUSE)
        return False, None
