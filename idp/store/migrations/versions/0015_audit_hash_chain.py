"""The tamper-evident audit trail (idp.events.chain).

- ``audit_events.seq``, ``prev_hash``, ``hash``: gapless numbers and the SHA-256 chain; rows
  already stored are chained in ``id`` order.
- ``audit_chain_head``: one row, the last ``seq`` and ``hash``, which writers lock.
- ``audit_checkpoints``: signed ``{seq, hash, iat}``, append-only like the records.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from idp.events.chain import GENESIS
from idp.events.chain import link

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_EVENTS = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("at", sa.BigInteger()),
    sa.column("event", sa.String()),
    sa.column("actor", sa.String()),
    sa.column("person_id", sa.String()),
    sa.column("client_id", sa.String()),
    sa.column("request_id", sa.String()),
    sa.column("detail", sa.JSON()),
    sa.column("seq", sa.BigInteger()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def upgrade() -> None:
    _drop_append_only("audit_events")
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    last_seq, last_hash = _chain_existing()
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint(batch.f("uq_audit_events_seq"), ["seq"])
    _make_append_only("audit_events")
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.bulk_insert(head, [{"id": 1, "seq": last_seq, "hash": last_hash}])
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_checkpoints")),
    )
    _make_append_only("audit_checkpoints")


def downgrade() -> None:
    _drop_append_only("audit_checkpoints")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_chain_head")
    _drop_append_only("audit_events")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint(batch.f("uq_audit_events_seq"), type_="unique")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
    _make_append_only("audit_events")


def _chain_existing() -> tuple[int, str]:
    """Number and chain the records already stored, oldest first; the last ``(seq, hash)``."""
    bind = op.get_bind()
    seq, prev_hash = 0, GENESIS
    for row in bind.execute(sa.select(_EVENTS).order_by(_EVENTS.c.id)).mappings().all():
        seq += 1
        digest = link(prev_hash, seq, dict(row))
        bind.execute(
            _EVENTS.update()
            .where(_EVENTS.c.id == row["id"])
            .values(seq=seq, prev_hash=prev_hash, hash=digest)
        )
        prev_hash = digest
    return seq, prev_hash


def _make_append_only(table: str) -> None:
    """UPDATE and DELETE refused at the database, whoever connects (as 0001 did for the
    records; SQLite's batch copy drops a table's triggers, so they are made again here)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql"
            f" AS $$ BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )


def _drop_append_only(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
        return
    op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
    op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
