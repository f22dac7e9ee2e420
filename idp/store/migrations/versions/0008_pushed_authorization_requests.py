"""Pushed authorization requests (RFC 9126).

- ``pushed_requests``: a pushed request's parameters under the keyed hash of its
  ``request_uri``, used once (``used_at``) before ``expires_at``.
- ``channels.require_pushed_authorization_requests``: the RFC 9126 6 client metadata.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pushed_requests",
        sa.Column("request_uri_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("request_uri_hash", name=op.f("pk_pushed_requests")),
    )
    op.create_index(
        op.f("ix_pushed_requests_expires_at"), "pushed_requests", ["expires_at"], unique=False
    )
    with op.batch_alter_table("channels") as batch:
        batch.add_column(
            sa.Column(
                "require_pushed_authorization_requests",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("require_pushed_authorization_requests")
    op.drop_index(op.f("ix_pushed_requests_expires_at"), table_name="pushed_requests")
    op.drop_table("pushed_requests")
