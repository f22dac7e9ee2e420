"""Scan-to-sign-in over HTTP: the happy path to a code with the assertion's acr, and each
hostile step answered with its own problem, never a 500 (docs/scan-signin.md)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from idp.provider import Provider
from tests.scan_signin.helpers import API
from tests.scan_signin.helpers import Phone
from tests.scan_signin.helpers import open_scan_page
from tests.support import FakeClock
from tests.support import approve
from tests.support import csrf_of
from tests.support import exchange
from tests.support import query_of


@pytest.fixture
def phone(provider: Provider, cardholder: dict[str, str]) -> Phone:
    return Phone(provider, cardholder["person_id"])


def _number(web: Any, base: str) -> int:
    status = web.get(f"{base}/scan/status").json
    assert status["state"] == "scanned"
    return int(status["number"])


def _complete(web: Any, base: str) -> Any:
    csrf = csrf_of(web.get(f"{base}/signin").get_data(as_text=True))
    return web.post(f"{base}/scan/complete", data={"csrf_token": csrf})


def test_scan_approve_and_continue(web: Any, portal: Any, phone: Phone) -> None:
    base, qr, verifier = open_scan_page(web, portal)
    assert web.get(f"{base}/scan/status").json["state"] == "waiting"
    scanned = phone.call(web, "scan", qr)
    assert scanned.status_code == 200, scanned.json
    body = scanned.json
    assert body["portal"]["client_id"] == portal.client_id and len(body["choices"]) == 3
    assert body["far_from_pc"] is False and body["pc"]["network"].endswith("/24")
    assert body["pc"]["location"] == "本机", "the test client is on loopback"
    number = _number(web, base)
    assert number in body["choices"]
    approved = phone.call(web, "approve", qr, number=number)
    assert approved.json == {"state": "approved", "far_from_pc": False}
    assert web.get(f"{base}/scan/status").json["state"] == "approved"
    csrf = csrf_of(web.get(f"{base}/signin").get_data(as_text=True))
    done = web.post(f"{base}/scan/complete", data={"csrf_token": csrf})
    assert done.status_code == 303 and done.headers["Location"].endswith("/consent")
    location = approve(web, done.headers["Location"]).headers["Location"]
    token = exchange(web, portal, query_of(location)["code"], verifier).json
    claims = jwt.decode(token["id_token"], options={"verify_signature": False})
    assert claims["acr"] == "urn:essc:acr:channel-realname" and claims["amr"] == ["user"]
    again = web.post(f"{base}/scan/complete", data={"csrf_token": csrf})
    assert again.status_code == 400  # redeemed once


def test_approve_twice_is_409(web: Any, portal: Any, phone: Phone) -> None:
    base, qr, _ = open_scan_page(web, portal)
    phone.call(web, "scan", qr)
    number = _number(web, base)
    assert phone.call(web, "approve", qr, number=number).status_code == 200
    again = phone.call(web, "approve", qr, number=number)
    assert again.status_code == 409 and again.json["type"].endswith("scan-request-decided")


def test_wrong_number_denies(web: Any, portal: Any, phone: Phone) -> None:
    base, qr, _ = open_scan_page(web, portal)
    choices = phone.call(web, "scan", qr).json["choices"]
    wrong = next(c for c in choices if c != _number(web, base))
    refused = phone.call(web, "approve", qr, number=wrong)
    assert refused.status_code == 403 and refused.json["type"].endswith("wrong-number")
    assert web.get(f"{base}/scan/status").json["state"] == "denied"  # committed
    late = phone.call(web, "approve", qr, number=_right(choices, wrong))
    assert late.status_code == 409


def _right(choices: list[int], wrong: int) -> int:
    return next(c for c in choices if c != wrong)


def test_after_expiry_is_410(web: Any, portal: Any, phone: Phone, clock: FakeClock) -> None:
    base, qr, _ = open_scan_page(web, portal)
    phone.call(web, "scan", qr)
    number = _number(web, base)
    clock.advance(121)
    late = phone.call(web, "approve", qr, number=number)
    assert late.status_code == 410
    assert web.get(f"{base}/scan/status").json["state"] == "expired"


def test_other_channels_user_is_403(
    web: Any, provider: Provider, portal: Any, phone: Phone, cardholder: dict[str, str]
) -> None:
    base, qr, _ = open_scan_page(web, portal)
    phone.call(web, "scan", qr)
    other = Phone(provider, cardholder["person_id"])
    refused = other.call(web, "approve", qr, number=_number(web, base))
    assert refused.status_code == 403 and refused.json["type"].endswith("other-user")


def test_redeem_from_another_browser(app: Any, web: Any, portal: Any, phone: Phone) -> None:
    base, qr, _ = open_scan_page(web, portal)
    phone.call(web, "scan", qr)
    phone.call(web, "approve", qr, number=_number(web, base))
    stranger = app.test_client()
    assert stranger.get(f"{base}/scan/status").status_code == 404
    assert stranger.post(f"{base}/scan/complete", data={"csrf_token": "x"}).status_code == 400
    assert _complete(web, base).status_code == 303  # still the PC's to redeem


def test_a_new_code_retires_the_old(web: Any, portal: Any, phone: Phone) -> None:
    base, old, _ = open_scan_page(web, portal)
    assert web.get(f"{base}/scan").status_code == 200
    assert phone.call(web, "scan", old).status_code == 410


BAD_REQUESTS: list[object] = [
    None,
    "",
    "ESSC:SIGNIN:",
    "essc:signin:" + "A" * 32,
    "ESSC:SIGNIN:" + "A" * 31 + "1",
    "ESSC:SIGNIN:" + "A" * 31 + "\ud800",
    "ESSC:SIGNIN:" + "A" * 31 + "\x00",
    "ESSC:SIGNIN:" + "A" * 33,
    "x" * 10_000,
    123,
    ["ESSC:SIGNIN:" + "A" * 32],
]


@pytest.mark.parametrize("bad", BAD_REQUESTS, ids=range(len(BAD_REQUESTS)))
def test_malformed_references_are_400(web: Any, phone: Phone, bad: object) -> None:
    response = phone.call(web, "scan", bad)
    assert response.status_code == 400, response.json
    assert response.mimetype == "application/problem+json"


def test_unknown_reference_is_404(web: Any, phone: Phone) -> None:
    assert phone.call(web, "scan", "ESSC:SIGNIN:" + "A" * 32).status_code == 404


def test_lone_surrogate_in_raw_json_is_400(web: Any) -> None:
    raw = b'{"request": "ESSC:SIGNIN:\\ud800", "assertion": "x"}'
    response = web.post(f"{API}/scan", data=raw, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("number", [None, "12", True, 9, 100, 1.5, [12]])
def test_malformed_numbers_are_400(web: Any, portal: Any, phone: Phone, number: object) -> None:
    _, qr, _ = open_scan_page(web, portal)
    phone.call(web, "scan", qr)
    assert phone.call(web, "approve", qr, number=number).status_code == 400


def test_bad_assertion_is_401(web: Any, portal: Any, phone: Phone) -> None:
    _, qr, _ = open_scan_page(web, portal)
    body = {"request": qr, "assertion": "not.a.jwt"}
    assert web.post(f"{API}/scan", json=body).status_code == 401
    replayed = phone.channel.hint(phone.sign_no)
    assert web.post(f"{API}/scan", json={"request": qr, "assertion": replayed}).status_code == 200
    again = web.post(f"{API}/deny", json={"request": qr, "assertion": replayed})
    assert again.status_code == 401


def test_deny(web: Any, portal: Any, phone: Phone) -> None:
    base, qr, _ = open_scan_page(web, portal)
    phone.call(web, "scan", qr)
    assert phone.call(web, "deny", qr).json["state"] == "denied"
    assert web.get(f"{base}/scan/status").json["state"] == "denied"
