"""A crash mid-burst (issue 9): the server (Gunicorn, two workers) is killed with SIGKILL while
payments are in flight; after a restart every payment the merchant was told "authorized" exists
exactly once, a retry with its key returns it, and the holder's daily spend is exactly the sum
of the authorized payments: nothing lost, nothing charged twice. SQLite, and the real
PostgreSQL when ``ESSC_DATABASE_URL`` names one.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func
from sqlalchemy import select

from idp.payments.limits import china_day
from idp.payments.limits import spent_on
from idp.provider import Provider
from idp.qr.token import Purpose
from idp.settings import Settings
from idp.store.payments import Payment
from tests.conftest import BACKENDS
from tests.live import ESSC
from tests.live import empty_pg_database
from tests.live import essc
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import log_tail
from tests.qr.helpers import codes
from tests.qr.helpers import issue_ecard
from tests.support import add_cardholder
from tests.support import basic
from tests.support import register

BURST = 40
KILL_AFTER = 12  # answers seen before the kill
WORKERS = 8


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'essc.db'}"
        return
    with empty_pg_database("essc_crash") as url:
        yield url


@contextmanager
def server(
    env: dict[str, str], tmp: Path, port: int, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``essc serve --production`` (Gunicorn, 2 workers) in its own process group."""
    argv = [str(ESSC), "serve", "--host", "127.0.0.1", "--port", str(port), "--production"]
    argv += ["--workers", "2", "--server", "gunicorn"]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(
                    f"{env['ESSC_ISSUER']}/.well-known/openid-configuration", timeout=2
                ).ok:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start:\n{log_tail(log)}")
            time.sleep(0.2)  # waiting for a process to bind its port
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def kill(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)  # master and workers, mid-request
    proc.wait(timeout=10)


@pytest.mark.live
def test_a_killed_server_loses_no_authorized_payment_and_charges_none_twice(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = hermetic_env(tmp_path, f"http://127.0.0.1:{port}")
    env.update(
        ESSC_DATABASE_URL=database_url,
        ESSC_SECRET_KEY=secrets.token_urlsafe(48),
        ESSC_KEY_PASSPHRASE=secrets.token_urlsafe(24),
        ESSC_PIN_HASH_MEMORY_KIB="1024",
        ESSC_PIN_HASH_TIME_COST="1",
    )
    essc(env, tmp_path, "init")
    provider = Provider(Settings.from_env(env))
    try:
        _crash_and_retry(provider, env, tmp_path, port)
    finally:
        provider.db.dispose()


def _crash_and_retry(provider: Provider, env: dict[str, str], tmp: Path, port: int) -> None:
    cardholder = add_cardholder(provider)
    _, sign_no = issue_ecard(provider, cardholder)
    merchant = register(
        provider,
        kind="merchant",
        grant_types=("client_credentials",),
        redirect_uris=(),
        scope="essc.pay",
    )
    issuer, log = env["ESSC_ISSUER"], tmp / "server.log"
    bodies = [
        {
            "code": codes(provider, sign_no, Purpose.PAYMENT)[0],
            "amount_fen": 100 + i,
            "currency": "CNY",
            "merchant_order_id": f"crash-{i}",
        }
        for i in range(BURST)
    ]
    keys = [f"crash-key-{i:04d}" for i in range(BURST)]
    told: dict[str, dict[str, Any]] = {}
    with server(env, tmp, port, log) as proc:
        token = requests.post(
            f"{issuer}/token",
            data={"grant_type": "client_credentials", "scope": "essc.pay"},
            headers=basic(merchant.client_id, merchant.client_secret),
            timeout=10,
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        _burst(issuer, headers, bodies, keys, told, proc)
    assert KILL_AFTER <= len(told) < BURST, f"{len(told)} answered; the kill came too late"
    with server(env, tmp, port, log):
        retried = {key: _pay(issuer, headers, bodies[keys.index(key)], key) for key in keys}
    with provider.db.read() as s:
        rows = {p.idempotency_key: p for p in s.scalars(select(Payment))}
        count = s.scalar(select(func.count()).select_from(Payment))
        spent = spent_on(s, sign_no, china_day(provider.now()))
    for key, first in told.items():
        assert rows[key].id == first["payment_id"], key  # it exists ...
        assert retried[key].status_code == 201 and retried[key].json() == first  # ... and returns
        assert retried[key].headers["Idempotent-Replayed"] == "true"
    assert count == len(rows)  # one row per key
    authorized = sum(p.amount_fen for p in rows.values() if p.state == "authorized")
    assert spent == authorized, (spent, authorized)


def _burst(
    issuer: str,
    headers: dict[str, str],
    bodies: list[dict[str, Any]],
    keys: list[str],
    told: dict[str, dict[str, Any]],
    proc: subprocess.Popen[bytes],
) -> None:
    """Send the payments from ``WORKERS`` threads; SIGKILL the server after ``KILL_AFTER``."""
    lock, pending = threading.Lock(), list(range(len(keys)))
    killed = threading.Event()

    def worker() -> None:
        while not killed.is_set():
            with lock:
                if not pending:
                    return
                i = pending.pop(0)
            try:
                response = _pay(issuer, headers, bodies[i], keys[i])
            except requests.RequestException:
                continue  # the kill cut this one off: no answer, so nothing was promised
            with lock:
                if response.status_code == 201 and response.json()["state"] == "authorized":
                    told[keys[i]] = response.json()
                if len(told) >= KILL_AFTER and not killed.is_set():
                    killed.set()
                    kill(proc)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def _pay(issuer: str, headers: dict[str, str], body: dict[str, Any], key: str) -> Any:
    return requests.post(
        f"{issuer}/api/v1/payments",
        json=body,
        headers={**headers, "Idempotency-Key": key},
        timeout=10,
    )
