"""Granian's two workers, one ``/metrics``: ``essc serve --production`` gives the workers a
fresh ``PROMETHEUS_MULTIPROC_DIR``, so every scrape, whichever worker answers it, sums both
workers' counts."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
import requests

from tests.live import essc
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import serving

REQUESTS = 60


def _healthz_count(text: str) -> float:
    found = re.search(
        r'^essc_http_requests_total\{(?=[^}]*route="/healthz")(?=[^}]*method="GET")'
        r'(?=[^}]*status="200")[^}]*\} ([0-9.e+]+)$',
        text,
        re.M,
    )
    return float(found.group(1)) if found else 0.0


@pytest.mark.live
def test_every_scrape_sums_both_workers(tmp_path: Path) -> None:
    port = free_port()
    env = hermetic_env(tmp_path, f"http://127.0.0.1:{port}")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        ESSC_SECRET_KEY=secrets.token_urlsafe(48),
        ESSC_KEY_PASSPHRASE=secrets.token_urlsafe(24),
    )
    essc(env, tmp_path, "init")
    metrics_dir = Path(env["ESSC_INSTANCE_DIR"]) / f"prometheus-{port}"
    metrics_dir.mkdir(parents=True)
    (metrics_dir / "counter_1.db").write_bytes(b"left by a previous run")
    log = tmp_path / "server.log"
    extra = ("--production", "--workers", "2", "--server", "granian")
    with serving(env, tmp_path, port, log, *extra) as issuer:
        for _ in range(REQUESTS):  # a new connection each: the kernel spreads them
            assert requests.get(f"{issuer}/healthz", timeout=10).status_code == 200
        scrapes = [requests.get(f"{issuer}/metrics", timeout=10).text for _ in range(8)]
    pids = {p.name.rsplit("_", 1)[1] for p in metrics_dir.glob("gauge_livesum_*.db")}
    assert not (metrics_dir / "counter_1.db").exists(), "the last run's files are removed"
    assert len(pids) >= 2, f"one worker only wrote metrics: {sorted(metrics_dir.iterdir())}"
    assert [_healthz_count(text) for text in scrapes] == [REQUESTS] * len(scrapes)
    assert "essc_db_pool_size" in scrapes[0] and "essc_outbox_pending_messages" in scrapes[0]
