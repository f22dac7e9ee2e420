"""Exactly-once issuance, lockout for unknown credentials, registration-token index.

- ``uq_ecards_client_idempotency_key``: one e-card per (channel, idempotency key). Rows that
  concurrent issuances duplicated before this index existed keep their key on one row only (the
  active one, else the latest); the others keep their history without the key.
- ``ecards.supersedes``: an idempotent replay names the superseded e-card as the first answer did.
- ``pin_attempts``: the PIN lockout counter of credentials that name no cardholder.
- ``ix_channels_registration_token_hash`` (unique): RFC 7592 token look-up without a scan.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: Of the e-cards sharing a (channel, key), the key stays on the one ranking highest: active
#: before not, then issued later, then the greater sign_no. Portable SQL (SQLite, PostgreSQL).
_DEDUPLICATE = """
UPDATE ecards SET idempotency_key = NULL
WHERE idempotency_key IS NOT NULL AND EXISTS (
  SELECT 1 FROM ecards other
  WHERE other.client_id = ecards.client_id
    AND other.idempotency_key = ecards.idempotency_key
    AND other.sign_no <> ecards.sign_no
    AND (CASE WHEN other.status = 'active' THEN 1 ELSE 0 END
           > CASE WHEN ecards.status = 'active' THEN 1 ELSE 0 END
         OR (CASE WHEN other.status = 'active' THEN 1 ELSE 0 END
               = CASE WHEN ecards.status = 'active' THEN 1 ELSE 0 END
             AND (other.issued_at > ecards.issued_at
                  OR (other.issued_at = ecards.issued_at AND other.sign_no > ecards.sign_no))))
)
"""


def upgrade() -> None:
    op.execute(_DEDUPLICATE)
    with op.batch_alter_table("ecards") as batch:
        batch.add_column(sa.Column("supersedes", sa.String(length=43), nullable=True))
        batch.create_index(
            "uq_ecards_client_idempotency_key", ["client_id", "idempotency_key"], unique=True
        )
    with op.batch_alter_table("channels") as batch:
        batch.create_index(
            "ix_channels_registration_token_hash", ["registration_token_hash"], unique=True
        )
    op.create_table(
        "pin_attempts",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_pin_attempts")),
    )
    op.create_index(
        op.f("ix_pin_attempts_locked_until"), "pin_attempts", ["locked_until"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pin_attempts_locked_until"), table_name="pin_attempts")
    op.drop_table("pin_attempts")
    with op.batch_alter_table("channels") as batch:
        batch.drop_index("ix_channels_registration_token_hash")
    with op.batch_alter_table("ecards") as batch:
        batch.drop_index("uq_ecards_client_idempotency_key")
        batch.drop_column("supersedes")
