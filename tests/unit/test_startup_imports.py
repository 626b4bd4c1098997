"""What starting `crmbot serve` or any other command loads: nothing it needs only sometimes."""

from __future__ import annotations

import subprocess
import sys


def test_the_server_and_the_command_line_start_without_alembic_or_the_pdf_renderer() -> None:
    # Alembic brings Mako and Pygments, a quarter of a second, needed only to migrate the
    # schema; fpdf2 and fontTools (with Pillow), about half a second, only to draw a PDF.
    heavy = "('alembic', 'mako', 'pygments', 'fpdf', 'fontTools', 'PIL', 'bot.mail.pdf_render')"
    probe = (
        f"import sys, bot.server, bot.cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
