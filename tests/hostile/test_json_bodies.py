"""Hostile JSON bodies at every product endpoint that reads one: RFC 7591 registration, RFC 7592
updates and the e-card API (issue 6, defects 4, 5 and 10).

Each body breaks I-JSON (RFC 7493) in one way and must get the endpoint's own 400, in its own
format (RFC 7591 3.2.2 JSON at ``/register``, RFC 7807 ``malformed-json`` under ``/api/v1``),
with every data table unchanged. Submitted JWKS keys are parsed before anything is written.
"""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.ecard_helpers import add_channel
from tests.ecard_helpers import bearer
from tests.ecard_helpers import issue_body
from tests.hostile.bodies import MALFORMED
from tests.hostile.bodies import data_tables
from tests.hostile.bodies import dumps
from tests.hostile.bodies import registration
from tests.hostile.bodies import row_counts
from tests.hostile.bodies import statement

JSON = "application/json"


pytestmark = pytest.mark.onboarding


def _refused(response: Any, error: str = "invalid_client_metadata") -> None:
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.mimetype == JSON and response.json["error"] == error
    assert response.json["error_description"].isascii()


def _problem(response: Any, status: int, slug: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    assert response.json["type"].endswith(f"/problems/{slug}")


def _jwk(public: Any, alg: str, **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(jwt.get_algorithm_by_name(alg).to_jwk(public))
    return {**found, **extra}


def _ec() -> dict[str, Any]:
    return _jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), "ES256")


def _rsa(bits: int = 2048) -> dict[str, Any]:
    return _jwk(
        rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key(), "RS256"
    )


# -- registration (RFC 7591 3.1) -------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_register_refuses_malformed_json(web: Any, provider: Any, case: str) -> None:
    tables = data_tables(provider)
    before = row_counts(provider, tables)
    _refused(web.post("/register", data=MALFORMED[case], content_type=JSON))
    assert row_counts(provider, tables) == before


@pytest.mark.parametrize(
    "value", ["\ud800", "\udfff", "a\udc00", "\ud800.e30.sig", "\x00"], ids=range(5)
)
def test_surrogate_software_statement_is_a_400(web: Any, provider: Any, value: str) -> None:
    """Defect 4: PyJWT raised ``UnicodeEncodeError`` (a 500) on a lone surrogate."""
    tables = data_tables(provider)
    before = row_counts(provider, tables)
    _refused(web.post("/register", data=dumps({"software_statement": value}), content_type=JSON))
    assert row_counts(provider, tables) == before


def test_duplicate_member_is_refused_not_last_wins(
    web: Any, provider: Any, operator_key: bytes
) -> None:
    once = statement(operator_key)
    body = dumps(registration(once))[:-1] + b', "scope": "essc.payment", "scope": "essc.ecard"}'
    tables = data_tables(provider)
    before = row_counts(provider, tables)
    _refused(web.post("/register", data=body, content_type=JSON))
    assert row_counts(provider, tables) == before
    assert web.post("/register", json=registration(once)).status_code == 201  # not spent


OFF_CURVE = {**_ec(), "y": _ec()["x"]}
BAD_JWKS: dict[str, Any] = {
    "surrogate coordinate (defect 5)": {"kty": "EC", "crv": "P-256", "x": "\ud800", "y": "a"},
    "off the curve": OFF_CURVE,
    "short coordinates": {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
    "no y": {k: v for k, v in _ec().items() if k != "y"},
    "padded base64url": {**_ec(), "x": _ec()["x"] + "="},
    "standard base64": {**_ec(), "x": "+/" + _ec()["x"][2:]},
    "P-384": _jwk(ec.generate_private_key(ec.SECP384R1()).public_key(), "ES384"),
    "alg of another type": {**_ec(), "alg": "RS256"},
    "unknown alg": {**_rsa(), "alg": "RS512"},
    "encryption key": {**_ec(), "use": "enc"},
    "key_ops sign": {**_ec(), "key_ops": ["sign"]},
    "RSA 1024": _rsa(1024),
    "RSA even exponent": {**_rsa(), "e": "Ag"},
    "Ed448 crv": {
        **_jwk(ed25519.Ed25519PrivateKey.generate().public_key(), "EdDSA"),
        "crv": "X25519",
    },
    "x not a string": {**_ec(), "x": 5},
    "kid not a string": {**_ec(), "kid": ["a"]},
    "private member": {**_ec(), "d": "AAAA"},
    "symmetric": {"kty": "oct", "k": "AAAA"},
    "not an object": "key",
}


@pytest.mark.parametrize("case", sorted(BAD_JWKS))
def test_bad_jwk_is_refused_before_anything_is_written(
    web: Any, provider: Any, operator_key: bytes, case: str
) -> None:
    """Defect 5: nothing is written, and the statement stays usable for a corrected request."""
    once = statement(operator_key)
    body = registration(once, token_endpoint_auth_method="private_key_jwt")
    tables = data_tables(provider)
    before = row_counts(provider, tables)
    bad = {**body, "jwks": {"keys": [BAD_JWKS[case]]}}
    _refused(web.post("/register", data=dumps(bad), content_type=JSON))
    assert row_counts(provider, tables) == before
    good = web.post("/register", json={**body, "jwks": {"keys": [_ec()]}})
    assert good.status_code == 201, good.json


def test_repeated_kid_is_refused(web: Any, provider: Any, operator_key: bytes) -> None:
    body = registration(statement(operator_key), token_endpoint_auth_method="private_key_jwt")
    keys = [{**_ec(), "kid": "k1"}, {**_rsa(), "kid": "k1"}]
    _refused(web.post("/register", json={**body, "jwks": {"keys": keys}}))


@pytest.mark.parametrize(
    "key",
    [
        _ec(),
        {**_ec(), "alg": "ES256", "use": "sig", "kid": 'k "1"'},
        _rsa(),
        {**_rsa(), "alg": "PS256"},
        _jwk(ed25519.Ed25519PrivateKey.generate().public_key(), "EdDSA"),
    ],
    ids=["ec", "ec-alg-use-kid", "rsa", "rsa-ps256", "ed25519"],
)
def test_valid_jwk_is_accepted(web: Any, provider: Any, operator_key: bytes, key: Any) -> None:
    body = registration(statement(operator_key), token_endpoint_auth_method="private_key_jwt")
    created = web.post("/register", json={**body, "jwks": {"keys": [key]}})
    assert created.status_code == 201, created.json
    assert created.json["jwks"] == {"keys": [key]}


# -- RFC 7592 2.2 update -----------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_update_refuses_malformed_json(
    web: Any, provider: Any, operator_key: bytes, case: str
) -> None:
    created = web.post("/register", json=registration(statement(operator_key))).json
    uri = f"/register/{created['client_id']}"
    auth = {"Authorization": f"Bearer {created['registration_access_token']}"}
    tables = data_tables(provider)
    before = row_counts(provider, tables)
    _refused(web.put(uri, data=MALFORMED[case], content_type=JSON, headers=auth))
    assert row_counts(provider, tables) == before
    assert web.get(uri, headers=auth).json["client_name"] == "Test bank"


# -- the e-card API (RFC 7807) -----------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_ecard_api_refuses_malformed_json(
    web: Any, provider: Any, cardholder: Any, case: str
) -> None:
    headers = bearer(web, add_channel(provider, "bank"))
    issued = web.post("/api/v1/ecards", json=issue_body(provider, "bank"), headers=headers)
    assert issued.status_code == 201
    unbind = f"/api/v1/ecards/{issued.json['sign_no']}/unbind"
    tables = data_tables(provider)
    before = row_counts(provider, tables)
    for path in ("/api/v1/ecards", unbind):
        response = web.post(path, data=MALFORMED[case], content_type=JSON, headers=headers)
        _problem(response, 400, "malformed-json")
    assert row_counts(provider, tables) == before


def test_ecard_api_refuses_a_surrogate_name(web: Any, provider: Any, cardholder: Any) -> None:
    headers = bearer(web, add_channel(provider, "bank"))
    body = dumps(issue_body(provider, "bank", name="张\ud800三"))
    tables = data_tables(provider)
    before = row_counts(provider, tables)
    response = web.post("/api/v1/ecards", data=body, content_type=JSON, headers=headers)
    _problem(response, 400, "malformed-json")
    assert row_counts(provider, tables) == before


@pytest.mark.parametrize("path", ["/register", "/api/v1/ecards"])
def test_oversized_body(web: Any, provider: Any, path: str) -> None:
    headers = bearer(web, add_channel(provider, "bank")) if path != "/register" else {}
    body = b'{"name": "' + b"x" * 70_000 + b'"}'
    response = web.post(path, data=body, content_type=JSON, headers=headers)
    assert response.status_code == 413


@pytest.mark.parametrize("client_id", ["%00", "a%00b", "%C3%A9", "x" * 65, "%7F"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_management_with_an_impossible_client_id_is_a_4xx(
    web: Any, provider: Any, operator_key: bytes, client_id: str, method: str
) -> None:
    """Found by the property test on PostgreSQL: a NUL in the path's client id reached the
    database, which refuses NUL in text with an error (500). Ids are visible ASCII."""
    created = web.post("/register", json=registration(statement(operator_key))).json
    auth = {"Authorization": f"Bearer {created['registration_access_token']}"}
    answer = web.open(f"/register/{client_id}", method=method, json={}, headers=auth)
    assert answer.status_code in (400, 401, 403), answer.get_data(as_text=True)
    assert answer.json["error"] in ("invalid_token", "insufficient_scope", "invalid_request")
