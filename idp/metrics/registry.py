"""The product's Prometheus metrics, defined once per process.

Production servers run several worker processes, and a scrape reaches one of them. When
``PROMETHEUS_MULTIPROC_DIR`` names a directory (empty at each start), prometheus-client keeps
every worker's values in files there and ``/metrics`` answers the sum over all workers
(prometheus-client's multiprocess mode); without it each process answers its own figures.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Gauge
from prometheus_client import Histogram
from prometheus_client import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: From a cached JWK Set (well under a millisecond) to a slow sign-in (argon2 and a write).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

REQUESTS = Counter(
    "essc_http_requests",
    "HTTP requests answered, by route template (never the raw path), method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "essc_http_request_duration_seconds",
    "Time from the request reaching the application to its response being ready.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
POOL_CHECKED_OUT = Gauge(
    "essc_db_pool_checked_out",
    "Database connections checked out of the pool now (summed over live workers).",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "essc_db_pool_size",
    "Connections each pool keeps (summed over live workers).",
    multiprocess_mode="livesum",
)
LOCKOUTS = Counter(
    "essc_signin_lockouts",
    "Sign-in attempts answered locked: the PIN reached its failure limit or is still locked.",
)


class Collector(Protocol):
    def collect(self) -> Iterable[Metric]: ...


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_ENV))


def prepare_multiprocess_dir(instance_dir: str, port: int) -> str:
    """Before a multi-worker server starts: the operator's ``PROMETHEUS_MULTIPROC_DIR``, or an
    emptied ``<instance dir>/prometheus-<port>`` (the last run's files would add old counts)."""
    if os.environ.get(MULTIPROCESS_ENV):
        return os.environ[MULTIPROCESS_ENV]
    directory = Path(instance_dir) / f"prometheus-{port}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROCESS_ENV] = str(directory)
    return str(directory)


def _process_registry() -> Collector:
    if not multiprocess():
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


class Exposition:
    """The scrape: every worker's metrics (or this process's) and ``extra`` collectors, whose
    values are read at scrape time (the outbox, from the database)."""

    def __init__(self, *extra: Collector) -> None:
        self._sources = (_process_registry(), *extra)

    def collect(self) -> Iterable[Metric]:
        for source in self._sources:
            yield from source.collect()

    def render(self) -> bytes:
        return generate_latest(self)  # type: ignore[arg-type]
