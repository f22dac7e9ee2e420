"""QR codes (issue 9): one row per issued code, its random ref and the e-card it stands for.

The row's ``code_id`` is the code's unique id (single-use redemption keys on it); the status
list entry of a code is the top 24 bits of that id (docs/qr-token.md 5), so no index column
is needed and no index is shared by two codes of one person.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qr_codes",
        sa.Column("code_id", sa.String(length=16), nullable=False),
        sa.Column("sign_no", sa.String(length=43), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("actor_sign_no", sa.String(length=43), nullable=True),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sign_no"], ["ecards.sign_no"], name=op.f("fk_qr_codes_sign_no_ecards")
        ),
        sa.PrimaryKeyConstraint("code_id", name=op.f("pk_qr_codes")),
    )
    op.create_index(op.f("ix_qr_codes_sign_no"), "qr_codes", ["sign_no"], unique=False)
    op.create_index(op.f("ix_qr_codes_expires_at"), "qr_codes", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_qr_codes_expires_at"), table_name="qr_codes")
    op.drop_index(op.f("ix_qr_codes_sign_no"), table_name="qr_codes")
    op.drop_table("qr_codes")
