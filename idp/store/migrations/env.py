"""Alembic environment: uses the engine handed in by ``idp.store.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from idp.store import Base

config = context.config
engine = config.attributes.get("engine") or create_engine(
    config.get_main_option("sqlalchemy.url") or ""
)

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
