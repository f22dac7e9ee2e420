"""N writers appending at once on real PostgreSQL: one chain, no fork, no skipped number."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from idp.events import trail
from idp.events.audit import record_event
from idp.provider import Provider

WRITERS = 16
EACH = 8


class Refused(Exception):
    """A request that fails after recording: its records must leave no gap."""


def test_concurrent_writers_make_one_chain(provider: Provider) -> None:
    if provider.db.engine.dialect.name != "postgresql":
        pytest.skip("concurrency is proved on PostgreSQL")
    start = threading.Barrier(WRITERS)

    def writer(w: int) -> int:
        start.wait()
        committed = 0
        for n in range(EACH):
            try:
                with provider.unit_of_work() as uow:
                    record_event(uow.session, "test.first", at=n, client_id=f"w{w}")
                    record_event(uow.session, "test.second", at=n, client_id=f"w{w}")
                    if n % 4 == 3:
                        raise Refused
                committed += 2
            except Refused:
                pass
        return committed

    with ThreadPoolExecutor(WRITERS) as pool:
        total = sum(pool.map(writer, range(WRITERS)))
    assert total == WRITERS * EACH * 3 // 2
    with provider.db.read() as s:
        state = trail.verify(s, lambda jws: {})
        seqs = list(s.scalars(text("SELECT seq FROM audit_events ORDER BY id")))
        pairs = s.execute(text("SELECT seq, event FROM audit_events ORDER BY seq")).all()
    assert state.problems == [] and state.records == total
    assert seqs == list(range(1, total + 1)), "insert order is chain order"
    # A transaction's records are consecutive: its two events take two adjacent numbers.
    assert all(
        first[1] == "test.first" and second[1] == "test.second"
        for first, second in zip(pairs[::2], pairs[1::2], strict=True)
    )
