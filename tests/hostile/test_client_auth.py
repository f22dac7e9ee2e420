"""Hostile client authentication at /token, /introspect and /revoke (RFC 6749 2.3, 5.2;
RFC 7523 2.2, 3; OIDC Core 9).

401 ``invalid_client``, with a ``Basic`` challenge whenever the Authorization header was tried;
400 ``invalid_request`` for two methods at once or a client_id that contradicts the credentials.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.hostile.common import HAN
from tests.hostile.common import NUL
from tests.hostile.common import QUOTE
from tests.hostile.common import assert_oauth_error
from tests.hostile.common import counts
from tests.hostile.common import form
from tests.support import basic
from tests.support import register

ENDPOINTS = {
    "/token": {"grant_type": "client_credentials"},
    "/introspect": {"token": "t" * 43},
    "/revoke": {"token": "t" * 43},
}


def _raw_basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


# (id, Authorization header or callable(client), extra body, status, error)
SECRET_CASES: list[tuple[str, Any, dict[str, Any], int, str]] = [
    ("no-credentials", None, {}, 401, "invalid_client"),
    (
        "basic-unknown-client",
        lambda c: basic("merchant-0000000000000000", c.client_secret)["Authorization"],
        {},
        401,
        "invalid_client",
    ),
    (
        "basic-wrong-secret",
        lambda c: basic(c.client_id, "wrong")["Authorization"],
        {},
        401,
        "invalid_client",
    ),
    ("basic-bad-base64", "Basic !!!not-base64!!!", {}, 401, "invalid_client"),
    ("basic-no-colon", _raw_basic(b"merchant-only-an-id"), {}, 401, "invalid_client"),
    ("basic-empty", "Basic ", {}, 401, "invalid_client"),
    ("basic-scheme-only", "Basic", {}, 401, "invalid_client"),
    ("basic-utf8", _raw_basic("回:回".encode()), {}, 401, "invalid_client"),
    ("basic-nul-id", _raw_basic(b"%00:x"), {}, 401, "invalid_client"),
    ("basic-pct-han-id", _raw_basic(b"%E5%9B%9E:x"), {}, 401, "invalid_client"),
    ("basic-quote-id", _raw_basic(b'a"b:x'), {}, 401, "invalid_client"),
    ("basic-oversized-id", _raw_basic(b"a" * 3000 + b":x"), {}, 401, "invalid_client"),
    ("bearer-scheme", "Bearer abc", {}, 401, "invalid_client"),
    (
        "post-for-basic-client",
        None,
        {"client_id": "@id", "client_secret": "@secret"},
        401,
        "invalid_client",
    ),
    (
        "post-unknown-client",
        None,
        {"client_id": "merchant-x", "client_secret": "s"},
        401,
        "invalid_client",
    ),
    ("post-no-client_id", None, {"client_secret": "@secret"}, 401, "invalid_client"),
    ("post-client_id-han", None, {"client_id": HAN, "client_secret": "s"}, 400, "invalid_request"),
    (
        "post-secret-quote",
        None,
        {"client_id": "@id", "client_secret": QUOTE},
        400,
        "invalid_request",
    ),
    (
        "post-secret-duplicated",
        None,
        {"client_id": "@id", "client_secret": ["a", "b"]},
        400,
        "invalid_request",
    ),
    ("basic-and-post", "@basic", {"client_secret": "@secret"}, 400, "invalid_request"),
    ("basic-and-assertion", "@basic", {"client_assertion": "a.b.c"}, 400, "invalid_request"),
    ("basic-client_id-mismatch", "@basic", {"client_id": "merchant-other"}, 400, "invalid_request"),
]


@pytest.mark.parametrize("path", list(ENDPOINTS))
@pytest.mark.parametrize(
    ("header", "extra", "status", "error"),
    [c[1:] for c in SECRET_CASES],
    ids=[c[0] for c in SECRET_CASES],
)
def test_secret_authentication(
    provider: Any,
    web: Any,
    service: Any,
    path: str,
    header: Any,
    extra: dict[str, Any],
    status: int,
    error: str,
) -> None:
    swap = {
        "@id": service.client_id,
        "@secret": service.client_secret,
        "@basic": basic(service.client_id, service.client_secret)["Authorization"],
    }
    if callable(header):
        header = header(service)
    header = swap.get(header, header) if isinstance(header, str) else header
    body = [*ENDPOINTS[path].items()]
    for name, value in extra.items():
        for one in value if isinstance(value, list) else [value]:
            body.append((name, swap.get(one, one)))
    before = counts(provider)
    response = web.post(
        path, headers={"Authorization": header} if header is not None else {}, **form(body)
    )
    assert_oauth_error(response, status, error, echo=(HAN, QUOTE, NUL, "merchant-other"))
    if status == 401 and header is not None:
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert counts(provider) == before


# -- private_key_jwt ----------------------------------------------------------------------
@pytest.fixture
def signer(provider: Any) -> Any:
    key = ec.generate_private_key(ec.SECP256R1())
    public = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    public.update(kid="k1", use="sig", alg="ES256")
    client = register(
        provider,
        kind="merchant",
        grant_types=("client_credentials",),
        redirect_uris=(),
        scope="essc.qr.verify",
        auth_method="private_key_jwt",
        jwks={"keys": [public]},
    )
    return client, key


def _claims(provider: Any, client_id: str, **changes: Any) -> dict[str, Any]:
    now = provider.now()
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": f"{provider.issuer}/token",
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _assertion(key: Any, claims: dict[str, Any], alg: str = "ES256", kid: str = "k1") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def _post(web: Any, assertion: str, **extra: str) -> Any:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
        **extra,
    }
    return web.post("/token", data={k: v for k, v in data.items() if v is not None})


def test_a_good_assertion_works_once(provider: Any, web: Any, signer: Any) -> None:
    client, key = signer
    assertion = _assertion(key, _claims(provider, client.client_id))
    assert _post(web, assertion).status_code == 200
    assert_oauth_error(_post(web, assertion), 401, "invalid_client")


def _unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    import json

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


ASSERTION_CASES: list[tuple[str, dict[str, Any], dict[str, Any], int, str]] = [
    # (id, claim changes, how: {"alg", "key", "kid", "raw", "extra"}, status, error)
    ("aud-wrong", {"aud": "https://evil.example/token"}, {}, 401, "invalid_client"),
    ("aud-missing", {"aud": None}, {}, 401, "invalid_client"),
    ("expired", {"iat": -120, "exp": -30}, {}, 401, "invalid_client"),
    ("exp-far-future", {"exp": 3600}, {}, 401, "invalid_client"),
    ("exp-missing", {"exp": None}, {}, 401, "invalid_client"),
    ("exp-string", {"exp": "tomorrow"}, {}, 401, "invalid_client"),
    ("lives-too-long", {"iat": -1000}, {}, 401, "invalid_client"),
    ("nbf-future", {"nbf": 600}, {}, 401, "invalid_client"),
    ("jti-missing", {"jti": None}, {}, 401, "invalid_client"),
    ("jti-short", {"jti": "abc"}, {}, 401, "invalid_client"),
    ("jti-number", {"jti": 12345678901}, {}, 401, "invalid_client"),
    ("iss-not-sub", {"iss": "merchant-other"}, {}, 401, "invalid_client"),
    (
        "sub-unknown",
        {"sub": "merchant-0000000000000000", "iss": "merchant-0000000000000000"},
        {},
        401,
        "invalid_client",
    ),
    ("sub-nul", {"sub": NUL, "iss": NUL}, {}, 401, "invalid_client"),
    ("sub-han", {"sub": HAN, "iss": HAN}, {}, 401, "invalid_client"),
    ("sub-number", {"sub": 7}, {}, 401, "invalid_client"),
    ("alg-none", {}, {"alg": "none"}, 401, "invalid_client"),
    ("alg-hs256", {}, {"alg": "HS256"}, 401, "invalid_client"),
    ("unregistered-key", {}, {"key": "other"}, 401, "invalid_client"),
    ("unregistered-key-no-kid", {}, {"key": "other", "kid": None}, 401, "invalid_client"),
    ("unknown-kid", {}, {"kid": "k2"}, 401, "invalid_client"),
    ("tampered-signature", {}, {"tamper": True}, 401, "invalid_client"),
    ("garbage", {}, {"raw": "a.b.c"}, 401, "invalid_client"),
    ("not-a-jwt", {}, {"raw": "not-a-jwt"}, 401, "invalid_client"),
    ("payload-not-object", {}, {"raw": "eyJhbGciOiJFUzI1NiJ9.WzFd.AA"}, 401, "invalid_client"),
    ("han", {}, {"raw": HAN}, 400, "invalid_request"),
    ("oversized", {}, {"raw": "a" * 9000}, 400, "invalid_request"),
    ("type-wrong", {}, {"extra": {"client_assertion_type": "urn:x"}}, 401, "invalid_client"),
    ("type-missing", {}, {"extra": {"client_assertion_type": None}}, 401, "invalid_client"),
    ("assertion-missing", {}, {"raw": None}, 401, "invalid_client"),
    ("client_id-mismatch", {}, {"extra": {"client_id": "merchant-other"}}, 400, "invalid_request"),
    ("with-client_secret", {}, {"extra": {"client_secret": "s"}}, 400, "invalid_request"),
]


@pytest.mark.parametrize(
    ("changes", "how", "status", "error"),
    [c[1:] for c in ASSERTION_CASES],
    ids=[c[0] for c in ASSERTION_CASES],
)
def test_client_assertion(
    provider: Any,
    web: Any,
    signer: Any,
    changes: dict[str, Any],
    how: dict[str, Any],
    status: int,
    error: str,
) -> None:
    client, key = signer
    now = provider.now()
    timed = {
        k: now + v if k in ("iat", "exp", "nbf") and isinstance(v, int) else v
        for k, v in changes.items()
    }
    claims = _claims(provider, client.client_id, **timed)
    alg = how.get("alg", "ES256")
    if "raw" in how:
        assertion = how["raw"]
    elif alg == "none":
        assertion = _unsigned(claims, {"alg": "none", "kid": "k1"})
    elif alg == "HS256":
        assertion = jwt.encode(claims, b"k" * 32, algorithm="HS256", headers={"kid": "k1"})
    else:
        signing = ec.generate_private_key(ec.SECP256R1()) if how.get("key") else key
        kid = how.get("kid", "k1")
        assertion = jwt.encode(
            claims, signing, algorithm="ES256", headers={"kid": kid} if kid else None
        )
        if how.get("tamper"):
            head, body, sig = assertion.split(".")
            assertion = f"{head}.{body}.{sig[:-4]}AAAA"
    before = counts(provider)
    response = _post(web, assertion, **how.get("extra", {}))
    assert_oauth_error(response, status, error, echo=(HAN, "merchant-other", "urn:x"))
    assert counts(provider) == before


def test_assertion_for_a_secret_client(provider: Any, web: Any, service: Any, signer: Any) -> None:
    _, key = signer
    response = _post(web, _assertion(key, _claims(provider, service.client_id)))
    assert_oauth_error(response, 401, "invalid_client")
