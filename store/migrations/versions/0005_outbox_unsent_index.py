"""outbox: an index of each room's unsent rows

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

A claim asks, for every candidate row, whether an earlier unsent row of its room is
claimed. Through ``ix_outbox_room_seq`` that walks every earlier row of the room, sent ones
included, and sent rows are kept: a claim went from under 1 ms to about 14 ms on SQLite
once 19,000 rows had been sent to 7 rooms. This partial index holds only the unsent rows
(about 0.85 ms in that case).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSENT = sa.text("sent_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_outbox_room_unsent",
        "outbox",
        ["room_id", "seq"],
        sqlite_where=UNSENT,
        postgresql_where=UNSENT,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_room_unsent", table_name="outbox")
