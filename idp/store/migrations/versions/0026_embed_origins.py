"""The origins a channel registers to embed its sign-in pages (docs/security.md "Framing").

- ``channels.embed_origins``: a JSON array of exact origins (``channels.embedding``), empty for
  every existing channel: their pages keep ``frame-ancestors 'none'``.

Revision ID: 0026
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("embed_origins", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("embed_origins")
