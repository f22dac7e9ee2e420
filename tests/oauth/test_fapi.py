"""The FAPI 2.0 Security Profile per client (idp.oauth.fapi2, docs/security-profile.md): what
registration refuses and implies, and each rule where the request is, through the endpoints."""

from __future__ import annotations

import secrets
from typing import Any

import jwt
import pytest

from channels.registration import InvalidClientMetadata
from channels.software_statement import TYP
from channels.software_statement import issue_claims
from idp.oauth import fapi2
from idp.provider import Provider
from idp.store.channels import ChannelRow
from idp.store.grants import AuthorizationCode
from keys.onboarding import sign
from tests.conftest import ISSUER
from tests.conftest import test_settings as settings_for
from tests.oauth.dpop_keys import DpopKey
from tests.oauth.fapi_client import FapiClient
from tests.oauth.fapi_client import signing_key
from tests.support import START
from tests.support import FakeClock
from tests.support import approve
from tests.support import basic
from tests.support import query_of
from tests.support import register
from tests.support import sign_in


@pytest.fixture
def bank(provider: Provider) -> FapiClient:
    return FapiClient(provider)


def front(web: Any, client: FapiClient, request_uri: str) -> Any:
    return web.get(
        "/authorize", query_string={"client_id": client.client_id, "request_uri": request_uri}
    )


def authorize_pushed(web: Any, client: FapiClient, **extra: str) -> tuple[str, str]:
    """PAR, then the browser with only client_id and request_uri; returns (code, verifier)."""
    params, verifier = client.params(**extra)
    pushed = client.push(web, params)
    assert pushed.status_code == 201, pushed.get_json()
    request_uri = pushed.get_json()["request_uri"]
    response = front(web, client, request_uri)
    assert response.status_code == 303
    if response.headers["Location"].endswith("/signin"):
        response = sign_in(web, response.headers["Location"])
    if response.headers["Location"].endswith("/consent"):
        response = approve(web, response.headers["Location"])
    query = query_of(response.headers["Location"])
    assert query["iss"] == client.issuer  # RFC 9207
    assert front(web, client, request_uri).status_code == 400  # used once
    return query["code"], verifier


def test_a_fapi_client_completes_par_dpop_private_key_jwt(
    web: Any, bank: FapiClient, cardholder: dict[str, str]
) -> None:
    code, verifier = authorize_pushed(web, bank)
    token = bank.redeem(web, code, verifier)
    assert token.status_code == 200, token.get_json()
    body = token.get_json()
    assert body["token_type"] == "DPoP"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": bank.dpop.jkt}


def test_registration_implies_par_dpop_and_no_rotation(
    provider: Provider, bank: FapiClient
) -> None:
    client = provider.clients.get(bank.client_id)
    assert client is not None and client.fapi2_security_profile
    assert client.require_pushed_authorization_requests
    assert client.dpop_bound_access_tokens
    assert not client.rotate_refresh_tokens


def test_the_front_channel_without_par_is_refused(
    web: Any, bank: FapiClient, cardholder: dict[str, str]
) -> None:
    params, _ = bank.params()
    response = web.get("/authorize", query_string=params)
    assert response.status_code == 303
    assert query_of(response.headers["Location"])["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("change", "description"),
    [
        ({"auth_method": "client_secret_basic", "jwks": None}, "private_key_jwt or mutual TLS"),
        ({"auth_method": "client_secret_post", "jwks": None}, "private_key_jwt or mutual TLS"),
        ({"id_token_alg": "RS256"}, "id_token_signed_response_alg"),
    ],
)
def test_registration_refuses_what_the_profile_forbids(
    provider: Provider, change: dict[str, Any], description: str
) -> None:
    _, _, jwk = signing_key()
    options: dict[str, Any] = {
        "kind": "bank",
        "auth_method": "private_key_jwt",
        "jwks": {"keys": [jwk]},
        "fapi2": True,
        **change,
    }
    with pytest.raises(InvalidClientMetadata) as refused:
        register(provider, **options)
    assert description in refused.value.description
    assert refused.value.error == "invalid_client_metadata"


def test_an_rs256_key_is_refused_for_a_fapi_client(provider: Provider) -> None:
    """An RSA key without ``alg`` would sign RS256 (channels.registration.JWK_ALGS)."""
    rsa_jwk = DpopKey.new("PS256").public_jwk()
    options: dict[str, Any] = {"kind": "bank", "auth_method": "private_key_jwt", "fapi2": True}
    with pytest.raises(InvalidClientMetadata):
        register(provider, jwks={"keys": [{**rsa_jwk, "use": "sig"}]}, **options)
    register(provider, jwks={"keys": [{**rsa_jwk, "use": "sig", "alg": "PS256"}]}, **options)


def test_a_symmetric_secret_is_refused_at_run_time(web: Any, provider: Provider) -> None:
    """A row changed behind the registration's back still cannot use a secret."""
    secret_client = register(provider, kind="bank", auth_method="client_secret_basic")
    with provider.db.transaction() as s:
        row = s.get(ChannelRow, secret_client.client_id)
        assert row is not None
        row.fapi2_security_profile = True
    provider.clients.forget(secret_client.client_id)
    response = web.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": "x" * 43},
        headers=basic(secret_client.client_id, secret_client.client_secret),
    )
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_a_bearer_token_request_is_refused(
    web: Any, bank: FapiClient, cardholder: dict[str, str]
) -> None:
    code, verifier = authorize_pushed(web, bank)
    response = bank.redeem(web, code, verifier, proof=False)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_dpop_proof"


@pytest.mark.parametrize(
    "change",
    [
        {"code_challenge_method": "plain"},
        {"code_challenge": "", "code_challenge_method": ""},
        {"code_challenge_method": ""},
    ],
)
def test_pkce_plain_or_missing_is_refused_at_par(
    web: Any, bank: FapiClient, change: dict[str, str]
) -> None:
    params, _ = bank.params(**change)
    response = bank.push(web, params)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_an_assertion_living_longer_than_two_minutes_is_refused(
    web: Any, provider: Provider, bank: FapiClient
) -> None:
    params, _ = bank.params()
    assert bank.push(web, params, lifetime=120).status_code == 201
    refused = bank.push(web, params, lifetime=121)
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"
    # The limit is the profile's: the same client without it may use the configured 300 s.
    plain = FapiClient(provider, fapi2=False)
    assert plain.push(web, params | {"client_id": plain.client_id}, lifetime=240).status_code == 201


def test_only_es256_ps256_and_eddsa_are_allowed(provider: Provider, bank: FapiClient) -> None:
    client = provider.clients.get(bank.client_id)
    assert client is not None
    assert fapi2.allowed_algs(client, ("ES256", "PS256", "EdDSA", "RS256")) == fapi2.ALGS


def test_codes_live_at_most_60_seconds_whatever_the_setting(
    database_url: str, clock: FakeClock, tmp_path: Any, cardholder: dict[str, str]
) -> None:
    from idp import create_app

    settings = settings_for(database_url, instance_dir=str(tmp_path), authorization_code_ttl=600)
    provider = Provider(settings, clock=clock)
    try:
        web = create_app(settings, provider=provider).test_client()
        bank = FapiClient(provider)
        plain = FapiClient(provider, fapi2=False)
        authorize_pushed(web, bank)
        authorize_pushed(web, plain)
        with provider.db.read() as s:
            lifetimes = {
                row.client_id: row.expires_at - row.created_at
                for row in s.query(AuthorizationCode).all()
            }
        assert lifetimes == {bank.client_id: 60, plain.client_id: 600}
    finally:
        provider.db.dispose()


def _statement(operator_key: bytes, fapi2_claim: bool | None) -> str:
    claims = issue_claims(
        issuer=ISSUER,
        now=START,
        ttl=3600,
        jti=secrets.token_urlsafe(16),
        software_id="sw-bank",
        kind="bank",
        client_name="Test bank",
        scopes=["essc.ecard", "essc.payment"],
        grant_types=["client_credentials"],
        parent_client_id=None,
        fapi2=fapi2_claim,
    )
    return sign(operator_key, claims, typ=TYP)


@pytest.mark.onboarding
def test_onboarding_follows_the_operators_statement(web: Any, operator_key: bytes) -> None:
    """RFC 7591 2.3: the statement's ``essc_fapi2_security_profile`` wins; without it a bank
    is held to the profile and its own request cannot take it off."""
    _, _, jwk = signing_key()
    secret_body = {"grant_types": ["client_credentials"], "scope": "essc.ecard"}
    key_body = {**secret_body, "token_endpoint_auth_method": "private_key_jwt"}
    key_body["jwks"] = {"keys": [jwk]}
    refused = web.post(
        "/register", json={**secret_body, "software_statement": _statement(operator_key, True)}
    )
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_client_metadata"
    contradicted = web.post(
        "/register",
        json={
            **key_body,
            "software_statement": _statement(operator_key, True),
            "essc_fapi2_security_profile": False,
        },
    )
    assert contradicted.status_code == 400
    registered = web.post(
        "/register", json={**key_body, "software_statement": _statement(operator_key, True)}
    )
    assert registered.status_code == 201, registered.get_json()
    info = registered.get_json()
    assert info["essc_fapi2_security_profile"] is True
    assert info["dpop_bound_access_tokens"] is True
    assert info["require_pushed_authorization_requests"] is True
    plain = web.post(
        "/register", json={**secret_body, "software_statement": _statement(operator_key, False)}
    )
    assert plain.status_code == 201 and plain.get_json()["essc_fapi2_security_profile"] is False


@pytest.mark.onboarding
def test_a_bank_without_the_claim_is_held_to_fapi2(web: Any, operator_key: bytes) -> None:
    """Issue 13 item 4: payment kinds default to the profile on every registration path; a
    statement without the claim (made by other tooling, or before the claim) leaves it on, and
    only the operator's statement may turn it off, not the channel's own request."""
    _, _, jwk = signing_key()
    secret_body = {"grant_types": ["client_credentials"], "scope": "essc.ecard"}
    key_body = {**secret_body, "token_endpoint_auth_method": "private_key_jwt"}
    key_body["jwks"] = {"keys": [jwk]}
    silent = _statement(operator_key, None)
    secret = web.post("/register", json={**secret_body, "software_statement": silent})
    assert secret.status_code == 400
    assert secret.get_json()["error"] == "invalid_client_metadata"
    opted_out = web.post(
        "/register",
        json={**secret_body, "software_statement": silent, "essc_fapi2_security_profile": False},
    )
    assert opted_out.status_code == 400
    assert "software statement" in opted_out.get_json()["error_description"]
    registered = web.post("/register", json={**key_body, "software_statement": silent})
    assert registered.status_code == 201, registered.get_json()
    info = registered.get_json()
    assert info["essc_fapi2_security_profile"] is True
    assert info["dpop_bound_access_tokens"] is True
    # RFC 7592 2.2: the read-back document, sent again, keeps the profile; dropping the field
    # keeps it too, and asking for false is refused.
    token = info.pop("registration_access_token")
    uri = f"/register/{info['client_id']}"
    auth = {"Authorization": f"Bearer {token}"}
    update = {k: v for k, v in info.items() if k not in _SERVER_FIELDS}
    kept = web.put(uri, json=update, headers=auth)
    assert kept.status_code == 200, kept.get_json()
    assert kept.get_json()["essc_fapi2_security_profile"] is True
    dropped = {k: v for k, v in update.items() if k != "essc_fapi2_security_profile"}
    assert web.put(uri, json=dropped, headers=auth).get_json()["essc_fapi2_security_profile"]
    off = web.put(uri, json={**update, "essc_fapi2_security_profile": False}, headers=auth)
    assert off.status_code == 400 and off.get_json()["error"] == "invalid_client_metadata"


#: What the server sets in an RFC 7591 3.2.1 answer and a client may not send back.
_SERVER_FIELDS = (
    "client_id_issued_at",
    "client_secret_expires_at",
    "registration_client_uri",
    "essc_status",
)


def test_the_statement_command_defaults_to_fapi2_for_payment_kinds() -> None:
    from idp.cli.channels import _fapi2_default

    kinds = ("unionpay", "bank", "merchant", "wechat", "alipay", "app", "portal")
    assert [k for k in kinds if _fapi2_default(k)] == ["unionpay", "bank", "merchant"]
