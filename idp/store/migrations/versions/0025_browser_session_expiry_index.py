"""The index the timed-out-session sweep reads (idp.logout.expiry): open sessions by expiry.

Revision ID: 0025
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_browser_sessions_open_expiry",
        "browser_sessions",
        ["expires_at"],
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_browser_sessions_open_expiry", table_name="browser_sessions")
