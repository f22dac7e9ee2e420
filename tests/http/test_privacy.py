"""Issue 6, items 6, 8, 9, 12, 14 in process (both backends): ID-number hints, HSTS, no-store,
the product's own 414/431, and request ids. test_privacy_live.py runs real servers."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from idp.app import create_app
from idp.cardholders.gb11643 import mask_id_number
from idp.http.edge import HSTS
from idp.http.edge import MAX_TARGET_BYTES
from idp.http.logs import redact
from idp.provider import Provider
from idp.settings import ConfigurationError
from idp.settings import Settings
from idp.store.grants import Interaction
from idp.store.security import AuditEvent
from tests.support import CARD
from tests.support import approve
from tests.support import authorize_params
from tests.support import basic
from tests.support import csrf_of
from tests.support import exchange
from tests.support import pkce_pair
from tests.support import query_of

ID_NUMBER = CARD["id_number"]
MASKED = mask_id_number(ID_NUMBER)


def _start(web: Any, portal: Any, hint: str) -> tuple[str, str]:
    """``/authorize`` with ``login_hint``; the sign-in location and the PKCE verifier."""
    verifier, challenge = pkce_pair()
    response = web.get(
        "/authorize", query_string=authorize_params(portal, challenge, login_hint=hint)
    )
    assert response.status_code == 303
    return response.headers["Location"], verifier


def _stored(provider: Provider) -> list[dict[str, Any]]:
    with provider.db.read() as s:
        return [dict(row.request) for row in s.scalars(select(Interaction))]


# -- item 6: an ID-number login_hint -------------------------------------------------------
def test_id_number_hint_is_stored_as_blind_index_and_mask(
    web: Any, provider: Provider, portal: Any, cardholder: dict[str, str]
) -> None:
    location, verifier = _start(web, portal, ID_NUMBER.lower())
    (stored,) = _stored(provider)
    assert ID_NUMBER not in json.dumps(stored).upper()
    assert stored["login_hint"] == MASKED
    assert stored["login_hint_index"] == provider.keyring.keyed_hash("id-number-index", ID_NUMBER)
    page = web.get(location).get_data(as_text=True)
    assert f'value="{MASKED}"' in page and ID_NUMBER not in page
    # The prefilled masked number signs the hinted cardholder in.
    response = web.post(
        location, data={"csrf_token": csrf_of(page), "credential": MASKED, "pin": CARD["pin"]}
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    response = approve(web, response.headers["Location"])
    code = query_of(response.headers["Location"])["code"]
    assert exchange(web, portal, code, verifier).status_code == 200


def test_masked_hint_with_a_wrong_pin_fails_like_any_other(
    web: Any, provider: Provider, portal: Any, cardholder: dict[str, str]
) -> None:
    location, _ = _start(web, portal, ID_NUMBER)
    page = web.get(location).get_data(as_text=True)
    response = web.post(
        location, data={"csrf_token": csrf_of(page), "credential": MASKED, "pin": "135790"}
    )
    assert response.status_code == 401


def test_a_typed_mask_without_a_hint_names_nobody(
    web: Any, provider: Provider, portal: Any, cardholder: dict[str, str]
) -> None:
    location, _ = _start(web, portal, CARD["card_number"])
    page = web.get(location).get_data(as_text=True)
    response = web.post(
        location, data={"csrf_token": csrf_of(page), "credential": MASKED, "pin": CARD["pin"]}
    )
    assert response.status_code == 401


def test_card_number_hint_stays_and_other_hints_are_not_kept(
    web: Any, provider: Provider, portal: Any, cardholder: dict[str, str]
) -> None:
    location, _ = _start(web, portal, CARD["card_number"])
    assert f'value="{CARD["card_number"]}"' in web.get(location).get_data(as_text=True)
    _start(web, portal, "13800138000@example.com")
    _start(web, portal, "110105194912310021")  # ID-number shape, wrong check digit
    hints = [(row["login_hint"], row["login_hint_index"]) for row in _stored(provider)]
    assert sorted(hints, key=str) == sorted(
        [(CARD["card_number"], None), (None, None), (None, None)], key=str
    )


# -- item 9: no-store on every page and answer with personal data or tokens ---------------
def _no_store(response: Any) -> None:
    assert response.headers.get("Cache-Control") == "no-store", (
        response.request.path,
        response.headers,
    )


def test_pages_and_answers_with_personal_data_are_not_cached(
    web: Any, provider: Provider, portal: Any, cardholder: dict[str, str]
) -> None:
    location, verifier = _start(web, portal, CARD["card_number"])
    signin = web.get(location)
    _no_store(signin)
    response = web.post(
        location,
        data={
            "csrf_token": csrf_of(signin.get_data(as_text=True)),
            "credential": CARD["card_number"],
            "pin": CARD["pin"],
        },
    )
    consent = web.get(response.headers["Location"])
    _no_store(consent)
    response = approve(web, response.headers["Location"])
    _no_store(response)
    token = exchange(web, portal, query_of(response.headers["Location"])["code"], verifier)
    _no_store(token)
    access = token.get_json()["access_token"]
    _no_store(web.get("/userinfo", headers={"Authorization": f"Bearer {access}"}))
    _no_store(web.get("/userinfo"))
    form_post = web.get(
        "/authorize",
        query_string=authorize_params(portal, pkce_pair()[1], response_mode="form_post"),
    )
    assert 'name="code"' in form_post.get_data(as_text=True)
    _no_store(form_post)
    _no_store(web.get("/authorize?client_id=nobody"))  # the error page
    _no_store(web.get("/api/v1/ecards/nothing"))
    _no_store(web.get("/no/such/path"))


def test_demo_pages_are_not_cached(provider: Provider) -> None:
    app = create_app(provider.settings.with_overrides(demo=True), provider=provider)
    _no_store(app.test_client().get("/demo"))
    _no_store(app.test_client().get("/demo/callback?code=abc&state=x"))


def test_discovery_keeps_its_cache_policy(web: Any) -> None:
    assert "max-age=300" in web.get("/.well-known/openid-configuration").headers["Cache-Control"]


# -- item 8: HSTS on every response of a production https instance -------------------------
def _production(provider: Provider, issuer: str) -> Any:
    settings = provider.settings.with_overrides(env="production", issuer=issuer)
    return create_app(settings, provider=provider).test_client()


def test_hsts_on_every_kind_of_response_in_production_https(
    provider: Provider, service: Any
) -> None:
    web = _production(provider, "https://idp.example.gov.cn")
    long_query = "/userinfo?x=" + "a" * MAX_TARGET_BYTES
    responses = {
        "discovery (Flask)": web.get("/.well-known/openid-configuration"),
        "token (back channel)": web.post(
            "/token",
            data={"grant_type": "client_credentials", "scope": "essc.payment"},
            headers=basic(service.client_id, service.client_secret),
        ),
        "token error (back channel)": web.post("/token", data={"grant_type": "x"}),
        "introspect GET (back channel 405)": web.get("/introspect"),
        "error page": web.get("/authorize"),
        "404": web.get("/no/such/path"),
        "405": web.delete("/userinfo"),
        "414": web.get(long_query),
        "static": web.get("/static/essc.css"),
    }
    for name, response in responses.items():
        response.close()
        assert response.headers.get("Strict-Transport-Security") == HSTS, name
    assert responses["token (back channel)"].status_code == 200


@pytest.mark.parametrize(
    ("env", "issuer"),
    [("development", "https://idp.example.gov.cn"), ("production", "http://127.0.0.1:8000")],
)
def test_no_hsts_without_production_https(provider: Provider, env: str, issuer: str) -> None:
    settings = provider.settings.with_overrides(env=env, issuer=issuer)
    web = create_app(settings, provider=provider).test_client()
    for response in (web.get("/.well-known/openid-configuration"), web.post("/token")):
        assert "Strict-Transport-Security" not in response.headers


# -- item 12: the product's own 414 and 431, JSON for APIs, the page for browsers ---------
def test_the_product_answers_414_and_431_itself(web: Any) -> None:
    long = "a" * MAX_TARGET_BYTES
    api = web.get(f"/userinfo?access_token={long}")
    assert api.status_code == 414 and api.mimetype == "application/problem+json"
    assert api.get_json()["type"].endswith("/problems/http-error")
    backchannel = web.post(f"/token?x={long}")
    assert backchannel.status_code == 414 and backchannel.mimetype == "application/problem+json"
    page = web.get(f"/authorize?login_hint={long}")
    assert page.status_code == 414 and page.mimetype == "text/html"
    headers = {f"X-Pad-{i}": "x" for i in range(65)}
    assert web.get("/userinfo", headers=headers).status_code == 431
    assert web.get("/jwks.json", headers={"X-Big": "b" * 8000}).status_code == 431
    assert web.get("/authorize", headers=headers).mimetype == "text/html"
    # Just under the limits: the endpoint itself answers.
    assert web.get("/jwks.json", headers={"X-Big": "b" * 7000}).status_code == 200


# -- item 14: request ids --------------------------------------------------------------
SPOOFED = "spoofed-request-id-0001"


def _is_uuid(value: str) -> bool:
    return str(uuid.UUID(value)) == value


def test_a_caller_cannot_choose_the_request_id(web: Any, provider: Provider, service: Any) -> None:
    headers = {"X-Request-Id": SPOOFED}
    flask_answer = web.get("/no/such/path", headers=headers)
    assert _is_uuid(flask_answer.headers["X-Request-Id"])
    assert flask_answer.get_json()["request_id"] == flask_answer.headers["X-Request-Id"]
    back = web.post("/token", data={"grant_type": "client_credentials"}, headers=headers)
    assert _is_uuid(back.headers["X-Request-Id"])
    page = web.get("/authorize", headers=headers)
    assert SPOOFED not in page.get_data(as_text=True)


def test_a_trusted_proxy_header_supplies_the_request_id(
    provider: Provider, portal: Any, cardholder: dict[str, str]
) -> None:
    settings = provider.settings.with_overrides(proxy_request_id_header="X-Edge-Request-Id")
    web = create_app(settings, provider=provider).test_client()
    proxied = {"X-Edge-Request-Id": "edge-0123456789", "X-Request-Id": SPOOFED}
    assert web.get("/jwks.json", headers=proxied).headers["X-Request-Id"] == "edge-0123456789"
    assert web.post("/token", headers=proxied).headers["X-Request-Id"] == "edge-0123456789"
    bad = {"X-Edge-Request-Id": "short"}
    assert _is_uuid(web.get("/jwks.json", headers=bad).headers["X-Request-Id"])
    # The audit trail records the id the response carried.
    signin = web.get(
        "/authorize",
        query_string=authorize_params(portal, pkce_pair()[1]),
        headers=proxied,
    ).headers["Location"]
    page = web.get(signin, headers=proxied).get_data(as_text=True)
    web.post(
        signin,
        data={"csrf_token": csrf_of(page), "credential": CARD["card_number"], "pin": "135790"},
        headers=proxied,
    )
    with provider.db.read() as s:
        ids = set(s.scalars(select(AuditEvent.request_id)))
    assert ids == {"edge-0123456789"}


@pytest.mark.parametrize("name", ["Authorization", "X Request Id", "Cookie"])
def test_the_proxy_request_id_header_must_be_a_plain_header(name: str) -> None:
    with pytest.raises(ConfigurationError, match="ESSC_PROXY_REQUEST_ID_HEADER"):
        Settings(proxy_request_id_header=name).check()


# -- item 7: the product's log lines ------------------------------------------------------
def test_redact_removes_query_values_tokens_and_id_numbers() -> None:
    line = (
        '"GET /authorize?client_id=abc&login_hint=11010519491231002X HTTP/1.1" 303 '
        "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln /demo/callback?code=SECRETCODE&x= "
        "id 440304199003078212 and 4403041990030782123 (19 digits, not an ID)"
    )
    out = redact(line)
    for secret in ("abc", "11010519491231002X", "eyJ", "SECRETCODE", "440304199003078212 "):
        assert secret not in out, secret
    assert "4403**********8212" in out and "4403041990030782123" in out
    assert "/authorize?client_id=[redacted]&login_hint=[redacted]" in out


def test_product_log_records_are_redacted(
    web: Any, caplog: pytest.LogCaptureFixture, provider: Provider
) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="essc.idp")
    logging.getLogger("essc.idp").info("oops %s", f"/userinfo?access_token=tok&id={ID_NUMBER}")
    assert ID_NUMBER not in caplog.text and "tok&" not in caplog.text
