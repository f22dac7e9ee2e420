"""Outbox: an index for claiming the oldest undelivered message per (channel, card).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_channel_card_order", "outbox", ["client_id", "ordering_key", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_channel_card_order", table_name="outbox")
