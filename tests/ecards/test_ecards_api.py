"""The channel e-card API over HTTP: Bearer and native-signature authentication, issuance per
channel family, queries, unbinding, a hostile-input table, and the OpenAPI document."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.signing import BY_NAME
from channels.signing import OwnKey
from idp.store.security import AuditEvent
from keys.notification import rsa_signer
from tests.ecard_helpers import FAMILIES
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import assert_problem
from tests.ecard_helpers import bearer
from tests.ecard_helpers import channel_key
from tests.ecard_helpers import counts
from tests.ecard_helpers import issue_body
from tests.ecard_helpers import public_pem
from tests.ecard_helpers import set_card
from tests.support import CARD

ROOT = Path(__file__).resolve().parents[2]
SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"


def native_channel(provider: Any, kind: str, scheme: str) -> Any:
    key = channel_key()
    return add_channel(provider, kind, api_auth_scheme=scheme, api_keys={SERIAL: public_pem(key)})


def signer(provider: Any, client_id: str, scheme: str, serial: str = SERIAL) -> Any:
    """The channel's side: its SDK signing a request with its private key."""
    return BY_NAME[scheme].signer(
        OwnKey(client_id, rsa_signer(channel_key()), serial), provider.clock
    )


def signed_post(web: Any, sign: Any, path: str, body: bytes, **headers: str) -> Any:
    headers = {"Authorization": sign.authorization("POST", path, body), **headers}
    return web.post(path, data=body, content_type="application/json", headers=headers)


@pytest.mark.parametrize("family", FAMILIES)
def test_bearer_issuance_and_query_per_family(
    provider: Any, web: Any, cardholder: Any, family: str
) -> None:
    channel = add_channel(provider, family)
    headers = bearer(web, channel)
    response = web.post("/api/v1/ecards", json=issue_body(provider, family), headers=headers)
    assert response.status_code == 201, response.json
    issued = response.json
    assert response.headers["Location"] == f"/api/v1/ecards/{issued['sign_no']}"
    assert response.headers["Cache-Control"] == "no-store"
    assert issued["credential"].count("~") == 5 and issued["credential_format"] == "dc+sd-jwt"
    set_card(provider, cardholder["person_id"], production_stage="producing")
    status = web.get(response.headers["Location"], headers=headers)
    assert status.status_code == 200
    assert status.json["status"] == "active" and status.json["level"] == 1
    card = status.json["card"]
    assert card["status"] == "normal" and card["production_stage"] == "producing"
    assert card["card_number_masked"] == "A0*****01"
    assert CARD["id_number"] not in status.get_data(as_text=True)
    with provider.db.read() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.event == "ecard.issued"))
    assert event is not None and event.request_id == response.headers["X-Request-Id"]


@pytest.mark.parametrize(("kind", "scheme"), [("wechat", "wechatpay-v3"), ("alipay", "alipay-v3")])
def test_native_signed_issuance_query_and_unbind(
    provider: Any, web: Any, cardholder: Any, kind: str, scheme: str
) -> None:
    channel = native_channel(provider, kind, scheme)
    sign = signer(provider, channel.client_id, scheme)
    body = json.dumps(issue_body(provider, kind), ensure_ascii=False).encode()
    response = signed_post(web, sign, "/api/v1/ecards", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    path = response.headers["Location"]
    status = web.get(path, headers={"Authorization": sign.authorization("GET", path, b"")})
    assert status.status_code == 200 and status.json["status"] == "active"
    unbind = json.dumps({"factor": "pin", "pin": CARD["pin"]}).encode()
    done = signed_post(web, sign, path + "/unbind", unbind)
    assert done.status_code == 200 and done.json["status"] == "unbound"


def test_idempotent_retry_over_http(provider: Any, web: Any, cardholder: Any) -> None:
    channel = add_channel(provider, "bank")
    headers = bearer(web, channel)
    first = web.post("/api/v1/ecards", json=issue_body(provider, "bank"), headers=headers)
    before = counts(provider)
    again = web.post("/api/v1/ecards", json=issue_body(provider, "bank"), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["sign_no"] == first.json["sign_no"]
    assert counts(provider) == before
    other = issue_body(provider, "bank", level=2)
    assert_problem(
        web.post("/api/v1/ecards", json=other, headers=headers), 409, "idempotency-key-reused"
    )


def test_a_channel_sees_only_its_own_ecards(provider: Any, web: Any, cardholder: Any) -> None:
    owner, other = add_channel(provider, "wechat"), add_channel(provider, "alipay")
    issued = web.post("/api/v1/ecards", json=issue_body(provider), headers=bearer(web, owner))
    path = issued.headers["Location"]
    assert_problem(web.get(path, headers=bearer(web, other)), 404, "ecard-not-found")
    unbind = {"factor": "face", "face_verified_at": provider.now()}
    response = web.post(path + "/unbind", json=unbind, headers=bearer(web, other))
    assert_problem(response, 404, "ecard-not-found")
    assert_problem(
        web.get("/api/v1/ecards/a%00b", headers=bearer(web, owner)), 404, "ecard-not-found"
    )


def _cases(provider: Any, web: Any, cardholder: Any) -> list[tuple[str, Any, int, str]]:
    """(name, request thunk, status, problem slug) for the hostile-input table."""
    bank = add_channel(provider, "bank")
    token = bearer(web, bank)
    wechat = native_channel(provider, "wechat", "wechatpay-v3")
    alipay_v3 = native_channel(provider, "alipay", "alipay-v3")
    merchant = add_channel(provider, "merchant", scope="essc.qr.verify")
    sign = signer(provider, wechat.client_id, "wechatpay-v3")
    good = json.dumps(issue_body(provider, "wechat")).encode()
    url = "/api/v1/ecards"

    def post(body: Any = None, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return lambda: web.post(url, json=body, headers=token if headers is None else headers, **kw)

    def tampered() -> Any:
        header = sign.authorization("POST", url, good)
        changed = good.replace(b"wechat-0001", b"wechat-0002")
        return web.post(
            url, data=changed, content_type="application/json", headers={"Authorization": header}
        )

    def stale() -> Any:
        provider.clock.advance(-301)
        header = sign.authorization("POST", url, good)
        provider.clock.advance(301)
        return web.post(
            url, data=good, content_type="application/json", headers={"Authorization": header}
        )

    def send(headers: dict[str, str], body: bytes = good) -> Any:
        return lambda: web.post(url, data=body, content_type="application/json", headers=headers)

    stranger_serial = signer(provider, wechat.client_id, "wechatpay-v3", serial="0" * 40)
    wrong_scheme = signer(provider, alipay_v3.client_id, "wechatpay-v3")
    set_card(provider, cardholder["person_id"])  # the cancelled card case flips it itself
    return [
        ("no credentials", post(issue_body(provider, "bank"), {}), 401, "unauthorized"),
        (
            "garbage bearer",
            post(issue_body(provider, "bank"), {"Authorization": "Bearer x.y.z"}),
            401,
            "unauthorized",
        ),
        (
            "malformed wechatpay header",
            send({"Authorization": 'WECHATPAY2-SHA256-RSA2048 mchid="x"'}),
            401,
            "unauthorized",
        ),
        ("unknown scheme", send({"Authorization": "HMAC abc"}), 401, "unauthorized"),
        ("body changed after signing", tampered, 401, "unauthorized"),
        (
            "unregistered serial",
            send({"Authorization": stranger_serial.authorization("POST", url, good)}),
            401,
            "unauthorized",
        ),
        ("stale timestamp", stale, 401, "unauthorized"),
        (
            "channel registered for another scheme",
            send({"Authorization": wrong_scheme.authorization("POST", url, good)}),
            401,
            "unauthorized",
        ),
        (
            "wrong channel: merchant without essc.ecard",
            post(issue_body(provider, "bank"), bearer(web, merchant, "essc.qr.verify")),
            403,
            "insufficient-scope",
        ),
        (
            "wrong check digit",
            post(issue_body(provider, "bank", id_number="110105194912310021")),
            422,
            "invalid-id-number",
        ),
        (
            "name mismatch",
            post(issue_body(provider, "bank", name="李四")),
            422,
            "cardholder-mismatch",
        ),
        (
            "unknown member",
            post({**issue_body(provider, "bank"), "extra": 1}),
            422,
            "invalid-request",
        ),
        ("level 3", post(issue_body(provider, "bank", level=3)), 422, "invalid-request"),
        (
            "oversized body",
            post(issue_body(provider, "bank", name="张" * 40_000)),
            413,
            "body-too-large",
        ),
        (
            "wrong content type",
            lambda: web.post(url, data=good, content_type="text/plain", headers=token),
            415,
            "unsupported-media-type",
        ),
        (
            "form body",
            lambda: web.post(url, data={"name": "x"}, headers=token),
            415,
            "unsupported-media-type",
        ),
        (
            "malformed json",
            lambda: web.post(url, data=b'{"name":', content_type="application/json", headers=token),
            400,
            "malformed-json",
        ),
        (
            "not utf-8",
            lambda: web.post(
                url, data=b'{"name":"\xff"}', content_type="application/json", headers=token
            ),
            400,
            "malformed-json",
        ),
        ("json array", post([1, 2]), 422, "invalid-request"),
    ]


CASE_NAMES = [
    "no credentials", "garbage bearer", "malformed wechatpay header", "unknown scheme",
    "body changed after signing", "unregistered serial", "stale timestamp",
    "channel registered for another scheme", "wrong channel: merchant without essc.ecard",
    "wrong check digit", "name mismatch", "unknown member", "level 3", "oversized body",
    "wrong content type", "form body", "malformed json", "not utf-8", "json array",
]  # fmt: skip


@pytest.mark.parametrize("name", CASE_NAMES)
def test_bad_input_is_a_problem_and_writes_nothing(
    provider: Any, web: Any, cardholder: Any, name: str
) -> None:
    cases = {case[0]: case[1:] for case in _cases(provider, web, cardholder)}
    assert set(cases) == set(CASE_NAMES)
    call, status, slug = cases[name]
    before = counts(provider)
    body = assert_problem(call(), status, slug)
    assert counts(provider) == before
    if status == 401:
        assert body["reason"]
    assert CARD["id_number"] not in json.dumps(body, ensure_ascii=False)


def test_cancelled_card_and_replayed_nonce(provider: Any, web: Any, cardholder: Any) -> None:
    channel = native_channel(provider, "wechat", "wechatpay-v3")
    sign = signer(provider, channel.client_id, "wechatpay-v3")
    body = json.dumps(issue_body(provider, "wechat")).encode()
    header = {"Authorization": sign.authorization("POST", "/api/v1/ecards", body)}
    set_card(provider, cardholder["person_id"], status="cancelled")
    before = counts(provider)
    post = web.post("/api/v1/ecards", data=body, content_type="application/json", headers=header)
    assert assert_problem(post, 409, "card-not-usable")["card_status"] == "cancelled"
    again = web.post("/api/v1/ecards", data=body, content_type="application/json", headers=header)
    assert assert_problem(again, 401, "unauthorized")["reason"] == "replayed_nonce"
    assert counts(provider) == before


def test_unbind_problems(provider: Any, web: Any, cardholder: Any) -> None:
    channel = add_channel(provider, "alipay")
    headers = bearer(web, channel)
    path = web.post("/api/v1/ecards", json=issue_body(provider, "alipay"), headers=headers).headers[
        "Location"
    ]
    before = counts(provider)
    wrong = web.post(path + "/unbind", json={"factor": "pin", "pin": "000000"}, headers=headers)
    assert_problem(wrong, 403, "factor-failed")
    both = {"factor": "pin", "pin": CARD["pin"], "face_verified_at": provider.now()}
    assert_problem(web.post(path + "/unbind", json=both, headers=headers), 422, "invalid-request")
    stale = {"factor": "face", "face_verified_at": provider.now() - 3600}
    assert_problem(web.post(path + "/unbind", json=stale, headers=headers), 422, "stale-face-check")
    assert counts(provider) == before


def test_method_not_allowed_is_a_problem(web: Any) -> None:
    response = web.get("/api/v1/ecards")
    assert response.status_code == 405 and response.mimetype == "application/problem+json"


def test_openapi_is_served_kept_in_docs_and_covers_every_route(app: Any, web: Any) -> None:
    served = web.get("/openapi.json")
    assert served.status_code == 200
    kept = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert served.json == kept and kept["openapi"].startswith("3.1")
    routes = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("ecards_api.")]
    assert routes
    for rule in routes:
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        assert path in kept["paths"], path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in kept["paths"][path], (method, path)
