"""QR redemption and payment authorization over HTTP against the real PostgreSQL: rate, p50, p99.

``python -m bench.payments_http --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test``
makes a fresh database next to the one named (dropped afterwards), keys it, enrols one
cardholder with a level 2 e-card and one merchant, starts ``essc serve --production``
(``--server``: Gunicorn unless told; ``--redis-url`` holds the deny-list and replay caches, else
the database does) and then, per operation, sends ``--requests`` requests from ``--threads``
client threads: ``POST /api/v1/ecards/{sign_no}/qr-codes`` (the bank channel asks for one
medical code each time, with a client credentials token), then ``POST /api/v1/qr/redemptions``
(fresh medical codes) and ``POST /api/v1/payments`` (fresh payment codes, 1 fen each, one
idempotency key each). Prints JSON:
requests, seconds, rate, p50 and p99 in milliseconds, and the non-2xx count. The client runs on
the same machine and takes its share of the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine
from sqlalchemy import text

from channels.kinds import ChannelKind
from channels.registration import validate_metadata
from idp.channel_admin.clients import add_client
from idp.channel_auth.caller import Channel
from idp.ecards.requests import parse_issue
from idp.provider import Provider
from idp.qr.token import Purpose
from idp.settings import Settings
from idp.store.ecards import ECard
from idp.store.migrate import upgrade
from idp.store.people import SocialSecurityCard

ESSC = Path(sys.executable).parent / "essc"


def _client(p: Provider, kind: str, scope: str) -> tuple[str, str]:
    metadata = validate_metadata(
        name=f"bench {kind}",
        kind=kind,
        grant_types=["client_credentials"],
        auth_method="client_secret_basic",
        redirect_uris=[],
        scopes=[scope],
        fapi2=False,  # the bench measures the payment endpoints with secret-based clients
    )
    with p.db.transaction() as s:
        row, secret = add_client(s, metadata, p.secret_hash, now=p.now())
    assert secret is not None
    return row.client_id, secret


def _ecard(p: Provider) -> tuple[str, str, str]:
    """The e-card's ``sign_no``, and the bank channel holding it (id, secret)."""
    card = {"name": "张三", "id_number": "11010519491231002X", "region_code": "110105"}
    with p.unit_of_work() as uow:
        p.cardholders.enrol(uow, card_number="A00000001", pin="802413", **card)
    with p.db.transaction() as s:
        s.query(SocialSecurityCard).update({"bank_account_linked": True})
    bank, bank_secret = _client(p, "bank", "essc.ecard essc.payment")
    body = {
        **card,
        "channel_subject": "CUST-1",
        "evidence": {"real_name_level": 3, "face_verified_at": p.now()},
        "level": 2,
        "idempotency_key": "bench-ecard-0001",
    }
    channel = Channel(bank, ChannelKind.BANK, frozenset({"essc.ecard", "essc.payment"}))
    with p.unit_of_work() as uow:
        return p.ecards.issue(uow, channel, parse_issue(body)).sign_no, bank, bank_secret


def _codes(p: Provider, sign_no: str, purpose: Purpose, n: int) -> list[str]:
    with p.db.transaction() as s:
        ecard = s.get(ECard, sign_no)
        assert ecard is not None
        return [p.qr.issue(s, ecard, purpose)[0] for _ in range(n)]


def _tree_cpu_seconds(pid: int) -> float:
    """User plus system CPU of a process and its live descendants (Linux ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_tree_cpu_seconds(int(c)) for c in children)


def _run(calls: list[Callable[[], int]], threads: int, server: int) -> dict[str, Any]:
    def timed(call: Callable[[], int]) -> tuple[float, int]:
        start = time.perf_counter()
        status = call()
        return time.perf_counter() - start, status

    began, cpu = time.perf_counter(), _tree_cpu_seconds(server)
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(timed, calls))
    seconds, cpu = time.perf_counter() - began, _tree_cpu_seconds(server) - cpu
    latencies = sorted(r[0] * 1000 for r in results)
    return {
        "requests": len(results),
        "seconds": round(seconds, 2),
        "rate": round(len(results) / seconds),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
        # The server's CPU (Gunicorn and its workers, not the client or PostgreSQL).
        "server_cpu_ms_per_request": round(cpu * 1000 / len(results), 2),
        "not_2xx": sum(1 for r in results if not 200 <= r[1] < 300),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    # The documented production setting (docs/operations.md) is Granian with Redis; Gunicorn
    # without Redis is what the first figures were measured with, kept for comparison.
    parser.add_argument("--server", choices=("granian", "gunicorn"), default="gunicorn")
    parser.add_argument("--redis-url", default="", help="ESSC_REDIS_URL for the server")
    args = parser.parse_args()
    name = f"essc_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        print(json.dumps(_bench(args, args.database_url.rsplit("/", 1)[0] + f"/{name}")))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _bench(args: argparse.Namespace, url: str) -> dict[str, Any]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    issuer = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESSC_")}
    env.update(
        ESSC_DATABASE_URL=url,
        ESSC_ISSUER=issuer,
        ESSC_SECRET_KEY=secrets.token_urlsafe(48),
        ESSC_KEY_PASSPHRASE=secrets.token_urlsafe(24),
        ESSC_REDIS_URL=args.redis_url,
        # Counted but never reached (as in bench.instance): one merchant at 16 threads passes
        # the 3000/second default, and Redis would carry the count into the next run.
        ESSC_RATE_LIMIT="1000000/second",
        ESSC_RATE_LIMIT_PER_CLIENT="1000000/second",
    )
    p = Provider(Settings.from_env(env))
    upgrade(p.db)
    p.open_keyring(create=True)
    sign_no, bank, bank_secret = _ecard(p)
    merchant, secret = _client(p, "merchant", "essc.qr.redeem essc.pay")
    argv = [str(ESSC), "serve", "--host", "127.0.0.1", "--port", str(port), "--production"]
    argv += ["--workers", str(args.workers), "--server", args.server]
    server = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        _ready(issuer)
        tokens = (
            _token(issuer, (merchant, secret), "essc.qr.redeem essc.pay"),
            _token(issuer, (bank, bank_secret), "essc.ecard"),
        )
        return _operations(p, issuer, tokens, sign_no, args, server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        p.db.dispose()


def _token(issuer: str, client: tuple[str, str], scope: str) -> str:
    answer = requests.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=client,
        timeout=10,
    )
    return str(answer.json()["access_token"])


def _operations(
    p: Provider, issuer: str, tokens: tuple[str, str], sign_no: str, args: argparse.Namespace,
    server: int,
) -> dict[str, Any]:  # fmt: skip
    session = requests.Session()
    auth = {"Authorization": f"Bearer {tokens[0]}"}
    channel_auth = {"Authorization": f"Bearer {tokens[1]}"}

    def issue() -> int:
        url = f"{issuer}/api/v1/ecards/{sign_no}/qr-codes"
        body = {"purpose": "medical"}
        return session.post(url, json=body, headers=channel_auth, timeout=30).status_code

    def redeem(code: str) -> Callable[[], int]:
        body = {"code": code, "purpose": "medical"}
        url = f"{issuer}/api/v1/qr/redemptions"
        return lambda: session.post(url, json=body, headers=auth, timeout=30).status_code

    def pay(code: str, i: int) -> Callable[[], int]:
        body = {"code": code, "amount_fen": 1, "currency": "CNY", "merchant_order_id": f"b-{i}"}
        headers = {**auth, "Idempotency-Key": f"bench-pay-{i:08d}"}
        url = f"{issuer}/api/v1/payments"
        return lambda: session.post(url, json=body, headers=headers, timeout=30).status_code

    n = args.requests
    issuing = _run([issue] * n, args.threads, server)
    medical = _codes(p, sign_no, Purpose.MEDICAL, n)
    redemption = _run([redeem(c) for c in medical], args.threads, server)
    payment = _codes(p, sign_no, Purpose.PAYMENT, n)
    authorization = _run([pay(c, i) for i, c in enumerate(payment)], args.threads, server)
    return {
        "threads": args.threads,
        "workers": args.workers,
        "server": args.server,
        "redis": bool(args.redis_url),
        "cpus": os.cpu_count(),
        "issuing": issuing,
        "redemption": redemption,
        "authorization": authorization,
    }


def _ready(issuer: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)  # waiting for the server to bind its port
    raise RuntimeError("the server did not start")


if __name__ == "__main__":
    main()
