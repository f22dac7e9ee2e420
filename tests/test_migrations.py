"""The Alembic scripts and the SQLAlchemy models describe the same schema, on every backend."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from idp.store import Base


def test_models_match_migrations(provider: Any) -> None:
    with provider.db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
