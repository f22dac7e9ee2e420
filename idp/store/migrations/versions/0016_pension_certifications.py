"""Pension eligibility certifications (养老待遇资格认证, issue 11 item 3).

- ``pension_certifications``: one row per certification of a person, its validity, who did it
  (the person, or an agent under a family relationship) and the face assertion's evidence;
  ``(person_id, cycle)`` unique so a period is certified once.

Revision ID: 0016
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pension_certifications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("certified_at", sa.BigInteger(), nullable=False),
        sa.Column("valid_until", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=36), nullable=True),
        sa.Column("relationship_id", sa.String(length=36), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_pension_certifications_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["persons.id"], name=op.f("fk_pension_certifications_agent_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pension_certifications")),
        sa.UniqueConstraint("person_id", "cycle", name=op.f("uq_pension_certifications_person_id")),
    )
    op.create_index(
        op.f("ix_pension_certifications_person_id"), "pension_certifications", ["person_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pension_certifications_person_id"), "pension_certifications")
    op.drop_table("pension_certifications")
