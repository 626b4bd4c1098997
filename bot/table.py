"""Plain-text tables for the command line."""

from __future__ import annotations

from collections.abc import Sequence

MAX_CELL = 40


def _cell(value: object) -> str:
    if isinstance(value, list):
        return f"[{len(value)}]"
    text = "" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def render_table(rows: Sequence[dict[str, object]]) -> str:
    """Rows as aligned columns with a header; lists show as their length."""
    if not rows:
        return "(no records)"
    columns = list(rows[0])
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [
        max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)
    ]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells
    )
    lines.append(f"({len(rows)} record{'' if len(rows) == 1 else 's'})")
    return "\n".join(lines)
