"""What a SQLite database URL names: the folder made and the file opened are the same."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from store.checkpoint import database_file
from store.db import create_engine


@pytest.mark.parametrize("inline", [True, False])
async def test_a_home_relative_sqlite_url_opens_the_file_in_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inline: bool
) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    elsewhere.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(elsewhere)
    engine = create_engine("sqlite+aiosqlite:///~/data/crm.db", sqlite_inline=inline)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        # The folder made and the file opened are one: no folder named `~` anywhere.
        assert (home / "data" / "crm.db").is_file()
        assert not (elsewhere / "~").exists()
        assert database_file(engine) == str(home / "data" / "crm.db")  # the checkpointer's too
    finally:
        await engine.dispose()
