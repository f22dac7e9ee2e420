"""Payments under real concurrency, on SQLite and the real PostgreSQL: 50 requests released at
once by a barrier through the HTTP app.

- one idempotency key: one payment, one spent code, and every caller the same answer;
- refunds with distinct keys: never more refunded than was captured;
- payments of one e-card with distinct codes: the day's sum never passes the daily limit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from idp.payments.limits import china_day
from idp.payments.limits import spent_on
from idp.store.payments import Payment
from idp.store.payments import PaymentRefund
from idp.store.payments import QrRedemption
from tests.payments.helpers import add_merchant
from tests.payments.helpers import merchant_headers
from tests.payments.helpers import pay_body
from tests.payments.helpers import payer
from tests.store.test_races import all_at_once

N = 50


def test_fifty_authorizations_with_one_key_make_one_payment(
    provider: Any, app: Any, web: Any, cardholder: Any
) -> None:
    shop = merchant_headers(web, add_merchant(provider))
    holder = payer(provider, web, cardholder)
    headers = {**shop, "Idempotency-Key": "race-key-00000001"}
    body = pay_body(holder.code(), 1_234)

    def post(client: Any) -> Any:
        return client.post("/api/v1/payments", json=body, headers=headers)

    responses = all_at_once(app, [post] * N)
    assert {r.status_code for r in responses} == {201}, [r.json for r in responses][:3]
    answers = {r.get_data(as_text=True) for r in responses}
    assert len(answers) == 1, answers
    assert sum("Idempotent-Replayed" not in r.headers for r in responses) == 1
    with provider.db.read() as s:
        [payment] = s.scalars(select(Payment)).all()
        assert len(s.scalars(select(QrRedemption)).all()) == 1
        assert spent_on(s, holder.sign_no, china_day(provider.now())) == 1_234
    assert responses[0].json["payment_id"] == payment.id and payment.state == "authorized"


def test_a_refund_race_never_refunds_more_than_was_captured(
    provider: Any, app: Any, web: Any, cardholder: Any
) -> None:
    shop = merchant_headers(web, add_merchant(provider))
    holder = payer(provider, web, cardholder)
    created = web.post(
        "/api/v1/payments",
        json=pay_body(holder.code(), 1_000),
        headers={**shop, "Idempotency-Key": "race-key-00000002"},
    )
    pid = created.json["payment_id"]
    assert web.post(f"/api/v1/payments/{pid}/capture", headers=shop).status_code == 200

    def refunder(i: int) -> Any:
        headers = {**shop, "Idempotency-Key": f"race-refund-{i:04d}"}
        return lambda client: client.post(
            f"/api/v1/payments/{pid}/refunds", json={"amount_fen": 30}, headers=headers
        )

    responses = all_at_once(app, [refunder(i) for i in range(N)])
    done = [r for r in responses if r.status_code == 201]
    others = [r for r in responses if r.status_code != 201]
    assert len(done) == 1_000 // 30
    assert all(r.status_code == 409 for r in others), [r.json for r in others][:3]
    assert {r.json["type"].rsplit("/", 1)[1] for r in others} == {"refund-exceeds-captured"}
    with provider.db.read() as s:
        payment = s.get(Payment, pid)
        refunds = s.scalars(select(PaymentRefund)).all()
    assert payment is not None and payment.refunded_fen == 30 * len(done) <= payment.captured_fen
    assert sum(r.amount_fen for r in refunds) == payment.refunded_fen
    assert payment.state == "partially_refunded"


def test_a_daily_limit_race_never_passes_the_limit(
    provider: Any, app: Any, web: Any, cardholder: Any
) -> None:
    provider.settings = provider.settings.with_overrides(
        payment_no_pin_limit_fen=1_000, payment_daily_limit_fen=10_000
    )
    shop = merchant_headers(web, add_merchant(provider))
    holder = payer(provider, web, cardholder)
    bodies = [pay_body(holder.code(), 1_000, merchant_order_id=f"o-{i}") for i in range(N)]

    def payment(i: int) -> Any:
        headers = {**shop, "Idempotency-Key": f"race-limit-{i:04d}"}
        return lambda client: client.post("/api/v1/payments", json=bodies[i], headers=headers)

    responses = all_at_once(app, [payment(i) for i in range(N)])
    assert {r.status_code for r in responses} == {201}
    states = sorted(r.json["state"] for r in responses)
    assert states == ["authorized"] * 10 + ["declined"] * 40
    with provider.db.read() as s:
        assert spent_on(s, holder.sign_no, china_day(provider.now())) == 10_000
        authorized = s.scalars(select(Payment).where(Payment.state == "authorized")).all()
    assert sum(p.amount_fen for p in authorized) == 10_000
