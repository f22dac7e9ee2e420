"""QR code redemptions and scan-to-pay payments (issue 9, items 4 and 5).

- ``qr_redemptions``: one row per code redeemed online; the code id is the primary key.
- ``payments``: one per (merchant, idempotency key) and one per payment code, with ``CHECK``s
  that keep captured and refunded amounts within bounds.
- ``payment_refunds``: one per (merchant, idempotency key).
- ``payment_daily_spend``: per e-card per day spend counters for the daily limit.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_daily_spend",
        sa.Column("sign_no", sa.String(length=43), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("spent_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("sign_no", "day", name=op.f("pk_payment_daily_spend")),
    )
    op.create_table(
        "qr_redemptions",
        sa.Column("code_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("sign_no", sa.String(length=43), nullable=False),
        sa.Column("reference", sa.String(length=43), nullable=False),
        sa.Column("redeemed_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code_id", name=op.f("pk_qr_redemptions")),
        sa.UniqueConstraint("reference", name=op.f("uq_qr_redemptions_reference")),
    )
    with op.batch_alter_table("qr_redemptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_qr_redemptions_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_qr_redemptions_sign_no"), ["sign_no"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("merchant_order_id", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=128), nullable=True),
        sa.Column("code_id", sa.String(length=64), nullable=False),
        sa.Column("sign_no", sa.String(length=43), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("decline_reason", sa.String(length=32), nullable=True),
        sa.Column("captured_fen", sa.BigInteger(), nullable=False),
        sa.Column("refunded_fen", sa.BigInteger(), nullable=False),
        sa.Column("spend_day", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("authorized_at", sa.BigInteger(), nullable=True),
        sa.Column("captured_at", sa.BigInteger(), nullable=True),
        sa.Column("confirm_by", sa.BigInteger(), nullable=True),
        sa.Column("first_answer", sa.JSON(), nullable=True),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint(
            "captured_fen >= 0 AND captured_fen <= amount_fen",
            name=op.f("ck_payments_captured_bound"),
        ),
        sa.CheckConstraint(
            "refunded_fen >= 0 AND refunded_fen <= captured_fen",
            name=op.f("ck_payments_refund_bound"),
        ),
        sa.ForeignKeyConstraint(
            ["code_id"], ["qr_redemptions.code_id"], name=op.f("fk_payments_code_id_qr_redemptions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("code_id", name=op.f("uq_payments_code_id")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payments_client_captured", ["client_id", "captured_at"], unique=False
        )
        batch_op.create_index(
            "ix_payments_client_created", ["client_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_payments_sign_no_created", ["sign_no", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_payments_client_idempotency_key", ["client_id", "idempotency_key"], unique=True
        )

    op.create_table(
        "payment_refunds",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("payment_id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_payment_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_refunds_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
    )
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_refunds_payment_id"), ["payment_id"], unique=False
        )
        batch_op.create_index(
            "uq_payment_refunds_client_idempotency_key",
            ["client_id", "idempotency_key"],
            unique=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.drop_index("uq_payment_refunds_client_idempotency_key")
        batch_op.drop_index(batch_op.f("ix_payment_refunds_payment_id"))

    op.drop_table("payment_refunds")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("uq_payments_client_idempotency_key")
        batch_op.drop_index("ix_payments_sign_no_created")
        batch_op.drop_index("ix_payments_client_created")
        batch_op.drop_index("ix_payments_client_captured")

    op.drop_table("payments")
    with op.batch_alter_table("qr_redemptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qr_redemptions_sign_no"))
        batch_op.drop_index(batch_op.f("ix_qr_redemptions_client_id"))

    op.drop_table("qr_redemptions")
    op.drop_table("payment_daily_spend")
