"""Owns SQLite's WAL checkpoints while a server runs: on a worker thread, off the event loop.

In WAL mode SQLite copies the log back into the database file (a checkpoint) once the log
passes 1,000 pages, inside whichever COMMIT crossed the line. On the inline driver that
COMMIT runs on the event loop's thread, so every few seconds under load one inbox batch,
and every webhook waiting on it, stood still for the copy (6–9 ms here, more on a slower
disk): a good part of the ack p99. While the server runs, its connections therefore skip
automatic checkpoints and a worker thread runs a PASSIVE checkpoint on its own connection
every ``interval`` seconds. PASSIVE never waits for a lock and never blocks a writer; the
log is reused from its start once a checkpoint has caught up, so it does not grow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.request import pathname2url

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import sqlite_file

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0


def database_file(engine: AsyncEngine) -> str | None:
    """The SQLite database file behind ``engine``; None for another database or memory."""
    return sqlite_file(engine.url) if engine.dialect.name == "sqlite" else None


def checkpoint(path: str) -> tuple[int, int, int]:
    """One PASSIVE checkpoint of ``path``: (busy, pages in the log, pages copied back).

    The file is opened read-write but never created: a database removed meanwhile is an
    error to log, not a new empty file.
    """
    uri = f"file:{pathname2url(str(Path(path).resolve()))}?mode=rw"
    connection = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        busy, logged, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        connection.close()
    return int(busy), int(logged), int(copied)


def _no_automatic_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


@contextlib.asynccontextmanager
async def background_checkpoints(
    engine: AsyncEngine, *, interval: float = INTERVAL_SECONDS
) -> AsyncIterator[None]:
    """Checkpoint ``engine``'s SQLite file on a thread meanwhile; nothing for PostgreSQL."""
    path = database_file(engine)
    if path is None:
        yield
        return
    event.listen(engine.sync_engine, "connect", _no_automatic_checkpoints)
    await engine.dispose()  # pooled connections reopen with the setting
    task = asyncio.create_task(_checkpoint_every(path, interval), name="wal-checkpoints")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        event.remove(engine.sync_engine, "connect", _no_automatic_checkpoints)
        await engine.dispose()  # connections opened from here on checkpoint on their own
        await _checkpoint_logged(path)


async def _checkpoint_every(path: str, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        await _checkpoint_logged(path)


async def _checkpoint_logged(path: str) -> None:
    try:
        await asyncio.to_thread(checkpoint, path)
    except sqlite3.Error as error:  # nothing is lost: the log keeps every page until copied
        log.warning("WAL checkpoint of %s failed: %s", path, error)
