"""SQLite for the async engine without a thread hop per call.

aiosqlite runs every driver call (cursor, execute, fetch, close) on a worker thread and
waits for it through the event loop: six or so round trips per statement, each a queue put,
a thread wake-up, a GIL hand-over and a loop iteration. Under load that hand-over, not SQL,
was most of a dialog step's cost. SQLite itself answers a statement of ours in microseconds
from the page cache, so this connection keeps aiosqlite's API (which SQLAlchemy's aiosqlite
dialect drives) but runs each call directly on the event loop's thread.

The one call that can wait long is ``BEGIN IMMEDIATE``: it waits for another process's write
lock (a `crmbot import` beside the server, say). SQLite's own busy handler would hold the
loop for all that time, so BEGIN is tried without it and retried after an asyncio sleep,
for ``lock_wait`` seconds at most: the loop keeps serving meanwhile, and a cancelled caller
stops at once, with no statement half-run. Once BEGIN IMMEDIATE holds the write lock, WAL
mode lets nothing else make our statements wait, and a commit does not sync the file
(``synchronous=NORMAL``), so the other calls stay short.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Generator
from functools import partial
from typing import Any

import aiosqlite

LOCK_WAIT_SECONDS = 30.0  # as long as the thread-based driver's busy_timeout waited
FIRST_RETRY = 0.001
MAX_RETRY = 0.05


class _RunNow:
    """Stands in for aiosqlite's queue to its worker thread: runs the call at once.

    SQLAlchemy's dialect sets ``isolation_level`` by putting a call on that queue directly.
    """

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:
            if future is not None and not future.done():
                future.set_exception(error)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection API, run on the caller's thread (see the module's docstring)."""

    def __init__(
        self, connector: Callable[[], sqlite3.Connection], lock_wait: float = LOCK_WAIT_SECONDS
    ) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]
        self._lock_wait = lock_wait

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The sqlite3 connection itself, for ``store.direct``'s statements."""
        return self._conn

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if _is_begin(args):
            return await self._begin(partial(fn, *args, **kwargs))
        return fn(*args, **kwargs)

    async def _begin(self, begin: Callable[[], Any]) -> Any:
        """``begin`` without SQLite's busy wait, retried while another writer holds the lock."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock_wait
        delay = FIRST_RETRY
        while True:
            try:
                return self._without_busy_wait(begin)
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or loop.time() >= deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY)

    def try_begin_immediate(self) -> bool:
        """BEGIN IMMEDIATE now if the write lock is free; False when another writer holds it.

        The engine's ``begin`` hook calls this first: taking a free lock needs no trip
        through SQLAlchemy's statement execution, which cost more than the BEGIN itself at
        every inbox batch. A busy lock then goes the usual way (``_begin``: wait without
        blocking the loop).
        """
        if not self._running or not self._connection:
            return False
        try:
            self._without_busy_wait(partial(self._conn.execute, "BEGIN IMMEDIATE"))
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                return False
            raise
        return True

    def _without_busy_wait(self, call: Callable[[], Any]) -> Any:
        connection = self._conn
        (timeout,) = connection.execute("PRAGMA busy_timeout").fetchone()
        connection.execute("PRAGMA busy_timeout=0")
        try:
            return call()
        finally:
            connection.execute(f"PRAGMA busy_timeout={int(timeout)}")

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()  # no worker thread to start

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate); there is no thread to stop."""
        self._running = False
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    async def close(self) -> None:
        self.stop()


def _is_begin(args: tuple[Any, ...]) -> bool:
    sql = args[0] if args and isinstance(args[0], str) else ""
    return sql.lstrip()[:5].upper() == "BEGIN"


def inline_creator(database: str) -> Callable[[], Awaitable[InlineConnection]]:
    """The ``async_creator`` for ``create_async_engine`` opening ``database`` inline."""
    connector = partial(sqlite3.connect, database or ":memory:", check_same_thread=False)

    async def create() -> InlineConnection:
        return await InlineConnection(connector)

    return create
