"""The QR endpoints: issuing for a channel and for a cardholder, pictures, keys and the list."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from idp.qr.token import Purpose
from idp.qr.token import decode
from idp.qr.verifier import OfflineVerifier
from idp.qr.verifier import QrKeySet
from idp.qr.verifier import StatusList
from idp.store.security import AuditEvent
from tests.ecard_helpers import assert_problem
from tests.ecard_helpers import bearer
from tests.ecard_helpers import channel_of
from tests.qr.helpers import change_card
from tests.qr.helpers import codes
from tests.qr.helpers import issue_ecard
from tests.qr.helpers import issue_in
from tests.support import CARD
from tests.support import exchange
from tests.support import obtain_code
from tests.support import register


def _ask(web: Any, headers: dict[str, str], sign_no: str, body: Any) -> Any:
    return web.post(f"/api/v1/ecards/{sign_no}/qr-codes", json=body, headers=headers)


def test_a_channel_asks_for_a_batch(web: Any, provider: Any, cardholder: Any, clock: Any) -> None:
    registered, sign_no = issue_ecard(provider, cardholder)
    response = _ask(web, bearer(web, registered), sign_no, {"purpose": "payment", "count": 3})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.json
    assert body["jwks_uri"].endswith("/qr/jwks.json")
    assert [c["valid_from"] for c in body["codes"]] == [int(clock()) + 60 * i for i in range(3)]
    jwks = web.get("/qr/jwks.json").json
    verifier = OfflineVerifier(jwks, clock=clock)
    first = verifier.verify(body["codes"][0]["code"], "payment")
    assert first.code_id == body["codes"][0]["code_id"]


def test_issuing_is_audited_without_personal_data(web: Any, provider: Any, cardholder: Any) -> None:
    registered, sign_no = issue_ecard(provider, cardholder)
    body = {"purpose": "medical", "count": 2}
    response = _ask(web, bearer(web, registered), sign_no, body)
    assert response.status_code == 201
    with provider.db.read() as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.event == "qr.issued")).all()
    assert event.person_id == cardholder["person_id"]
    assert event.client_id == registered.client_id and event.request_id
    assert event.request_id == response.headers["X-Request-Id"]
    assert event.detail == {
        "code_ids": [c["code_id"] for c in response.json["codes"]],
        "purpose": "medical",
        "sign_no": sign_no,
    }
    stored = repr(event.detail) + repr(event.actor)
    for personal in (CARD["id_number"], CARD["card_number"], CARD["name"]):
        assert personal not in stored
    assert not any(c["code"] in stored for c in response.json["codes"])
    refused = _ask(web, bearer(web, registered), "x" * 43, body)
    assert refused.status_code == 404
    with provider.db.read() as s:
        assert len(s.scalars(select(AuditEvent).where(AuditEvent.event == "qr.issued")).all()) == 1


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"purpose": "parking"}, 422, "invalid-request"),
        ({"purpose": "payment", "count": 6}, 422, "invalid-request"),
        ({"purpose": "payment", "count": 0}, 422, "invalid-request"),
        ({"purpose": "payment", "count": "2"}, 422, "invalid-request"),
        ({"purpose": "payment", "count": True}, 422, "invalid-request"),
        ({"purpose": "payment", "extra": 1}, 422, "invalid-request"),
        ({}, 422, "invalid-request"),
        ([], 422, "invalid-request"),
    ],
)
def test_bad_bodies(
    web: Any, provider: Any, cardholder: Any, body: Any, status: int, slug: str
) -> None:
    registered, sign_no = issue_ecard(provider, cardholder)
    assert_problem(_ask(web, bearer(web, registered), sign_no, body), status, slug)


def test_refusals(web: Any, provider: Any, cardholder: Any) -> None:
    registered, sign_no = issue_ecard(provider, cardholder)
    headers = bearer(web, registered)
    assert_problem(_ask(web, {}, sign_no, {"purpose": "identity"}), 401, "unauthorized")
    assert_problem(_ask(web, headers, "x" * 43, {"purpose": "identity"}), 404, "ecard-not-found")
    not_json = web.post(f"/api/v1/ecards/{sign_no}/qr-codes", data="{}", headers=headers)
    assert_problem(not_json, 415, "unsupported-media-type")
    change_card(provider, "suspend")
    assert_problem(_ask(web, headers, sign_no, {"purpose": "identity"}), 409, "card-not-usable")


def test_level_one_payment_refused(web: Any, provider: Any, cardholder: Any) -> None:
    registered, sign_no = issue_ecard(provider, cardholder, level=1)
    refused = _ask(web, bearer(web, registered), sign_no, {"purpose": "payment"})
    assert_problem(refused, 403, "level-too-low")


def _user_token(web: Any, app: Any, scope: str) -> dict[str, str]:
    code, verifier = obtain_code(web, app, scope=scope)
    return {"Authorization": "Bearer " + exchange(web, app, code, verifier).json["access_token"]}


def test_a_cardholder_asks_with_their_own_token(web: Any, provider: Any, cardholder: Any) -> None:
    issue_ecard(provider, cardholder)  # links the bank account: level 2 is possible
    app = register(provider, kind="bank", scope="openid essc.ecard")
    issue_in(provider, channel_of(provider, app.client_id), key="req-app-0001")
    headers = _user_token(web, app, "openid essc.ecard")
    response = web.post("/api/v1/me/qr-codes", json={"purpose": "medical"}, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert decode(response.json["codes"][0]["code"]).token.purpose is Purpose.MEDICAL
    narrow = _user_token(web, app, "openid")
    denied = web.post("/api/v1/me/qr-codes", json={"purpose": "medical"}, headers=narrow)
    assert denied.status_code == 403 and "insufficient_scope" in denied.headers["WWW-Authenticate"]


def test_a_cardholder_without_an_ecard_in_the_channel(
    web: Any, provider: Any, cardholder: Any
) -> None:
    app = register(provider, kind="bank", scope="openid essc.ecard")
    headers = _user_token(web, app, "openid essc.ecard")
    response = web.post("/api/v1/me/qr-codes", json={"purpose": "identity"}, headers=headers)
    assert_problem(response, 404, "ecard-not-found")


@pytest.mark.parametrize("kind", ["svg", "png"])
def test_render(web: Any, provider: Any, cardholder: Any, kind: str) -> None:
    _, sign_no = issue_ecard(provider, cardholder)
    (text,) = codes(provider, sign_no, Purpose.TRANSIT)
    response = web.get(f"/qr/render.{kind}", query_string={"code": text})
    assert response.status_code == 200
    assert response.mimetype == ("image/svg+xml" if kind == "svg" else "image/png")
    forged = text[:-3] + ("AAA" if text[-3:] != "AAA" else "BBB")
    assert_problem(
        web.get(f"/qr/render.{kind}", query_string={"code": forged}), 422, "invalid-code"
    )
    assert_problem(
        web.get(f"/qr/render.{kind}", query_string={"code": "hello"}), 422, "invalid-code"
    )
    assert_problem(web.get(f"/qr/render.{kind}"), 400, "invalid-request")
    big = web.get(f"/qr/render.{kind}", query_string={"code": text, "scale": "99"})
    assert_problem(big, 400, "invalid-request")


def test_status_list_endpoint(web: Any, provider: Any, cardholder: Any, clock: Any) -> None:
    response = web.get("/qr/status-list")
    assert response.status_code == 200
    assert response.mimetype == "application/statuslist+jwt"
    keys = QrKeySet.from_jwks(web.get("/qr/jwks.json").json)
    found = StatusList.from_jwt(
        response.get_data(as_text=True), keys, subject=provider.qr.status_list_uri, now=clock()
    )
    assert not found.is_revoked(0) and len(found.bits) == 2**21


@pytest.mark.parametrize(
    ("raw", "status", "slug"),
    [
        (b"\xff\xfe", 400, "malformed-json"),
        (b'{"purpose": "payment", "purpose": "medical"}', 400, "malformed-json"),
        (b'{"purpose": "payment", "count": 1e400}', 400, "malformed-json"),
        (b"[" * 100 + b"]" * 100, 400, "malformed-json"),
        (b'{"purpose": "' + b"x" * 5000 + b'"}', 413, "body-too-large"),
    ],
)
def test_hostile_bodies(
    web: Any, provider: Any, cardholder: Any, raw: bytes, status: int, slug: str
) -> None:
    registered, sign_no = issue_ecard(provider, cardholder)
    headers = {**bearer(web, registered), "Content-Type": "application/json"}
    response = web.post(f"/api/v1/ecards/{sign_no}/qr-codes", data=raw, headers=headers)
    assert_problem(response, status, slug)
