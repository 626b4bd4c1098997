"""The inline SQLite connection (store.sqlite_inline): lock waits leave the event loop free,
and a caller cancelled during one neither crashes nor breaks the engine."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, text

from store.db import create_engine


@contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """Another process's writer, as far as SQLite can tell: it holds the write lock."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_a_lock_wait_leaves_the_loop_free_and_a_cancel_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "inline.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (n INTEGER)"))
        with write_lock(path):
            entered = asyncio.Event()

            async def write() -> None:
                async with engine.begin() as connection:  # BEGIN IMMEDIATE waits for the lock
                    entered.set()
                    await connection.execute(text("INSERT INTO t VALUES (1)"))

            waiting = asyncio.create_task(write())
            # The loop keeps running other work while BEGIN waits (it would not, were the
            # wait on the loop's own thread: this sleep would only end after busy_timeout).
            for _ in range(20):
                await asyncio.sleep(0)
            assert not waiting.done()
            assert not entered.is_set()
            waiting.cancel()
            async with asyncio.timeout(10):  # a guard: it stops between two tries, at once
                results = await asyncio.gather(waiting, return_exceptions=True)
            assert isinstance(results[0], asyncio.CancelledError)
        # The engine still works, and the cancelled write left nothing behind.
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES (2)"))
        async with engine.connect() as connection:
            assert list((await connection.execute(text("SELECT n FROM t"))).scalars()) == [2]
    finally:
        await engine.dispose()


async def test_a_write_goes_ahead_once_the_other_writer_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "inline.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (n INTEGER)"))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")

        async def write() -> None:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t VALUES (1)"))

        waiting = asyncio.create_task(write())
        for _ in range(20):
            await asyncio.sleep(0)
        assert not waiting.done()
        other.execute("COMMIT")
        other.close()
        async with asyncio.timeout(10):
            await waiting
        async with engine.connect() as connection:
            assert list((await connection.execute(text("SELECT n FROM t"))).scalars()) == [1]
    finally:
        await engine.dispose()


async def test_a_free_write_lock_is_taken_at_begin_without_a_trip_through_sqlalchemy(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("SELECT 1"))
            # The lock is held from the start: another writer cannot begin.
            other = sqlite3.connect(path, isolation_level=None, timeout=0)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
        await engine.dispose()
    assert seen == ["SELECT 1"]  # BEGIN IMMEDIATE went straight to the driver
