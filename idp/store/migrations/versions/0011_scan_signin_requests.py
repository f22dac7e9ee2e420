"""Scan-to-sign-in requests (docs/scan-signin.md).

- ``scan_signin_requests``: one row per QR shown on a PC sign-in page, under the keyed hash of
  its reference, bound to the PC browser's cookie hash (unique), with its state.

Revision ID: 0011
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scan_signin_requests",
        sa.Column("ref_hash", sa.String(length=64), nullable=False),
        sa.Column("pc_hash", sa.String(length=64), nullable=False),
        sa.Column("interaction_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("pc_network", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=True),
        sa.Column("sign_no", sa.String(length=256), nullable=True),
        sa.Column("person_id", sa.String(length=64), nullable=True),
        sa.Column("acr", sa.String(length=64), nullable=True),
        sa.Column("amr", sa.JSON(), nullable=True),
        sa.Column("auth_time", sa.BigInteger(), nullable=True),
        sa.Column("phone_network", sa.String(length=64), nullable=True),
        sa.Column("far_from_pc", sa.Boolean(), nullable=True),
        sa.Column("deny_reason", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("scanned_at", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.BigInteger(), nullable=True),
        sa.Column("redeemed_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("ref_hash", name=op.f("pk_scan_signin_requests")),
        sa.UniqueConstraint("pc_hash", name=op.f("uq_scan_signin_requests_pc_hash")),
    )
    op.create_index(
        op.f("ix_scan_signin_requests_expires_at"),
        "scan_signin_requests",
        ["expires_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_scan_signin_requests_expires_at"), table_name="scan_signin_requests")
    op.drop_table("scan_signin_requests")
