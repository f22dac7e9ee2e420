"""The principal's ``may_act`` (RFC 8693 4.4) on a family relationship.

- ``family_relationships.may_act``: null, or the JSON object the principal's consent named
  (``{"client_id": ...}``): the exchange is refused unless the actor matches it.

Revision ID: 0024
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("family_relationships") as batch:
        batch.add_column(sa.Column("may_act", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("family_relationships") as batch:
        batch.drop_column("may_act")
