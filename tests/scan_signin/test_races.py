"""Exactly once under real concurrency (SQLite and the real PostgreSQL): of N approvals of one
scanned request released together, one is approved and every other is 409; of N redemptions
by the PC, one continues the sign-in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from idp.provider import Provider
from idp.store.security import AuditEvent
from tests.scan_signin.helpers import API
from tests.scan_signin.helpers import Phone
from tests.scan_signin.helpers import open_scan_page
from tests.store.test_races import all_at_once

N = 12
ROUNDS = 3


def test_concurrent_approvals_approve_once(
    app: Any, web: Any, provider: Provider, portal: Any, cardholder: dict[str, str]
) -> None:
    phone = Phone(provider, cardholder["person_id"])
    for _ in range(ROUNDS):
        base, qr, _ = open_scan_page(web, portal)
        assert phone.call(web, "scan", qr).status_code == 200
        number = web.get(f"{base}/scan/status").json["number"]
        bodies = [
            {"request": qr, "assertion": phone.channel.hint(phone.sign_no), "number": number}
            for _ in range(N)
        ]
        calls = [lambda w, b=b: w.post(f"{API}/approve", json=b) for b in bodies]
        statuses = sorted(r.status_code for r in all_at_once(app, calls))
        assert statuses == [200] + [409] * (N - 1), statuses
    with provider.db.read() as s:
        approved = s.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.event == "scan_signin.approved")
        )
    assert approved == ROUNDS
