"""What chaining the audit trail costs on PostgreSQL with concurrent writers.

Run: ``ESSC_DATABASE_URL=postgresql+psycopg://…/postgres python -m bench.audit_chain``. It makes
a throwaway database, then for 1 and 16 writer threads runs transactions for ``SECONDS`` each:

- ``plain``: one row inserted (an ``expiring_keys`` row), the shape of a request's own write;
- ``chained``: the same row plus one audit record (``record_event``: the chain head's
  ``UPDATE ... RETURNING``, the hash and the record's insert, under the head's row lock).

It prints transactions per second and the median and 99th-percentile latency of each, and
checks the chain afterwards (``idp.events.trail.verify``).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable

from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.orm import Session

from idp.events import trail
from idp.events.audit import record_event
from idp.store.database import Database
from idp.store.migrate import upgrade
from idp.store.security import ExpiringKey

SECONDS = 5.0


def _plain(session: Session, n: int) -> None:
    session.add(ExpiringKey(key=uuid.uuid4().hex, expires_at=n))


def _chained(session: Session, n: int) -> None:
    _plain(session, n)
    record_event(session, "bench.recorded", at=n, client_id="bench", n=n)


def run(
    db: Database, writers: int, work: Callable[[Session, int], None]
) -> tuple[float, list[float]]:
    latencies: list[list[float]] = [[] for _ in range(writers)]
    stop = time.perf_counter() + SECONDS
    start = threading.Barrier(writers)

    def writer(w: int) -> None:
        start.wait()
        n = 0
        while time.perf_counter() < stop:
            began = time.perf_counter()
            with db.transaction() as session:
                work(session, n)
            latencies[w].append(time.perf_counter() - began)
            n += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = sorted(x for each in latencies for x in each)
    return len(flat) / SECONDS, flat


def main() -> None:
    url = os.environ["ESSC_DATABASE_URL"]
    name = f"essc_bench_audit_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(url.rsplit("/", 1)[0] + f"/{name}", pool_size=20)
    try:
        upgrade(db)
        for writers in (1, 16):
            for label, work in (("plain", _plain), ("chained", _chained)):
                rate, flat = run(db, writers, work)
                p50 = statistics.median(flat) * 1000
                p99 = flat[int(len(flat) * 0.99) - 1] * 1000
                figures = f"{rate:7.0f} tx/s  p50 {p50:.2f} ms  p99 {p99:.2f} ms"
                print(f"{writers:>2} writers {label:>8}: {figures}")
        with db.read() as session:
            state = trail.verify(session, lambda jws: {})
        print(f"chain: {state.records} records, problems: {state.problems}")
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
