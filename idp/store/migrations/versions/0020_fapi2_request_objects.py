"""The FAPI 2.0 Security Profile and signed request objects, per client.

- ``channels.require_signed_request_object``: RFC 9101 10.5 client metadata.
- ``channels.fapi2_security_profile``: the FAPI 2.0 switch (idp.oauth.fapi2).

Revision ID: 0020
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0021"
branch_labels = None
depends_on = None

_COLUMNS = ("require_signed_request_object", "fapi2_security_profile")


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        for name in _COLUMNS:
            batch.add_column(
                sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())
            )


def downgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
