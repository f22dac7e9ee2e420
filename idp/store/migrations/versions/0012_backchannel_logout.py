"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0).

- ``channels.backchannel_logout_uri`` and ``channels.backchannel_logout_session_required``: the
  client metadata of section 2.2.
- ``session_clients``: each client a browser session (``sid``) issued a code to, once per pair;
  the clients a logout token goes to when the session ends.

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_clients",
        sa.Column("sid", sa.String(length=43), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("sid", "client_id", name=op.f("pk_session_clients")),
    )
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("backchannel_logout_uri", sa.String(length=512), nullable=True))
        batch.add_column(
            sa.Column(
                "backchannel_logout_session_required",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("backchannel_logout_session_required")
        batch.drop_column("backchannel_logout_uri")
    op.drop_table("session_clients")
