"""Scan-to-pay through the HTTP API, on SQLite and the real PostgreSQL: the states, the limits,
idempotency, the holder's PIN, reconciliation, and a refusal for every bad input."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from idp.payments.limits import china_day
from idp.payments.limits import spent_on
from idp.payments.states import TRANSITIONS
from idp.qr.token import Purpose
from idp.store.channels import ChannelRow
from idp.store.ecards import OutboxMessage
from idp.store.payments import Payment
from idp.store.security import AuditEvent
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import assert_problem
from tests.ecard_helpers import bearer
from tests.payments.helpers import Payer
from tests.payments.helpers import add_merchant
from tests.payments.helpers import authorize
from tests.payments.helpers import merchant_headers
from tests.payments.helpers import new_key
from tests.payments.helpers import pay_body
from tests.payments.helpers import payer
from tests.payments.helpers import refund
from tests.qr.helpers import change_card
from tests.support import CARD


@pytest.fixture
def merchant(provider: Any) -> Any:
    return add_merchant(provider)


@pytest.fixture
def shop(web: Any, merchant: Any) -> dict[str, str]:
    return merchant_headers(web, merchant)


@pytest.fixture
def holder(provider: Any, web: Any, cardholder: Any) -> Payer:
    return payer(provider, web, cardholder)


def paid(web: Any, shop: dict[str, str], holder: Payer, amount: int = 1_000) -> dict[str, Any]:
    response = authorize(web, shop, pay_body(holder.code(), amount))
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.json
    return body


def audit_events(provider: Any, prefix: str) -> list[AuditEvent]:
    with provider.db.read() as s:
        query = select(AuditEvent).where(AuditEvent.event.like(prefix + "%"))
        return list(s.scalars(query.order_by(AuditEvent.id)))


# -- the happy paths ---------------------------------------------------------------------------
def test_authorize_capture_refund_in_parts(
    provider: Any, web: Any, shop: Any, holder: Payer
) -> None:
    payment = paid(web, shop, holder, 1_000)
    assert payment["state"] == "authorized" and payment["amount_fen"] == 1_000
    assert payment["payment_id"].startswith("py_") and "sign_no" not in payment
    pid = payment["payment_id"]
    captured = web.post(f"/api/v1/payments/{pid}/capture", headers=shop)
    assert captured.status_code == 200 and captured.json["state"] == "captured"
    assert captured.json["captured_fen"] == 1_000
    again = web.post(f"/api/v1/payments/{pid}/capture", headers=shop)  # a retry: the same
    assert again.status_code == 200 and again.json["state"] == "captured"

    first = refund(web, shop, pid, 300, "refund-key-0001")
    assert first.status_code == 201 and first.json["payment"]["state"] == "partially_refunded"
    replay = refund(web, shop, pid, 300, "refund-key-0001")
    assert replay.json == first.json and replay.headers["Idempotent-Replayed"] == "true"
    too_much = refund(web, shop, pid, 701, "refund-key-0002")
    body = assert_problem(too_much, 409, "refund-exceeds-captured")
    assert body["refundable_fen"] == 700
    rest = refund(web, shop, pid, 700, "refund-key-0003")
    assert rest.json["payment"]["state"] == "refunded"
    assert rest.json["payment"]["refunded_fen"] == 1_000
    assert_problem(refund(web, shop, pid, 1, "refund-key-0004"), 409, "transition-refused")
    reused = refund(web, shop, pid, 1, "refund-key-0001")  # the key of another refund
    assert_problem(reused, 422, "idempotency-key-reused")
    events = [e.event for e in audit_events(provider, "payment.")]
    assert events == [
        "payment.authorized",
        "payment.captured",
        "payment.partially_refunded",
        "payment.refunded",
    ]


def test_the_same_key_answers_the_first_answer(
    provider: Any, web: Any, shop: Any, holder: Payer, clock: Any
) -> None:
    body, key = pay_body(holder.code(), 2_000), new_key()
    first = authorize(web, shop, body, key)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    pid = first.json["payment_id"]
    web.post(f"/api/v1/payments/{pid}/capture", headers=shop)
    clock.advance(600)  # the code has expired: the retry is still answered
    retry = authorize(web, shop, body, key)
    assert retry.status_code == 201 and retry.json == first.json
    assert retry.headers["Idempotent-Replayed"] == "true"
    other = authorize(web, shop, {**body, "amount_fen": 2_001}, key)
    assert_problem(other, 422, "idempotency-key-reused")
    with provider.db.read() as s:
        assert len(s.scalars(select(Payment)).all()) == 1


def test_a_spent_code_cannot_pay_again(web: Any, shop: Any, holder: Payer) -> None:
    code = holder.code()
    assert authorize(web, shop, pay_body(code)).status_code == 201
    second = authorize(web, shop, pay_body(code, merchant_order_id="order-0002"))
    body = assert_problem(second, 409, "code-already-redeemed")
    assert isinstance(body["first_redeemed_at"], int)


def test_above_the_no_pin_limit_the_holder_confirms_by_pin(
    provider: Any, web: Any, shop: Any, holder: Payer
) -> None:
    big = provider.settings.payment_no_pin_limit_fen + 1
    payment = paid(web, shop, holder, big)
    assert payment["state"] == "pending_confirmation" and payment["confirm_by"] > provider.now()
    pid = payment["payment_id"]
    with provider.db.read() as s:
        [message] = s.scalars(
            select(OutboxMessage).where(OutboxMessage.event == "payment.pending_confirmation")
        ).all()
    assert message.client_id == holder.channel.client_id
    assert message.payload["payment_id"] == pid and message.payload["amount_fen"] == big
    assert web.get(f"/api/v1/payments/{pid}", headers=shop).json["state"] == "pending_confirmation"

    listed = web.get(f"/api/v1/ecards/{holder.sign_no}/payments", headers=holder.channel_headers)
    assert listed.status_code == 200
    [seen] = listed.json["payments"]
    assert seen["payment_id"] == pid and seen["merchant"]["name"] == "test merchant"
    assert "merchant_order_id" not in seen

    confirm = f"/api/v1/ecards/{holder.sign_no}/payments/{pid}/confirm"
    wrong = web.post(confirm, json={"pin": "000000"}, headers=holder.channel_headers)
    assert_problem(wrong, 403, "factor-failed")
    assert web.get(f"/api/v1/payments/{pid}", headers=shop).json["state"] == "pending_confirmation"
    right = web.post(confirm, json={"pin": CARD["pin"]}, headers=holder.channel_headers)
    assert right.status_code == 200 and right.json["state"] == "authorized"
    now = web.get(f"/api/v1/payments/{pid}", headers=shop).json
    assert now["state"] == "authorized" and now["authorized_at"] == provider.now()
    with provider.db.read() as s:
        assert spent_on(s, holder.sign_no, china_day(provider.now())) == big
    again = web.post(confirm, json={"pin": CARD["pin"]}, headers=holder.channel_headers)
    assert_problem(again, 409, "payment-not-pending")


def test_a_pin_that_never_comes_declines_the_payment(
    provider: Any, web: Any, shop: Any, holder: Payer, clock: Any
) -> None:
    payment = paid(web, shop, holder, provider.settings.payment_no_pin_limit_fen + 1)
    clock.advance(provider.settings.payment_confirmation_seconds)
    now = web.get(f"/api/v1/payments/{payment['payment_id']}", headers=shop).json
    assert now["state"] == "declined" and now["decline_reason"] == "confirmation_expired"
    confirm = f"/api/v1/ecards/{holder.sign_no}/payments/{payment['payment_id']}/confirm"
    late = web.post(confirm, json={"pin": CARD["pin"]}, headers=holder.channel_headers)
    assert_problem(late, 409, "payment-not-pending")


def test_a_locked_pin_declines_the_payment(
    provider: Any, web: Any, shop: Any, holder: Payer
) -> None:
    payment = paid(web, shop, holder, provider.settings.payment_no_pin_limit_fen + 1)
    confirm = f"/api/v1/ecards/{holder.sign_no}/payments/{payment['payment_id']}/confirm"
    answers = [
        web.post(confirm, json={"pin": "000000"}, headers=holder.channel_headers)
        for _ in range(provider.settings.pin_max_failures)
    ]
    assert [a.status_code for a in answers] == [403] * (len(answers) - 1) + [423]
    now = web.get(f"/api/v1/payments/{payment['payment_id']}", headers=shop).json
    assert now["state"] == "declined" and now["decline_reason"] == "pin_locked"


def test_the_daily_limit_declines_and_a_reversal_gives_it_back(
    provider: Any, web: Any, merchant: Any, shop: Any, holder: Payer, clock: Any
) -> None:
    provider.settings = provider.settings.with_overrides(
        payment_no_pin_limit_fen=1_000, payment_daily_limit_fen=2_500
    )
    first, second = paid(web, shop, holder, 1_000), paid(web, shop, holder, 1_000)
    third = paid(web, shop, holder, 1_000)
    assert [first["state"], second["state"]] == ["authorized", "authorized"]
    assert third["state"] == "declined" and third["decline_reason"] == "daily_limit_exceeded"
    reversed_ = web.post(f"/api/v1/payments/{second['payment_id']}/reverse", headers=shop)
    assert reversed_.status_code == 200 and reversed_.json["state"] == "reversed"
    assert paid(web, shop, holder, 1_000)["state"] == "authorized"
    too_big = paid(web, shop, holder, 1_500)  # above the no-PIN limit, and cannot fit today
    assert too_big["state"] == "declined"
    clock.advance(24 * 3600)  # a new day in China
    holder.channel_headers = bearer(web, holder.channel)
    assert paid(web, merchant_headers(web, merchant), holder, 1_000)["state"] == "authorized"


def test_reversal_has_a_window_and_needs_an_uncaptured_payment(
    provider: Any, web: Any, merchant: Any, shop: Any, holder: Payer, clock: Any
) -> None:
    late, captured = paid(web, shop, holder), paid(web, shop, holder)
    web.post(f"/api/v1/payments/{captured['payment_id']}/capture", headers=shop)
    refused = web.post(f"/api/v1/payments/{captured['payment_id']}/reverse", headers=shop)
    assert_problem(refused, 409, "transition-refused")
    clock.advance(provider.settings.payment_reversal_seconds + 1)
    shop = merchant_headers(web, merchant)
    closed = web.post(f"/api/v1/payments/{late['payment_id']}/reverse", headers=shop)
    assert_problem(closed, 409, "reversal-window-closed")
    assert_problem(
        web.post(
            f"/api/v1/payments/{late['payment_id']}/refunds",
            json={"amount_fen": 1},
            headers={**shop, "Idempotency-Key": "refund-key-0009"},
        ),
        409,
        "transition-refused",
    )


def test_the_transition_table_is_the_only_way() -> None:
    """Every target is a state, and nothing leaves a final state."""
    finals = {"declined", "reversed", "refunded"}
    assert all(not (t.sources & finals) for t in TRANSITIONS.values())


def test_daily_statement_reconciles(provider: Any, web: Any, shop: Any, holder: Payer) -> None:
    a, b = paid(web, shop, holder, 1_000), paid(web, shop, holder, 2_000)
    web.post(f"/api/v1/payments/{a['payment_id']}/capture", headers=shop)
    web.post(f"/api/v1/payments/{b['payment_id']}/reverse", headers=shop)
    refund(web, shop, a["payment_id"], 250, "refund-key-0100")
    day = china_day(provider.now())
    statement = web.get(f"/api/v1/payment-statements/{day}", headers=shop)
    assert statement.status_code == 200
    body = statement.json
    listed = {p["payment_id"]: p["state"] for p in body["payments"]}  # one second: any order
    assert listed == {a["payment_id"]: "partially_refunded", b["payment_id"]: "reversed"}
    assert body["totals"] == {
        "payments": 2,
        "authorized_fen": 1_000,
        "captured_fen": 1_000,
        "refunded_fen": 250,
        "net_fen": 750,
    }
    assert body["complete"] is False and body["utc_offset"] == "+08:00"
    other = add_merchant(provider)
    theirs = web.get(f"/api/v1/payment-statements/{day}", headers=merchant_headers(web, other))
    assert theirs.json["payments"] == [] and theirs.json["totals"]["payments"] == 0
    for bad in ("2027-02-30", "yesterday", "2027-1-01"):
        assert_problem(
            web.get(f"/api/v1/payment-statements/{bad}", headers=shop), 404, "statement-not-found"
        )


# -- bad input for every endpoint --------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "slug"),
    [
        (0, "invalid-request"),
        (-100, "invalid-request"),
        (1.5, "invalid-request"),
        ("100", "invalid-request"),
        (True, "invalid-request"),
        (None, "invalid-request"),
        (500_001, "amount-above-limit"),
        (2**53 - 1, "amount-above-limit"),
    ],
)
def test_bad_amounts_are_refused(
    provider: Any, web: Any, shop: Any, holder: Payer, amount: Any, slug: str
) -> None:
    body = assert_problem(authorize(web, shop, pay_body(holder.code(), amount)), 422, slug)
    assert body["field"] == "amount_fen"
    with provider.db.read() as s:
        assert s.scalars(select(Payment)).all() == []


@pytest.mark.parametrize(
    ("change", "status", "slug"),
    [
        ({"currency": "USD"}, 422, "unsupported-currency"),
        ({"currency": "cny"}, 422, "unsupported-currency"),
        ({"currency": None}, 422, "unsupported-currency"),
        ({"merchant_order_id": ""}, 422, "invalid-request"),
        ({"merchant_order_id": "x" * 65}, 422, "invalid-request"),
        ({"code": "not a code"}, 422, "invalid-request"),
        ({"code": "SC1:AAAA"}, 422, "code-malformed"),
        ({"description": ""}, 422, "invalid-request"),
        ({"surprise": 1}, 422, "invalid-request"),
    ],
)
def test_bad_fields_are_refused(
    web: Any, shop: Any, holder: Payer, change: dict[str, Any], status: int, slug: str
) -> None:
    assert_problem(authorize(web, shop, {**pay_body(holder.code()), **change}), status, slug)


def test_bad_codes_are_refused(
    provider: Any, web: Any, shop: Any, holder: Payer, clock: Any
) -> None:
    wrong = authorize(web, shop, pay_body(holder.code(Purpose.MEDICAL)))
    assert assert_problem(wrong, 422, "code-wrong-purpose")["reason"] == "wrong_purpose"
    expiring = holder.code()
    clock.advance(60 + provider.settings.clock_skew + 1)
    assert_problem(authorize(web, shop, pay_body(expiring)), 422, "code-expired")
    code = holder.code()
    change_card(provider, "suspend")
    assert_problem(authorize(web, shop, pay_body(code)), 422, "code-revoked")


def test_bad_requests_are_refused(provider: Any, web: Any, shop: Any, holder: Payer) -> None:
    body = pay_body(holder.code())
    missing = web.post("/api/v1/payments", json=body, headers=shop)
    assert_problem(missing, 400, "idempotency-key-missing")
    odd = web.post("/api/v1/payments", json=body, headers={**shop, "Idempotency-Key": "short"})
    assert assert_problem(odd, 422, "invalid-request")["field"] == "Idempotency-Key"
    raw = {**shop, "Idempotency-Key": new_key(), "Content-Type": "application/json"}
    assert_problem(web.post("/api/v1/payments", data=b"{", headers=raw), 400, "malformed-json")
    huge = web.post("/api/v1/payments", data=b" " * 70_000, headers=raw)
    assert_problem(huge, 413, "body-too-large")
    as_form = {**shop, "Idempotency-Key": new_key()}
    form = web.post("/api/v1/payments", data={"a": "b"}, headers=as_form)
    assert_problem(form, 415, "unsupported-media-type")
    assert_problem(web.post("/api/v1/payments", json=body), 401, "unauthorized")
    forged = {"Authorization": "Bearer nope", "Idempotency-Key": new_key()}
    assert_problem(web.post("/api/v1/payments", json=body, headers=forged), 401, "unauthorized")


def test_wrong_client_kinds_and_scopes_are_refused(provider: Any, web: Any, holder: Payer) -> None:
    body = pay_body(holder.code())
    channel = add_channel(provider, "wechat")
    as_channel = authorize(web, bearer(web, channel), body)
    assert_problem(as_channel, 403, "insufficient-scope")
    redeemer = add_merchant(provider, scope="essc.qr.redeem")
    no_pay = authorize(web, merchant_headers(web, redeemer, "essc.qr.redeem"), body)
    assert_problem(no_pay, 403, "insufficient-scope")
    disguised = add_merchant(provider)
    headers = merchant_headers(web, disguised)
    with provider.db.transaction() as s:
        row = s.get(ChannelRow, disguised.client_id)
        assert row is not None
        row.kind = "bank"  # a bank that somehow holds essc.pay is still not a merchant
    assert_problem(authorize(web, headers, body), 403, "wrong-client-kind")
    listing = web.get(f"/api/v1/ecards/{holder.sign_no}/payments", headers=headers)
    assert listing.status_code == 403  # a merchant is not the holder's channel


def test_another_merchants_payment_does_not_exist(
    provider: Any, web: Any, shop: Any, holder: Payer
) -> None:
    pid = paid(web, shop, holder)["payment_id"]
    other = merchant_headers(web, add_merchant(provider))
    assert_problem(web.get(f"/api/v1/payments/{pid}", headers=other), 404, "payment-not-found")
    for action in ("capture", "reverse"):
        response = web.post(f"/api/v1/payments/{pid}/{action}", headers=other)
        assert_problem(response, 404, "payment-not-found")
    assert_problem(refund(web, other, pid, 1, "refund-key-0200"), 404, "payment-not-found")
    for unknown in ("py_" + "A" * 22, "nope", "py_" + "A" * 200):
        response = web.get(f"/api/v1/payments/{unknown}", headers=shop)
        assert_problem(response, 404, "payment-not-found")
    assert web.get(f"/api/v1/payments/{pid}", headers=shop).json["state"] == "authorized"


def test_bad_refunds_captures_and_confirmations(
    provider: Any, web: Any, shop: Any, holder: Payer
) -> None:
    pid = paid(web, shop, holder)["payment_id"]
    web.post(f"/api/v1/payments/{pid}/capture", headers=shop)
    for amount in (0, -1, 0.5, "1"):
        assert_problem(refund(web, shop, pid, amount, "refund-key-0300"), 422, "invalid-request")
    no_key = web.post(f"/api/v1/payments/{pid}/refunds", json={"amount_fen": 1}, headers=shop)
    assert_problem(no_key, 400, "idempotency-key-missing")
    extra = web.post(f"/api/v1/payments/{pid}/capture", json={"amount_fen": 1}, headers=shop)
    assert_problem(extra, 422, "invalid-request")

    big = paid(web, shop, holder, provider.settings.payment_no_pin_limit_fen + 1)
    confirm = f"/api/v1/ecards/{holder.sign_no}/payments/{big['payment_id']}/confirm"
    headers = holder.channel_headers
    for body in ({"pin": "12345"}, {"pin": 123456}, {}, {"pin": "123456", "x": 1}):
        assert_problem(web.post(confirm, json=body, headers=headers), 422, "invalid-request")
    stranger = bearer(web, add_channel(provider, "wechat"))
    alien = web.post(confirm, json={"pin": CARD["pin"]}, headers=stranger)
    assert_problem(alien, 404, "ecard-not-found")
    wrong_payment = f"/api/v1/ecards/{holder.sign_no}/payments/{pid}x/confirm"
    assert_problem(
        web.post(wrong_payment, json={"pin": CARD["pin"]}, headers=headers),
        404,
        "payment-not-found",
    )
    listing = web.get(f"/api/v1/ecards/{holder.sign_no}/payments?before=x", headers=headers)
    assert_problem(listing, 422, "invalid-request")
    assert_problem(
        web.get(f"/api/v1/ecards/{holder.sign_no}/payments", headers=stranger),
        404,
        "ecard-not-found",
    )
