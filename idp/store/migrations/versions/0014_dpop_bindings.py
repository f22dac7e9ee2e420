"""DPoP (RFC 9449).

- ``authorization_codes.dpop_jkt``: the key a code is bound to (10, ``dpop_jkt`` or a PAR proof).
- ``refresh_tokens.dpop_jkt``: the key a refresh token is bound to (5).
- ``channels.dpop_bound_access_tokens``: the client metadata of 5.2.

Revision ID: 0014
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("authorization_codes", "refresh_tokens"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("dpop_jkt", sa.String(length=43), nullable=True))
    with op.batch_alter_table("channels") as batch:
        batch.add_column(
            sa.Column(
                "dpop_bound_access_tokens", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("dpop_bound_access_tokens")
    for table in ("refresh_tokens", "authorization_codes"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("dpop_jkt")
