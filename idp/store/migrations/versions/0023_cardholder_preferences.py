"""长辈版 remembered per cardholder (docs/pages.md "长辈版 (elderly mode)").

- ``cardholder_preferences``: one row per cardholder who chose a page form (``ui``), deleted
  with the cardholder.

Revision ID: 0023
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cardholder_preferences",
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("ui", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_cardholder_preferences_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_cardholder_preferences")),
    )


def downgrade() -> None:
    op.drop_table("cardholder_preferences")
