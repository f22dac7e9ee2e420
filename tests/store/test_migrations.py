"""The Alembic scripts and the SQLAlchemy models describe the same schema, on every backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy import text

from idp.store import Base
from idp.store.channels import registration_token_owner
from idp.store.database import Database
from idp.store.ecards import ECard
from idp.store.migrate import upgrade
from idp.store.people import Person
from idp.store.people import SocialSecurityCard
from tests.conftest import BACKENDS
from tests.conftest import PG_URL


def test_models_match_migrations(provider: Any) -> None:
    with provider.db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


# -- 0005: exactly-once issuance and the registration-token index ----------------------------
@contextmanager
def database_at(backend: str, revision: str, tmp_path: Path) -> Iterator[Database]:
    """A new, empty database migrated to ``revision``, dropped afterwards."""
    if backend == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'old.db'}")
        upgrade(db, revision)
        yield db
        db.dispose()
        return
    name = f"essc_mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(PG_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        upgrade(db, revision)
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


OLD_ECARDS = sa.table(
    "ecards",
    *(sa.column(c) for c in ("sign_no", "person_id", "card_id", "client_id", "channel_subject")),
    *(sa.column(c) for c in ("level", "status", "issued_at", "updated_at", "idempotency_key")),
    sa.column("evidence", sa.JSON),
)


@pytest.mark.parametrize("backend", BACKENDS)
def test_0005_keeps_each_idempotency_key_on_one_ecard(backend: str, tmp_path: Path) -> None:
    """E-cards that concurrent issuances duplicated before 0005: the key stays on the active
    one (else the latest), the others lose only the key, and the unique index is created."""
    with database_at(backend, "0004", tmp_path) as db:
        with db.transaction() as s:
            s.execute(
                sa.insert(Person.__table__).values(
                    id="p1",
                    id_number_enc=b"x",
                    id_number_index="i" * 64,
                    id_number_masked="1101**********002X",
                    name="张三",
                    region_code="110105",
                    pin_failures=0,
                    created_at=1,
                )
            )
            s.execute(
                sa.insert(SocialSecurityCard.__table__).values(
                    id="c1",
                    person_id="p1",
                    card_number="A00000001",
                    status="normal",
                    region_code="110105",
                    issued_at=1,
                    updated_at=1,
                    bank_account_linked=False,
                    production_stage="collected",
                )
            )
            rows = [  # (sign_no, status, issued_at, key)
                ("a" * 43, "superseded", 10, "k1"),
                ("b" * 43, "active", 10, "k1"),
                ("c" * 43, "superseded", 20, "k1"),
                ("d" * 43, "superseded", 30, "k2"),
                ("e" * 43, "superseded", 30, "k2"),
                ("f" * 43, "unbound", 40, "k3"),
                ("g" * 43, "superseded", 50, None),
                ("h" * 43, "superseded", 50, None),
            ]
            for sign_no, status, at, key in rows:
                s.execute(
                    sa.insert(OLD_ECARDS).values(
                        sign_no=sign_no,
                        person_id="p1",
                        card_id="c1",
                        client_id="wx",
                        channel_subject="o",
                        level=1,
                        status=status,
                        issued_at=at,
                        updated_at=at,
                        idempotency_key=key,
                        evidence={},
                    )
                )
        upgrade(db)
        with db.read() as s:
            keys = dict(s.execute(sa.select(ECard.sign_no, ECard.idempotency_key)).all())
            indexes = {i["name"]: i for i in sa.inspect(s.connection()).get_indexes("ecards")}
    assert keys == {
        "a" * 43: None,
        "b" * 43: "k1",
        "c" * 43: None,
        "d" * 43: None,
        "e" * 43: "k2",
        "f" * 43: "k3",
        "g" * 43: None,
        "h" * 43: None,
    }
    index = indexes["uq_ecards_client_idempotency_key"]
    assert index["unique"] and index["column_names"] == ["client_id", "idempotency_key"]


def test_registration_token_lookup_is_one_indexed_query(provider: Any) -> None:
    """RFC 7592: the token presented for another client is found by its hash in the unique
    index, in one statement, not by scanning channels."""
    with provider.db.read() as s:
        [index] = [
            i
            for i in sa.inspect(s.connection()).get_indexes("channels")
            if i["column_names"] == ["registration_token_hash"]
        ]
        assert index["unique"]
        statements: list[tuple[str, Any]] = []

        def seen(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
            statements.append((statement, params))

        sa.event.listen(provider.db.engine, "before_cursor_execute", seen)
        try:
            assert registration_token_owner(s, "f" * 64) is None
        finally:
            sa.event.remove(provider.db.engine, "before_cursor_execute", seen)
        [(statement, params)] = statements
        if provider.db.engine.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1])
                for row in s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            )
        else:
            s.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(
                str(row[0])
                for row in s.connection().exec_driver_sql("EXPLAIN " + statement, params)
            )
    assert index["name"] in plan and "SCAN channels" not in plan, plan
