"""End-to-end flows through the Flask test client, on every configured backend."""

from __future__ import annotations

from typing import Any

import jwt

from tests.support import CARD
from tests.support import basic
from tests.support import exchange
from tests.support import obtain_code
from tests.support import query_of


def test_code_flow_issues_tokens_and_userinfo(
    provider: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    code, verifier = obtain_code(web, portal)
    response = exchange(web, portal, code, verifier)
    assert response.status_code == 200, response.json
    body = response.json
    assert response.headers["Cache-Control"] == "no-store"
    assert body["token_type"] == "Bearer" and body["refresh_token"]
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256"
    id_claims = provider.keyring.verify(
        body["id_token"], audience=portal.client_id, issuer=provider.issuer
    )
    assert id_claims["nonce"] == "n-456" and id_claims["acr"] and id_claims["amr"] == ["pin"]
    assert id_claims["sid"] and id_claims["at_hash"] and id_claims["auth_time"]
    info = web.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    assert info.json["sub"] == id_claims["sub"]
    assert info.json["name"] == CARD["name"]
    assert info.json["essc_card_number"] == "A0*****01"
    assert "essc_id_number" not in info.json


def test_authorization_response_carries_iss_and_state(
    web: Any, cardholder: Any, portal: Any
) -> None:
    code, _ = obtain_code(web, portal)
    assert code


def test_consent_is_remembered_per_client(web: Any, cardholder: Any, portal: Any) -> None:
    obtain_code(web, portal)
    from tests.support import authorize_params
    from tests.support import pkce_pair

    _, challenge = pkce_pair()
    again = web.get("/authorize", query_string=authorize_params(portal, challenge))
    query = query_of(again.headers["Location"])
    assert "code" in query and query["iss"] == "http://localhost" and query["state"] == "st-123"


def test_code_reuse_revokes_the_grant(web: Any, cardholder: Any, portal: Any) -> None:
    code, verifier = obtain_code(web, portal)
    first = exchange(web, portal, code, verifier)
    assert first.status_code == 200
    second = exchange(web, portal, code, verifier)
    assert second.status_code == 400 and second.json["error"] == "invalid_grant"
    info = web.get("/userinfo", headers={"Authorization": f"Bearer {first.json['access_token']}"})
    assert info.status_code == 401
    refresh = web.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": first.json["refresh_token"]},
        headers=basic(portal.client_id, portal.client_secret),
    )
    assert refresh.json["error"] == "invalid_grant"


def test_code_expires_after_sixty_seconds(
    web: Any, clock: Any, cardholder: Any, portal: Any
) -> None:
    code, verifier = obtain_code(web, portal)
    clock.advance(61)
    response = exchange(web, portal, code, verifier)
    assert response.status_code == 400 and response.json["error"] == "invalid_grant"


def test_refresh_rotates_and_reuse_revokes_family(web: Any, cardholder: Any, portal: Any) -> None:
    code, verifier = obtain_code(web, portal)
    tokens = exchange(web, portal, code, verifier).json
    auth = basic(portal.client_id, portal.client_secret)
    rotated = web.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=auth,
    )
    assert rotated.status_code == 200
    assert rotated.json["refresh_token"] != tokens["refresh_token"]
    reuse = web.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=auth,
    )
    assert reuse.json["error"] == "invalid_grant"
    newest = web.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": rotated.json["refresh_token"]},
        headers=auth,
    )
    assert newest.json["error"] == "invalid_grant", "the whole family is revoked"


def test_refresh_without_rotation_keeps_the_token(provider: Any, web: Any, cardholder: Any) -> None:
    from tests.support import register

    fapi = register(provider, rotate_refresh_tokens=False)
    code, verifier = obtain_code(web, fapi)
    tokens = exchange(web, fapi, code, verifier).json
    again = web.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(fapi.client_id, fapi.client_secret),
    )
    assert again.status_code == 200 and again.json["refresh_token"] == tokens["refresh_token"]


def test_client_credentials_jwt(provider: Any, web: Any, service: Any) -> None:
    response = web.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers=basic(service.client_id, service.client_secret),
    )
    assert response.status_code == 200
    claims = provider.keyring.verify(
        response.json["access_token"], typ="at+jwt", audience=provider.issuer
    )
    assert claims["sub"] == service.client_id == claims["client_id"]
    assert set(claims["scope"].split()) == {"essc.qr.verify", "essc.payment"}


def test_introspection_and_revocation(web: Any, cardholder: Any, portal: Any) -> None:
    code, verifier = obtain_code(web, portal)
    tokens = exchange(web, portal, code, verifier).json
    auth = basic(portal.client_id, portal.client_secret)
    active = web.post("/introspect", data={"token": tokens["access_token"]}, headers=auth)
    assert active.json["active"] is True and active.json["client_id"] == portal.client_id
    refresh = web.post("/introspect", data={"token": tokens["refresh_token"]}, headers=auth)
    assert refresh.json["active"] is True
    assert (
        web.post("/revoke", data={"token": tokens["refresh_token"]}, headers=auth).status_code
        == 200
    )
    assert web.post("/introspect", data={"token": tokens["refresh_token"]}, headers=auth).json == {
        "active": False
    }
    assert web.post("/introspect", data={"token": tokens["access_token"]}, headers=auth).json == {
        "active": False
    }


def test_revoking_an_access_token(web: Any, cardholder: Any, portal: Any) -> None:
    code, verifier = obtain_code(web, portal)
    tokens = exchange(web, portal, code, verifier).json
    auth = basic(portal.client_id, portal.client_secret)
    assert (
        web.post("/revoke", data={"token": tokens["access_token"]}, headers=auth).status_code == 200
    )
    info = web.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 401 and "invalid_token" in info.headers["WWW-Authenticate"]


def test_introspection_hides_other_clients_tokens(
    provider: Any, web: Any, cardholder: Any, portal: Any, service: Any
) -> None:
    code, verifier = obtain_code(web, portal)
    tokens = exchange(web, portal, code, verifier).json
    other = web.post(
        "/introspect",
        data={"token": tokens["access_token"]},
        headers=basic(service.client_id, service.client_secret),
    )
    assert other.json == {"active": False}


def test_prompt_none_without_session(web: Any, portal: Any) -> None:
    from tests.support import authorize_params
    from tests.support import pkce_pair

    _, challenge = pkce_pair()
    response = web.get(
        "/authorize", query_string=authorize_params(portal, challenge, prompt="none")
    )
    query = query_of(response.headers["Location"])
    assert query["error"] == "login_required" and query["iss"] == "http://localhost"


def test_form_post_response_mode(web: Any, cardholder: Any, portal: Any) -> None:
    obtain_code(web, portal)
    from tests.support import authorize_params
    from tests.support import pkce_pair

    _, challenge = pkce_pair()
    page = web.get(
        "/authorize", query_string=authorize_params(portal, challenge, response_mode="form_post")
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'action="https://rp.example/cb"' in html
    assert 'name="code"' in html and 'name="iss" value="http://localhost"' in html


def test_pairwise_subjects_differ_per_sector(
    provider: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    from tests.support import register

    other = register(provider, redirect_uris=("https://other.example/cb",))
    subs = []
    for client in (portal, other):
        code, verifier = obtain_code(web, client)
        subs.append(exchange(web, client, code, verifier).json["id_token"])
    claims = [jwt.decode(t, options={"verify_signature": False}) for t in subs]
    assert claims[0]["sub"] != claims[1]["sub"]
    assert cardholder["person_id"] not in (claims[0]["sub"], claims[1]["sub"])


def test_pin_lockout_after_five_failures(
    web: Any, clock: Any, cardholder: Any, portal: Any
) -> None:
    from tests.support import authorize_params
    from tests.support import pkce_pair
    from tests.support import sign_in

    _, challenge = pkce_pair()
    location = web.get("/authorize", query_string=authorize_params(portal, challenge)).headers[
        "Location"
    ]
    statuses = [sign_in(web, location, pin="999999").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    assert sign_in(web, location).status_code == 429, "right PIN refused while locked"
    clock.advance(15 * 60 + 1)
    location = web.get("/authorize", query_string=authorize_params(portal, challenge)).headers[
        "Location"
    ]
    assert sign_in(web, location).status_code == 303


def test_sign_in_with_id_number(web: Any, cardholder: Any, portal: Any) -> None:
    from tests.support import authorize_params
    from tests.support import pkce_pair
    from tests.support import sign_in

    _, challenge = pkce_pair()
    location = web.get("/authorize", query_string=authorize_params(portal, challenge)).headers[
        "Location"
    ]
    assert sign_in(web, location, credential="11010519491231002x").status_code == 303


def test_audit_trail_is_append_only(provider: Any, web: Any, cardholder: Any, portal: Any) -> None:
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    obtain_code(web, portal)
    with provider.db.read() as s:
        events = [r[0] for r in s.execute(text("SELECT event FROM audit_events ORDER BY id"))]
    assert "signin.succeeded" in events and "authorization.granted" in events
    with pytest.raises(DatabaseError), provider.db.transaction() as s:
        s.execute(text("UPDATE audit_events SET event = 'x'"))
    with pytest.raises(DatabaseError), provider.db.transaction() as s:
        s.execute(text("DELETE FROM audit_events"))


def test_jwks_endpoint_follows_rotation(provider: Any, web: Any) -> None:
    before = {k["kid"] for k in web.get("/jwks.json").json["keys"]}
    rotation = provider.keyring.rotate("ES256")
    after = web.get("/jwks.json")
    assert after.headers["Content-Type"] == "application/jwk-set+json"
    kids = {k["kid"] for k in after.json["keys"]}
    assert rotation.pending in kids and rotation.pending not in before
    assert all("d" not in k for k in after.json["keys"]), "public keys only"


def test_revoking_a_refresh_token_stops_its_access_tokens_everywhere(
    web: Any, cardholder: Any, portal: Any
) -> None:
    """docs/api.md "Revocation and introspection": the grant goes, and its access tokens with it."""
    code, verifier = obtain_code(web, portal)
    tokens = exchange(web, portal, code, verifier).json
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert web.get("/userinfo", headers=bearer).status_code == 200
    auth = basic(portal.client_id, portal.client_secret)
    assert (
        web.post("/revoke", data={"token": tokens["refresh_token"]}, headers=auth).status_code
        == 200
    )
    assert web.get("/userinfo", headers=bearer).status_code == 401
    again = web.post("/revoke", data={"token": tokens["refresh_token"]}, headers=auth)
    assert again.status_code == 200
