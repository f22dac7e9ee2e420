"""A pooled PostgreSQL connection whose server process was ended (``pg_terminate_backend``, a
restart) costs no request: no pre-ping round trip, yet the next transaction succeeds, through
the socket poll at checkout or, past it, one retry of a transaction that had written nothing
(``idp.store.database``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from idp.store.database import Database
from idp.store.security import ExpiringKey
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(
    not PG_URL.startswith("postgresql"), reason="needs ESSC_DATABASE_URL=postgresql+psycopg://..."
)


@pytest.fixture
def db(pg_database: str) -> Iterator[Database]:
    database = Database(pg_database, pool_size=1, max_overflow=0)
    yield database
    database.dispose()


def terminate(pid: int) -> None:
    """End backend ``pid`` from another connection and wait until it is gone."""
    admin = Database(PG_URL)
    try:
        with admin.engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(200):
                alive = conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                ).scalar()
                conn.rollback()
                if not alive:
                    return
                time.sleep(0.01)
        raise AssertionError("the backend did not end")
    finally:
        admin.dispose()


def backend(db: Database) -> int:
    with db.transaction() as s:
        return int(s.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_no_pre_ping(db: Database) -> None:
    assert db.engine.pool._pre_ping is False


def test_the_request_after_a_terminated_backend_succeeds(db: Database) -> None:
    first = backend(db)
    terminate(first)
    assert backend(db) != first  # the dead one was discarded at checkout, no error seen


def test_a_connection_that_dies_after_checkout_is_retried_once(db: Database) -> None:
    """Past the poll (the backend ends between checkout and the first statement), the
    transaction's first statement fails on a dead connection and is run again on a new one."""
    first = backend(db)
    checkouts: list[int] = []

    def dies_after_checkout(*_: Any) -> None:
        checkouts.append(1)
        if len(checkouts) == 1:
            terminate(first)

    event.listen(db.engine, "checkout", dies_after_checkout)
    try:
        with db.transaction() as s:
            pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
            s.add(ExpiringKey(key="after-retry", expires_at=1))
    finally:
        event.remove(db.engine, "checkout", dies_after_checkout)
    assert pid != first
    assert len(checkouts) == 2
    with db.transaction() as s:
        row = s.get(ExpiringKey, "after-retry")
        assert row is not None  # the transaction went on and committed on the new connection
        s.delete(row)


def test_a_transaction_that_wrote_is_not_retried(db: Database) -> None:
    """A write already sent, then the connection dies: the error stands (the client retries
    with its idempotency key), never a silent second run of half a transaction."""
    first = backend(db)
    with pytest.raises(sa_exc.DBAPIError) as raised, db.transaction() as s:
        s.execute(text("SELECT 1"))
        terminate(first)
        s.execute(text("SELECT 1"))
    assert raised.value.connection_invalidated
    assert backend(db) != first
