"""E-cards, card lifecycle events, the notification outbox, channel onboarding columns.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:46:53.384547
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("ordering_key", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("delivered_at", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_outbox_delivery_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outbox_next_attempt_at"), ["next_attempt_at"], unique=False
        )

    op.create_table(
        "card_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("card_id", sa.String(length=36), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("factor", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.id"], name=op.f("fk_card_events_card_id_cards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_events")),
    )
    with op.batch_alter_table("card_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_events_card_id"), ["card_id"], unique=False)

    op.create_table(
        "ecards",
        sa.Column("sign_no", sa.String(length=43), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("card_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("channel_subject", sa.String(length=128), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("credential_jti", sa.String(length=43), nullable=True),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_ecards_card_id_cards")),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_ecards_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("sign_no", name=op.f("pk_ecards")),
    )
    with op.batch_alter_table("ecards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ecards_card_id"), ["card_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ecards_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ecards_person_id"), ["person_id"], unique=False)
        batch_op.create_index(
            "uq_ecards_active_person_channel",
            ["person_id", "client_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended_until", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("replaced_by", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column(
                "bank_account_linked", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column(
                "production_stage", sa.String(length=16), nullable=False, server_default="collected"
            )
        )
        batch_op.add_column(sa.Column("production_updated_at", sa.BigInteger(), nullable=True))

    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("registration_token_hash", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("software_statement", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("api_auth_scheme", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("api_keys", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("notification_url", sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column("tls_client_thumbprint", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_column("tls_client_thumbprint")
        batch_op.drop_column("notification_url")
        batch_op.drop_column("api_keys")
        batch_op.drop_column("api_auth_scheme")
        batch_op.drop_column("software_statement")
        batch_op.drop_column("registration_token_hash")

    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_column("production_updated_at")
        batch_op.drop_column("production_stage")
        batch_op.drop_column("bank_account_linked")
        batch_op.drop_column("replaced_by")
        batch_op.drop_column("suspended_until")

    with op.batch_alter_table("ecards", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_ecards_active_person_channel",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index(batch_op.f("ix_ecards_person_id"))
        batch_op.drop_index(batch_op.f("ix_ecards_client_id"))
        batch_op.drop_index(batch_op.f("ix_ecards_card_id"))

    op.drop_table("ecards")
    with op.batch_alter_table("card_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_events_card_id"))

    op.drop_table("card_events")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_client_id"))

    op.drop_table("outbox")
