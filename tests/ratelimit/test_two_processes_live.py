"""Issue 13 item 6 across processes: two real ``essc serve`` servers sharing one Redis count a
burst split between them as one caller, answer 429 with ``Retry-After`` from both, and let the
caller through again once the window ends. Without Redis each process counts alone (the
documented in-process fallback), so this needs ``ESSC_REDIS_URL``."""

from __future__ import annotations

import secrets
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL
from tests.live import essc
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import serving

pytestmark = pytest.mark.live

LIMIT = 4
WINDOW = 5  # seconds: the burst below takes a fraction of one, on any machine we run on
BURST = 12


def _post(base: str, address: str) -> tuple[int, str | None]:
    request = urllib.request.Request(
        f"{base}/token",
        data=b"grant_type=client_credentials",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Real-IP": address},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Retry-After")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Retry-After")


def test_a_burst_split_between_two_servers_is_limited_as_one(tmp_path: Path) -> None:
    if not REDIS_URL:
        pytest.skip("ESSC_REDIS_URL is not set: without Redis each process counts alone")
    ports = [free_port(), free_port()]
    shared = hermetic_env(tmp_path, f"http://127.0.0.1:{ports[0]}")
    shared.update(
        ESSC_REDIS_URL=REDIS_URL,
        ESSC_RATE_LIMIT=f"{LIMIT}/{WINDOW}second",
        ESSC_RATE_LIMIT_ADDRESS_HEADER="X-Real-IP",
    )
    essc(shared, tmp_path, "init")  # one SQLite database, one key ring, for both servers
    # A fresh address per run: an earlier run's window in the same Redis database is not ours.
    address = f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(256)}"
    with ExitStack() as stack:
        bases = [
            stack.enter_context(
                serving(
                    {**shared, "ESSC_ISSUER": f"http://127.0.0.1:{port}"},
                    tmp_path,
                    port,
                    tmp_path / f"server-{port}.log",
                )
            )
            for port in ports
        ]
        answers = [(n % 2, *_post(bases[n % 2], address)) for n in range(BURST)]
        allowed = [a for a in answers if a[1] == 401]  # no client credentials: past the limit
        limited = [a for a in answers if a[1] == 429]
        assert len(allowed) + len(limited) == BURST, answers
        # One count: LIMIT in all, not LIMIT per server (which would be 2 * LIMIT here).
        assert len(allowed) == LIMIT, answers
        assert {a[0] for a in allowed} == {0, 1} and {a[0] for a in limited} == {0, 1}, answers
        waits = [int(a[2]) for a in limited]
        assert all(1 <= w <= WINDOW for w in waits), waits
        time.sleep(max(waits) + 0.5)  # the window really has to pass: Redis expires it
        assert [_post(base, address)[0] for base in bases] == [401, 401]
