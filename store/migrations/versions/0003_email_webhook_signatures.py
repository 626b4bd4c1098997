"""email webhook signatures

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_webhook_signatures",
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_email_webhook_signatures")),
    )
    with op.batch_alter_table("email_webhook_signatures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_email_webhook_signatures_timestamp"), ["timestamp"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("email_webhook_signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_webhook_signatures_timestamp"))
    op.drop_table("email_webhook_signatures")
