"""Encrypted ID tokens (OIDC Core 10.2, OIDC Registration 2): registration refuses what cannot
be encrypted to, the token endpoint signs and then encrypts (``cty: JWT``) to the client's
``use: enc`` key, and the client (here joserfc with the private key) decrypts and verifies."""

from __future__ import annotations

import base64
import contextlib
from dataclasses import replace
from typing import Any

import jwt
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from joserfc import jwe
from joserfc.jwk import ECKey

from channels.registration import InvalidClientMetadata
from channels.registration import SecurityOptions
from channels.registration import validate_metadata
from idp.errors import UnauthorizedClient
from idp.oidc.jwe import encrypt_id_token
from idp.provider import Provider
from tests.conftest import Registered
from tests.support import exchange
from tests.support import obtain_code
from tests.support import register

ENCRYPTED = SecurityOptions(
    id_token_encrypted_response_alg="ECDH-ES+A256KW", id_token_encrypted_response_enc="A256GCM"
)
PORTAL: dict[str, Any] = dict(
    name="门户",
    kind="portal",
    grant_types=["authorization_code"],
    auth_method="client_secret_basic",
    redirect_uris=["https://rp.example/cb"],
    scopes=["openid"],
)


def enc_key(kid: str = "enc-1", crv: str = "P-256") -> ECKey:
    return ECKey.generate_key(crv, parameters={"use": "enc", "kid": kid})


def public(key: ECKey) -> dict[str, Any]:
    return dict(key.as_dict(private=False))


def test_registration_keeps_the_choice_and_the_key() -> None:
    key = public(enc_key())
    m = validate_metadata(**PORTAL, jwks={"keys": [key]}, security=ENCRYPTED)
    assert m.id_token_encrypted_response_alg == "ECDH-ES+A256KW"
    assert m.id_token_encrypted_response_enc == "A256GCM"


@pytest.mark.parametrize(
    ("jwks", "security", "reason"),
    [
        (None, ENCRYPTED, "needs a use=enc EC key"),  # no keys at all
        ("sig only", ENCRYPTED, "needs a use=enc EC key"),
        ("enc", replace(ENCRYPTED, id_token_encrypted_response_alg="RSA-OAEP"), "unsupported"),
        ("enc", replace(ENCRYPTED, id_token_encrypted_response_alg="ECDH-ES"), "unsupported"),
        ("enc", replace(ENCRYPTED, id_token_encrypted_response_alg="none"), "unsupported"),
        ("enc", replace(ENCRYPTED, id_token_encrypted_response_alg="dir"), "unsupported"),
        ("enc", replace(ENCRYPTED, id_token_encrypted_response_enc="A128CBC-HS256"), "A256GCM"),
        ("enc", replace(ENCRYPTED, id_token_encrypted_response_enc=None), "A256GCM"),
        ("enc", SecurityOptions(id_token_encrypted_response_enc="A256GCM"), "needs id_token"),
    ],
)
def test_registration_refuses(jwks: Any, security: SecurityOptions, reason: str) -> None:
    keys = {
        None: None,
        "sig only": {"keys": [{**public(enc_key()), "use": "sig", "alg": "ES256"}]},
        "enc": {"keys": [public(enc_key())]},
    }[jwks]
    with pytest.raises(InvalidClientMetadata) as refused:
        validate_metadata(**PORTAL, jwks=keys, security=security)
    assert refused.value.error == "invalid_client_metadata"
    assert reason in refused.value.description


def test_a_jwks_uri_alone_is_not_enough() -> None:
    with pytest.raises(InvalidClientMetadata):
        validate_metadata(**PORTAL, jwks_uri="https://rp.example/jwks", security=ENCRYPTED)


def _off_curve(key: dict[str, Any]) -> dict[str, Any]:
    y = base64.urlsafe_b64decode(key["y"] + "==")
    flipped = bytes([y[0] ^ 1]) + y[1:]
    return {**key, "y": base64.urlsafe_b64encode(flipped).rstrip(b"=").decode()}


@pytest.mark.parametrize(
    "bad",
    [
        lambda k: {**k, "kty": "RSA"},
        lambda k: {**k, "crv": "secp256k1"},
        lambda k: {**k, "alg": "RSA-OAEP-256"},
        lambda k: {**k, "d": "AAAA"},
        lambda k: {**k, "key_ops": ["sign"]},
        lambda k: {**k, "x": k["x"][:-2]},
        lambda k: {**k, "x": 5},
        _off_curve,
        lambda k: {**k, "kid": "é"},
    ],
)
def test_malformed_enc_keys_are_refused(bad: Any) -> None:
    with pytest.raises(InvalidClientMetadata):
        validate_metadata(**PORTAL, jwks={"keys": [bad(public(enc_key()))]}, security=ENCRYPTED)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["kty", "crv", "x", "y", "alg", "kid", "key_ops"]),
        st.text(max_size=60) | st.integers() | st.lists(st.text(max_size=8)),
    )
)
def test_any_enc_key_is_checked_or_refused_never_crashes(members: dict[str, Any]) -> None:
    key = {**members, "use": "enc"}
    with contextlib.suppress(InvalidClientMetadata):
        validate_metadata(**PORTAL, jwks={"keys": [key]}, security=ENCRYPTED)


def _encrypted_portal(provider: Provider, key: ECKey) -> Registered:
    return register(
        provider,
        jwks={"keys": [public(key), public(enc_key("other-use"))]},
        security=ENCRYPTED,
    )


def _decrypt(token: str, key: ECKey, provider: Provider) -> tuple[dict[str, Any], dict[str, Any]]:
    assert token.count(".") == 4  # RFC 7516 7.1: five parts
    opened = jwe.decrypt_compact(token, key)
    signed = opened.plaintext.decode("ascii")
    jwks = jwt.PyJWKSet.from_dict(provider.keyring.jwks())
    kid = jwt.get_unverified_header(signed)["kid"]
    verifying = next(k for k in jwks.keys if k.key_id == kid)
    return dict(opened.protected), jwt.decode(
        signed,
        verifying.key,
        algorithms=["ES256"],
        options={"verify_aud": False, "verify_iat": False, "verify_exp": False},
    )


def test_the_token_endpoint_signs_then_encrypts(
    web: Any, provider: Provider, cardholder: dict[str, str]
) -> None:
    key = enc_key()
    client = _encrypted_portal(provider, key)
    code, verifier = obtain_code(web, client)
    body = exchange(web, client, code, verifier).get_json()
    header, claims = _decrypt(body["id_token"], key, provider)
    assert header["alg"] == "ECDH-ES+A256KW" and header["enc"] == "A256GCM"
    assert header["cty"] == "JWT" and header["kid"] == "enc-1"
    assert claims["aud"] == client.client_id and claims["iss"] == provider.issuer
    # Another key (the client's second enc key among them) cannot open it.
    with pytest.raises(Exception):  # noqa: B017 (joserfc's DecodeError family)
        jwe.decrypt_compact(body["id_token"], enc_key("stranger"))
    # The access token is unchanged: a signed JWT, not encrypted.
    assert body["access_token"].count(".") == 2


def test_an_unencrypted_client_gets_a_signed_id_token(
    web: Any, provider: Provider, portal: Registered, cardholder: dict[str, str]
) -> None:
    code, verifier = obtain_code(web, portal)
    assert exchange(web, portal, code, verifier).get_json()["id_token"].count(".") == 2


def test_a_client_whose_enc_key_went_missing_gets_a_clear_error(
    provider: Provider,
) -> None:
    """Never a plain ID token for a client that asked for encryption (fails closed)."""
    from idp.channel_admin.clients import client_from_row
    from idp.store.channels import ChannelRow

    client = _encrypted_portal(provider, enc_key())
    with provider.db.read() as session:
        row = session.get(ChannelRow, client.client_id)
        assert row is not None
        stored = client_from_row(row)
    broken = replace(stored, jwks={"keys": [{**public(enc_key()), "use": "sig"}]})
    with pytest.raises(UnauthorizedClient) as refused:
        encrypt_id_token("a.b.c", broken)
    assert refused.value.error == "unauthorized_client"
    assert encrypt_id_token("a.b.c", replace(stored, id_token_encrypted_response_alg=None)) == (
        "a.b.c"
    )


def test_discovery_announces_the_algorithms(web: Any) -> None:
    metadata = web.get("/.well-known/openid-configuration").get_json()
    assert metadata["id_token_encryption_alg_values_supported"] == ["ECDH-ES+A256KW"]
    assert metadata["id_token_encryption_enc_values_supported"] == ["A256GCM"]


@pytest.mark.onboarding
def test_dynamic_registration_refuses_wrong_values(web: Any, operator_key: bytes) -> None:
    """RFC 7591 3.2.2 through the real endpoint: wrong alg or enc, or no enc key."""
    from tests.channel_admin.test_registration import register as post_registration
    from tests.channel_admin.test_registration import statement

    key = public(enc_key())
    signed = statement(operator_key, kind="portal", scope="openid", grants=("authorization_code",))
    base: dict[str, Any] = {
        "grant_types": ["authorization_code"],
        "redirect_uris": ["https://rp.example/cb"],
        "scope": "openid",
        "jwks": {"keys": [key]},
        "id_token_encrypted_response_alg": "ECDH-ES+A256KW",
        "id_token_encrypted_response_enc": "A256GCM",
    }
    for changes in (
        {"id_token_encrypted_response_alg": "RSA1_5"},
        {"id_token_encrypted_response_enc": "A128GCM"},
        {"id_token_encrypted_response_alg": 5},
        {"jwks": {"keys": [{**key, "use": "sig"}]}},
        {"jwks": None},
    ):
        refused = post_registration(web, signed, **{**base, **changes})
        assert refused.status_code == 400, refused.get_json()
        assert refused.get_json()["error"] == "invalid_client_metadata"
    created = post_registration(web, signed, **base)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["id_token_encrypted_response_enc"] == "A256GCM"
