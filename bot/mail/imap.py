"""Owns IMAP polling of an existing mailbox: unseen mail into ingest, then flagged \\Seen.

A background task (aioimaplib, on the app's loop) logs in, selects the folder and drains it:
every unseen message is fetched with `BODY.PEEK[]` (which leaves it unseen), ingested, and
only then flagged `\\Seen`, so a crash in between re-ingests it, which the ingest's
Message-ID dedupe makes harmless (EMAIL.md §2(b)). Then it waits in IDLE when the server
offers it, else sleeps for the poll interval, and drains again. A lost connection or a
failure to store reconnects after a back-off that doubles up to five minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from dataclasses import dataclass, field

import aioimaplib

from bot.mail.smtp import Ingest

log = logging.getLogger(__name__)

POLL_SECONDS = 60.0
# RFC 2177 asks clients to re-issue IDLE before 29 minutes; sooner also re-checks the folder.
IDLE_SECONDS = 600.0
COMMAND_TIMEOUT = 60.0  # a 25 MB FETCH over a slow link still fits
GOODBYE_TIMEOUT = 5.0  # ending IDLE and LOGOUT when stopping: polite, not essential
UIDS_PER_FETCH = 200  # keeps a command line short however full the folder is
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 300.0
_SIZE = re.compile(rb"UID (\d+).*RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+).*UID (\d+)")


class ImapError(Exception):
    """The server refused a command (login, select, fetch, store) or the connection dropped."""


@dataclass(frozen=True, slots=True)
class ImapAccount:
    """Where the mailbox is and how to log in."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)  # never in a log line or a traceback's locals
    folder: str = "INBOX"
    use_ssl: bool = True


class ImapPoller:
    """The polling task; `start` and `stop` belong to the app's cleanup context."""

    def __init__(
        self,
        account: ImapAccount,
        ingest: Ingest,
        *,
        max_bytes: int,
        poll_seconds: float = POLL_SECONDS,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self._account = account
        self._ingest = ingest
        self._max_bytes = max_bytes
        self._poll_seconds = poll_seconds
        self._idle_seconds = idle_seconds
        self._task: asyncio.Task[None] | None = None
        self.passes = 0  # times the folder was drained since the start
        self.failures = 0  # sessions that ended in an error
        self.last_error: str | None = None
        self._changed = asyncio.Condition()

    def start(self) -> None:
        """Start polling in the background."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="imap-poller")

    async def stop(self) -> None:
        """Stop polling; a message being ingested is left unseen, to be fetched next time."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def wait_passes(self, count: int) -> None:
        """Wait until the folder has been drained ``count`` times since the start."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.passes >= count)

    async def wait_failures(self, count: int) -> None:
        """Wait until ``count`` sessions have failed since the start."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.failures >= count)

    async def _count(self, *, passed: bool = False, error: str | None = None) -> None:
        async with self._changed:
            self.passes += passed
            if error is not None:
                self.failures += 1
            self.last_error = error
            self._changed.notify_all()

    async def _run(self) -> None:
        delay, host = BACKOFF_FIRST, self._account.host
        while True:
            connection = _Connection(self._account)
            try:
                await connection.open()
                delay = BACKOFF_FIRST  # logged in: the next failure starts the back-off anew
                await self._serve(connection)
            except (OSError, TimeoutError, ImapError, aioimaplib.AioImapException) as exc:
                log.warning("IMAP %s: %s; retrying in %.0f s", host, exc, delay)
                await self._count(error=str(exc) or type(exc).__name__)
            except Exception as exc:  # storing failed (the database is down, say): retry later
                log.exception("IMAP %s: ingest failed; retrying in %.0f s", host, delay)
                await self._count(error=f"ingest failed: {exc}")
            finally:
                await connection.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    async def _serve(self, connection: _Connection) -> None:
        while True:
            await self._drain(connection)
            await self._count(passed=True)
            if connection.can_idle:
                await connection.idle(self._idle_seconds)
            else:
                await connection.sleep(self._poll_seconds)

    async def _drain(self, connection: _Connection) -> None:
        for uid, size in await connection.unseen_sizes():
            if size > self._max_bytes:
                log.warning("IMAP message %d is %d bytes, over the limit: left out", uid, size)
            else:
                raw = await connection.fetch(uid)
                if raw is None:
                    continue  # expunged since the search
                result = await self._ingest(raw, ())
                if result.refused is not None:
                    log.warning("IMAP message %d refused by ingest: %s", uid, result.refused)
            # Flagged once handled, refused or not: a refusal is final, so fetching it
            # again on every pass would only repeat the work.
            await connection.mark_seen(uid)


class _Connection:
    """One logged-in aioimaplib session on the selected folder."""

    def __init__(self, account: ImapAccount) -> None:
        self._account = account
        self._lost = asyncio.Event()
        self._client: aioimaplib.IMAP4 | None = None
        self.can_idle = False

    async def open(self) -> None:
        account = self._account
        lost = self._lost

        def on_lost(_exc: Exception | None) -> None:
            lost.set()

        if account.use_ssl:
            self._client = aioimaplib.IMAP4_SSL(
                account.host,
                account.port,
                timeout=COMMAND_TIMEOUT,
                conn_lost_cb=on_lost,
                ssl_context=ssl.create_default_context(),
            )
        else:
            self._client = aioimaplib.IMAP4(
                account.host, account.port, timeout=COMMAND_TIMEOUT, conn_lost_cb=on_lost
            )
        await self._client.wait_hello_from_server()
        _check(await self._client.login(account.user, account.password), "LOGIN")
        _check(await self._client.select(_quoted(account.folder)), "SELECT")
        self.can_idle = self._client.has_capability("IDLE")

    @property
    def client(self) -> aioimaplib.IMAP4:
        if self._client is None or self._lost.is_set():
            raise ImapError("connection lost")
        return self._client

    async def unseen_sizes(self) -> list[tuple[int, int]]:
        """(uid, size) of every unseen message, oldest first."""
        found = _check(await self.client.uid_search("UNSEEN", charset=None), "SEARCH")
        uids = [uid.decode() for line in found.lines[:-1] for uid in line.split() if uid.isdigit()]
        pairs: list[tuple[int, int]] = []
        for start in range(0, len(uids), UIDS_PER_FETCH):
            uid_set = ",".join(uids[start : start + UIDS_PER_FETCH])
            sizes = _check(await self.client.uid("fetch", uid_set, "(RFC822.SIZE)"), "FETCH")
            pairs += filter(None, (_size(line) for line in sizes.lines if isinstance(line, bytes)))
        return sorted(pairs)

    async def fetch(self, uid: int) -> bytes | None:
        """The raw message, without setting `\\Seen`; None when it is gone."""
        response = _check(await self.client.uid("fetch", str(uid), "(BODY.PEEK[])"), "FETCH")
        literals = [line for line in response.lines if isinstance(line, bytearray)]
        return bytes(literals[0]) if literals else None

    async def mark_seen(self, uid: int) -> None:
        _check(await self.client.uid("store", str(uid), "+FLAGS.SILENT", "(\\Seen)"), "STORE")

    async def idle(self, seconds: float) -> None:
        """Wait in IDLE until the server reports a change, ``seconds`` pass, or the link drops."""
        client = self.client
        idle: asyncio.Future[object] | None = None
        try:
            idle = await client.idle_start(timeout=seconds)
            push = asyncio.ensure_future(client.wait_server_push(timeout=seconds + COMMAND_TIMEOUT))
            await self._until_lost(push)
        finally:
            # Also when stopped while IDLE was starting: DONE ends it, so LOGOUT can follow.
            if not self._lost.is_set() and client.has_pending_idle():
                client.idle_done()
                if idle is not None:
                    await asyncio.wait_for(idle, GOODBYE_TIMEOUT)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less when the link drops."""
        await self._until_lost(asyncio.ensure_future(asyncio.sleep(seconds)))

    async def _until_lost(self, waiting: asyncio.Future[object]) -> None:
        lost: asyncio.Future[object] = asyncio.ensure_future(self._wait_lost())
        try:
            await asyncio.wait({waiting, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
            lost.cancel()
        if self._lost.is_set():
            raise ImapError("connection lost")
        waiting.result()  # a timeout or a protocol error surfaces here

    async def _wait_lost(self) -> object:
        return await self._lost.wait()

    async def close(self) -> None:
        """Log out politely when still connected, and in any case close the socket."""
        client, self._client = self._client, None
        if client is None:
            return
        # A connection still being made (the greeting timed out) must not open later, unowned.
        client._client_task.cancel()
        try:
            if not self._lost.is_set():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.logout(), GOODBYE_TIMEOUT)
        finally:  # even when stopped during the LOGOUT
            transport = getattr(client.protocol, "transport", None)
            if transport is not None:
                transport.close()
            for task in list(client.tasks):  # an IDLE the server never ended, say
                task.cancel()


def _check(response: aioimaplib.Response, command: str) -> aioimaplib.Response:
    if response.result != "OK":
        detail = b" ".join(line for line in response.lines if isinstance(line, bytes))
        raise ImapError(f"{command} failed: {detail.decode(errors='replace')[:200]}")
    return response


def _size(line: bytes) -> tuple[int, int] | None:
    match = _SIZE.search(line)
    if match is None:
        return None
    if match.group(1) is not None:
        return int(match.group(1)), int(match.group(2))
    return int(match.group(4)), int(match.group(3))


def _quoted(folder: str) -> str:
    """An IMAP quoted string, so a folder name with spaces selects that folder."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
