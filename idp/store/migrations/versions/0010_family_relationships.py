"""Family proxy (亲情服务, issue 11 item 2).

- ``family_relationships``: an agent acting for a principal, its powers, state and consent
  evidence; at most one requested or active relationship per pair (a partial unique index).
- ``family_slots``: each person's live relationships as agent and as principal, the counters
  the limits are taken from by one conditional UPDATE.
- ``qr_codes.family_relationship_id``: a code a relative minted stops when the relationship
  ends (``actor_sign_no`` names the relative's e-card).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_LIVE = sa.text("state IN ('requested', 'active')")


def upgrade() -> None:
    op.create_table(
        "family_relationships",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agent_id", sa.String(length=36), nullable=False),
        sa.Column("principal_id", sa.String(length=36), nullable=False),
        sa.Column("relationship", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("requested_powers", sa.JSON(), nullable=False),
        sa.Column("powers", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("minor", sa.Boolean(), nullable=False),
        sa.Column("requested_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("consented_at", sa.BigInteger(), nullable=True),
        sa.Column("consent_method", sa.String(length=16), nullable=True),
        sa.Column("consent_evidence", sa.JSON(), nullable=True),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("ended_by", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["persons.id"], name=op.f("fk_family_relationships_agent_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["persons.id"],
            name=op.f("fk_family_relationships_principal_id_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_relationships")),
    )
    for column in ("agent_id", "principal_id", "expires_at"):
        op.create_index(op.f(f"ix_family_relationships_{column}"), "family_relationships", [column])
    op.create_index(
        "uq_family_relationships_live_pair",
        "family_relationships",
        ["agent_id", "principal_id"],
        unique=True,
        postgresql_where=_LIVE,
        sqlite_where=_LIVE,
    )
    op.create_table(
        "family_slots",
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("as_agent", sa.Integer(), nullable=False),
        sa.Column("as_principal", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_family_slots_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_family_slots")),
    )
    with op.batch_alter_table("qr_codes") as batch:
        batch.add_column(sa.Column("family_relationship_id", sa.String(length=36), nullable=True))
        batch.create_index(
            op.f("ix_qr_codes_family_relationship_id"), ["family_relationship_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("qr_codes") as batch:
        batch.drop_index(op.f("ix_qr_codes_family_relationship_id"))
        batch.drop_column("family_relationship_id")
    op.drop_table("family_slots")
    op.drop_index("uq_family_relationships_live_pair", table_name="family_relationships")
    for column in ("agent_id", "principal_id", "expires_at"):
        op.drop_index(op.f(f"ix_family_relationships_{column}"), table_name="family_relationships")
    op.drop_table("family_relationships")
