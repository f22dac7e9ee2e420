"""The scan-to-pay HTTP API (issue 9, item 5; docs/payments.md).

Merchants (kind ``merchant``, scope ``essc.pay``; authenticated as in
``idp.qr.redemption_views``):

- ``POST /api/v1/payments`` (``Idempotency-Key``): authorize with a scanned payment code
- ``GET /api/v1/payments/{payment_id}``: the payment now (poll a pending one)
- ``POST /api/v1/payments/{payment_id}/capture`` and ``/reverse``
- ``POST /api/v1/payments/{payment_id}/refunds`` (``Idempotency-Key``)
- ``GET /api/v1/payment-statements/{day}``: the day's statement for reconciliation

Channels (scope ``essc.ecard``, every way in of the e-card API, ``idp.ecards.views``), for
their own e-cards:

- ``GET /api/v1/ecards/{sign_no}/payments``: the holder's payments
- ``POST /api/v1/ecards/{sign_no}/payments/{payment_id}/confirm``: relay the holder's PIN

Views translate HTTP only; each call is one transaction around ``idp.payments.service``.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import g
from flask import request

from channels.kinds import PAY_SCOPE
from idp.ecards import views as ecards_views
from idp.errors import Problem
from idp.http.http import oauth_json
from idp.http.http import provider
from idp.payments import requests as parse
from idp.payments import service
from idp.provider import Provider
from idp.qr.redemption_views import json_body
from idp.qr.redemption_views import merchant_of
from idp.qr.redemption_views import open_code

bp = Blueprint("payments_api", __name__, url_prefix="/api/v1")
bp.register_error_handler(Problem, ecards_views.on_problem)
#: A channel calling with its native scheme gets its answer signed in that scheme.
bp.after_request(ecards_views.sign_response)
REPLAYED = "Idempotent-Replayed"


def policy(p: Provider) -> service.Policy:
    s = p.settings
    return service.Policy(
        no_pin_limit_fen=s.payment_no_pin_limit_fen,
        daily_limit_fen=s.payment_daily_limit_fen,
        confirmation_seconds=s.payment_confirmation_seconds,
        reversal_seconds=s.payment_reversal_seconds,
        pin_hasher=p.pin_hasher,
        pin_max_failures=s.pin_max_failures,
        pin_lockout_seconds=s.pin_lockout_seconds,
    )


def _answer(answer: service.Answer) -> Response:
    headers = {REPLAYED: "true"} if answer.replayed else None
    return oauth_json(answer.body, answer.status, headers)


@bp.post("/payments")
def authorize() -> Response:
    p = provider()
    with p.db.transaction() as session:
        merchant = merchant_of(session, p, PAY_SCOPE)
        key = parse.idempotency_key(request.headers.get("Idempotency-Key"))
        asked = parse.parse_authorization(json_body(), key, p.settings.payment_daily_limit_fen)
        answer = service.authorize(
            session,
            merchant,
            asked,
            lambda: open_code(session, p, asked.code, "payment"),
            policy(p),
            now=p.now(),
            request_id=g.get("request_id"),
        )
    return _answer(answer)


@bp.get("/payments/<payment_id>")
def payment(payment_id: str) -> Response:
    p = provider()
    with p.db.transaction() as session:
        merchant = merchant_of(session, p, PAY_SCOPE)
        return oauth_json(service.current(session, merchant, payment_id, p.now()))


@bp.post("/payments/<payment_id>/capture")
def capture(payment_id: str) -> Response:
    p = provider()
    with p.db.transaction() as session:
        merchant = merchant_of(session, p, PAY_SCOPE)
        parse.parse_empty(json_body())
        body = service.capture(
            session, merchant, payment_id, now=p.now(), request_id=g.get("request_id")
        )
    return oauth_json(body)


@bp.post("/payments/<payment_id>/reverse")
def reverse(payment_id: str) -> Response:
    p = provider()
    with p.db.transaction() as session:
        merchant = merchant_of(session, p, PAY_SCOPE)
        parse.parse_empty(json_body())
        body = service.reverse(
            session, merchant, payment_id, policy(p), now=p.now(), request_id=g.get("request_id")
        )
    return oauth_json(body)


@bp.post("/payments/<payment_id>/refunds")
def refund(payment_id: str) -> Response:
    p = provider()
    with p.db.transaction() as session:
        merchant = merchant_of(session, p, PAY_SCOPE)
        key = parse.idempotency_key(request.headers.get("Idempotency-Key"))
        asked = parse.parse_refund(json_body(), key, p.settings.payment_daily_limit_fen)
        answer = service.refund(
            session, merchant, payment_id, asked, now=p.now(), request_id=g.get("request_id")
        )
    return _answer(answer)


@bp.get("/payment-statements/<day>")
def statement(day: str) -> Response:
    p = provider()
    with p.db.read() as session:
        merchant = merchant_of(session, p, PAY_SCOPE)
        return oauth_json(service.statement(session, merchant, parse.parse_day(day), now=p.now()))


@bp.get("/ecards/<sign_no>/payments")
def holder_payments(sign_no: str) -> Response:
    p = provider()
    before = parse.before(request.args.get("before"))
    with p.unit_of_work(request_id=g.get("request_id")) as uow:
        channel = ecards_views.authenticate(uow.session, p, ecards_views._raw_body()).channel
        body = service.holder_payments(uow, channel, sign_no, now=p.now(), before=before)
    return oauth_json(body)


@bp.post("/ecards/<sign_no>/payments/<payment_id>/confirm")
def confirm(sign_no: str, payment_id: str) -> Response:
    p, raw = provider(), ecards_views._raw_body()
    with p.unit_of_work(request_id=g.get("request_id")) as uow:
        caller = ecards_views.authenticate(uow.session, p, raw)
        pin = parse.parse_confirmation(ecards_views._json(caller, raw))
        body = service.confirm(
            uow, caller.channel, sign_no, payment_id, pin, policy(p), now=p.now()
        )
    return oauth_json(body)
