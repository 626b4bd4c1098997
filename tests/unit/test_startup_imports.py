"""What starting `crmbot serve` or any other command loads: never Alembic unless migrating."""

from __future__ import annotations

import subprocess
import sys


def test_the_server_and_the_command_line_start_without_alembic() -> None:
    # Alembic brings Mako and Pygments: a quarter of a second of every start, for nothing
    # unless the schema is being migrated (`crmbot db upgrade`, `open_store(migrate=True)`).
    probe = (
        "import sys, bot.server, bot.cli; "
        "print(sorted(m for m in ('alembic', 'mako', 'pygments') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
