"""WAL checkpoints run off the event loop while a server runs (store.checkpoint)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from store.checkpoint import background_checkpoints, checkpoint, database_file
from store.db import create_engine

ROWS = 4_000  # a WAL well past SQLite's automatic checkpoint (1,000 pages)


def _wal_pages(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size // 4096 if wal.exists() else 0


async def test_commits_leave_the_checkpoint_to_the_worker(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)"))
    try:
        # A long interval: no background round comes during the test, only the final one.
        async with background_checkpoints(engine, interval=3600):
            async with engine.begin() as connection:
                setting = await connection.execute(text("PRAGMA wal_autocheckpoint"))
                assert setting.scalar_one() == 0
                for n in range(ROWS):
                    await connection.execute(
                        text("INSERT INTO t (body) VALUES (:body)"), {"body": f"{n:04d}" * 250}
                    )
            # The commit copied nothing back: the rows are in the log, not in the file.
            assert _wal_pages(path) > 1_000
            assert path.stat().st_size < 100_000
            busy, logged, copied = checkpoint(str(path))  # as the worker does
            assert (busy, copied) == (0, logged)
            assert path.stat().st_size > 4_000_000
        # On the way out the worker's last checkpoint leaves nothing to copy.
        with closing(sqlite3.connect(path)) as plain:
            assert plain.execute("SELECT count(*) FROM t").fetchone() == (ROWS,)
            _, logged, copied = plain.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            assert logged == copied
        async with engine.connect() as connection:  # connections opened after: automatic again
            setting = await connection.execute(text("PRAGMA wal_autocheckpoint"))
            assert setting.scalar_one() == 1000
    finally:
        await engine.dispose()


def test_only_a_sqlite_file_is_checkpointed(tmp_path: Path) -> None:
    assert database_file(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")) == str(
        tmp_path / "a.db"
    )
    assert database_file(create_async_engine("sqlite+aiosqlite:///:memory:")) is None
    assert database_file(create_async_engine("postgresql+asyncpg://postgres@127.0.0.1/t")) is None


async def test_a_failed_checkpoint_is_logged_and_the_server_stops_cleanly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_error(path: str) -> tuple[int, int, int]:
        raise sqlite3.OperationalError("disk I/O error")

    path = tmp_path / "crm.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    monkeypatch.setattr("store.checkpoint.checkpoint", disk_error)
    try:
        async with background_checkpoints(engine, interval=3600), engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        # The final checkpoint failed: logged, not raised into the app's shutdown.
        assert f"WAL checkpoint of {path} failed: disk I/O error" in caplog.text
        async with engine.connect() as connection:  # the data is all there
            assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
    finally:
        await engine.dispose()


def test_a_removed_database_is_not_created_again(tmp_path: Path) -> None:
    missing = tmp_path / "gone.db"
    with pytest.raises(sqlite3.OperationalError):
        checkpoint(str(missing))
    assert not missing.exists()


def test_a_path_with_uri_characters_is_checkpointed(tmp_path: Path) -> None:
    path = tmp_path / "crm #1?.db"
    with closing(sqlite3.connect(path)) as plain:
        plain.execute("PRAGMA journal_mode=WAL")
        plain.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        assert checkpoint(str(path))[0] == 0
