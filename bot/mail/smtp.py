"""Owns the inbound SMTP listener: aiosmtpd on the app's own loop, for the dropbox addresses only.

Recipients other than `crm@<domain>` and `crm+<contact-id>@<domain>` get 550, so the
listener is never an open relay; mail over the size limit gets 552 (aiosmtpd enforces it
at `MAIL FROM … SIZE=` and while DATA streams in, `handle_DATA` checks again). The sender
hears 250 only once the ingest pipeline has stored the message, and 451 (try again later)
when it could not, so a message is never acknowledged and then lost (EMAIL.md §2(a)).
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)


class Ingested(Protocol):
    """What the transports read of `bot.mail.ingest.IngestResult`."""

    @property
    def refused(self) -> str | None: ...


# `MailIngest.ingest(raw, envelope_to=…)`, injected: the transports only move bytes.
Ingest = Callable[[bytes, Sequence[str]], Awaitable[Ingested]]

# A message for the dropbox and a few contacts is normal; dozens is a spray.
MAX_RECIPIENTS = 10
# At shutdown open sessions are closed; their handler tasks get this long to wind down.
CLOSE_GRACE_SECONDS = 5.0


def dropbox_pattern(domain: str) -> re.Pattern[str]:
    """`crm@<domain>` or `crm+<digits>@<domain>`, any case."""
    return re.compile(rf"crm(\+[0-9]{{1,18}})?@{re.escape(domain)}", re.IGNORECASE)


class DropboxHandler:
    """aiosmtpd handler hooks: recipient policy, size check, then ``ingest``."""

    def __init__(self, ingest: Ingest, *, domain: str, max_bytes: int) -> None:
        self._ingest = ingest
        self._accepts = dropbox_pattern(domain)
        self._max_bytes = max_bytes

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        """Accept the dropbox addresses only; the hook must record an accepted recipient."""
        if not self._accepts.fullmatch(address):
            log.info("SMTP from %s: recipient %r refused", session.peer, address)
            return "550 5.7.1 Relaying denied: unknown recipient"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Store the message before saying 250; a failure to store is temporary (451)."""
        raw = envelope.original_content or b""
        if len(raw) > self._max_bytes:
            return "552 5.3.4 Message too big for system"
        try:
            result = await self._ingest(raw, tuple(envelope.rcpt_tos))
        except Exception:
            log.exception("SMTP from %s: message could not be stored", session.peer)
            return "451 4.3.0 Temporary failure, try again later"
        if result.refused == "too_large":
            return "552 5.3.4 Message too big for system"
        if result.refused is not None:
            return f"554 5.6.0 Message refused: {result.refused}"
        return "250 2.0.0 Message accepted"


class SmtpListener:
    """The SMTP server on the running loop; `start` binds, `stop` closes every session."""

    def __init__(self, handler: DropboxHandler, *, hostname: str, max_bytes: int) -> None:
        self._handler = handler
        self._hostname = hostname
        self._max_bytes = max_bytes
        self._server: asyncio.Server | None = None
        # Weak: a finished session leaves the set by itself, so a long run does not leak.
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def _protocol(self) -> SMTP:
        protocol = SMTP(
            self._handler,
            data_size_limit=self._max_bytes,
            enable_SMTPUTF8=True,
            hostname=self._hostname,
            loop=asyncio.get_running_loop(),
        )
        self._sessions.add(protocol)
        return protocol

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0)."""
        assert self._server is not None, "the listener is not started"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host``:``port``; an occupied port raises OSError here, at start-up."""
        # aiosmtpd logs every command, addresses included, at INFO: only its warnings matter.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, host, port)
        log.info("SMTP listener on %s:%d", host, self.port)

    async def stop(self) -> None:
        """Stop accepting, then end open sessions (a message not yet acknowledged is retried
        by its sender, as for any SMTP server that goes away)."""
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        self._server = None
        tasks = [task for session in list(self._sessions) if (task := _close(session)) is not None]
        self._sessions.clear()
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_GRACE_SECONDS)


def _close(session: SMTP) -> asyncio.Task[None] | None:
    """Close one session's connection; its handler task, when it still runs, to await."""
    if session.transport is not None:
        session.transport.close()
    task = session._handler_coroutine  # aiosmtpd keeps no public handle on it
    return task if task is not None and not task.done() else None


def smtp_listener(ingest: Ingest, *, domain: str, max_bytes: int) -> SmtpListener:
    """A listener that takes mail for ``domain``'s dropbox addresses into ``ingest``."""
    handler = DropboxHandler(ingest, domain=domain, max_bytes=max_bytes)
    return SmtpListener(handler, hostname=domain, max_bytes=max_bytes)
