"""SQLite for the async engine without a thread hop per call.

aiosqlite runs every driver call (cursor, execute, fetch, close) on a worker thread and
waits for it through the event loop: six or so round trips per statement, each a queue put,
a thread wake-up, a GIL hand-over and a loop iteration. Under load that hand-over, not SQL,
was most of a dialog step's cost. SQLite itself answers a statement of ours in microseconds
from the page cache, so this connection keeps aiosqlite's API (which SQLAlchemy's aiosqlite
dialect drives) but runs each call directly on the event loop's thread.

Only the two calls that can wait do go to a thread, so the loop keeps serving while they do:
``BEGIN IMMEDIATE`` (it waits for another process's write lock, up to ``busy_timeout``) and
``COMMIT`` (it may run a WAL checkpoint, which syncs the file). Calls never overlap: the
engine has one connection and a session uses it one statement at a time, which is also why
the sqlite3 connection may be used from more than one thread (``check_same_thread=False``).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Generator
from functools import partial
from typing import Any

import aiosqlite

# Calls that may block on another process or on the disk: sent to a thread.
_WAITING_SQL = ("BEGIN", "COMMIT", "END")


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

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if _may_wait(fn, args):
            return await asyncio.to_thread(fn, *args, **kwargs)
        return fn(*args, **kwargs)

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


def _may_wait(fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    if getattr(fn, "__name__", "") == "commit":
        return True
    sql = args[0] if args and isinstance(args[0], str) else ""
    return sql.lstrip()[:6].upper().startswith(_WAITING_SQL)


def inline_creator(database: str) -> Callable[[], Awaitable[InlineConnection]]:
    """The ``async_creator`` for ``create_async_engine`` opening ``database`` inline."""
    connector = partial(sqlite3.connect, database or ":memory:", check_same_thread=False)

    async def create() -> InlineConnection:
        return await InlineConnection(connector)

    return create
