"""Where a redemption's and a payment's server time goes, in-process: SQL statements and a profile.

``python -m bench.payments_profile --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test``
sets up as ``bench.payments_http`` does (a fresh database, dropped afterwards), then sends
``--requests`` code issuings (one medical code each), as many redemptions and as many
payments through the Flask test client (no server, no network), counting SQL statements with
a ``before_cursor_execute`` listener and timing the CPU of each loop. ``--profile FILE`` also
writes a cProfile of the loops' CPU time (``pstats`` reads it).
Prints JSON: per operation, CPU ms per request and statements per request.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import re
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import text

from bench.payments_http import _client
from bench.payments_http import _codes
from bench.payments_http import _ecard
from idp.app import create_app
from idp.provider import Provider
from idp.qr.token import Purpose
from idp.settings import Settings
from idp.store.migrate import upgrade

ISSUER = "http://127.0.0.1:8000"


def _measure(calls: list[Callable[[], int]], statements: Counter[str]) -> dict[str, Any]:
    statements.clear()
    began = time.process_time()
    codes = Counter(call() for call in calls)
    cpu = time.process_time() - began
    n = len(calls)
    return {
        "requests": n,
        "cpu_ms_per_request": round(cpu * 1000 / n, 2),
        "statements_per_request": round(sum(statements.values()) / n, 2),
        "statements": {k: round(v / n, 2) for k, v in statements.most_common()},
        "status": dict(codes),
    }


def _kind(statement: str) -> str:
    """``SELECT payments``, ``INSERT audit_events``: the verb and the first table named."""
    verb = statement.split(None, 1)[0].upper() if statement.strip() else ""
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", statement, re.IGNORECASE)
    return f"{verb} {table.group(1) if table else ''}".strip()


def _profile(
    p: Provider, ecard: tuple[str, str, str], n: int, profile: str | None
) -> dict[str, Any]:
    sign_no, bank, bank_secret = ecard
    app = create_app(p.settings, provider=p)
    client = app.test_client()
    merchant, secret = _client(p, "merchant", "essc.qr.redeem essc.pay")

    def token_of(client_id: str, secret: str, scope: str) -> dict[str, str]:
        answer = client.post(
            "/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(client_id, secret),
        )
        return {"Authorization": f"Bearer {answer.json['access_token']}"}

    auth = token_of(merchant, secret, "essc.qr.redeem essc.pay")
    bank_auth = token_of(bank, bank_secret, "essc.ecard")
    statements: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements[_kind(statement)] += 1

    def redeem(code: str) -> Callable[[], int]:
        body = {"code": code, "purpose": "medical"}
        return lambda: client.post("/api/v1/qr/redemptions", json=body, headers=auth).status_code

    def pay(code: str, i: int) -> Callable[[], int]:
        body = {"code": code, "amount_fen": 1, "currency": "CNY", "merchant_order_id": f"b-{i}"}
        headers = {**auth, "Idempotency-Key": f"bench-pay-{i:08d}"}
        return lambda: client.post("/api/v1/payments", json=body, headers=headers).status_code

    def issue() -> int:
        url = f"/api/v1/ecards/{sign_no}/qr-codes"
        return client.post(url, json={"purpose": "medical"}, headers=bank_auth).status_code

    issuing = [issue] * n
    medical = [redeem(c) for c in _codes(p, sign_no, Purpose.MEDICAL, n)]
    payment = [pay(c, i) for i, c in enumerate(_codes(p, sign_no, Purpose.PAYMENT, n))]
    issuing[0](), medical[0](), payment[0]()  # warm up: first-use imports and caches
    event.listen(p.db.engine, "before_cursor_execute", count)
    # CPU time, not wall time: waits on PostgreSQL and a loaded machine do not count.
    profiler = cProfile.Profile(time.process_time) if profile else None
    if profiler is not None:
        profiler.enable()
    out = {
        "issuing": _measure(issuing[1:], statements),
        "redemption": _measure(medical[1:], statements),
        "authorization": _measure(payment[1:], statements),
    }
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile")
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()
    name = f"essc_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        settings = Settings.from_env(
            {
                "ESSC_DATABASE_URL": args.database_url.rsplit("/", 1)[0] + f"/{name}",
                "ESSC_ISSUER": ISSUER,
                "ESSC_SECRET_KEY": secrets.token_urlsafe(48),
                "ESSC_KEY_PASSPHRASE": secrets.token_urlsafe(24),
                "ESSC_REDIS_URL": args.redis_url,
            }
        )
        p = Provider(settings)
        upgrade(p.db)
        p.open_keyring(create=True)
        try:
            print(json.dumps(_profile(p, _ecard(p), args.requests + 1, args.profile), indent=1))
        finally:
            p.db.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
