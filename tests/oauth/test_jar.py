"""JWT-secured authorization requests (RFC 9101) through PAR and the front channel, on every
store: only the object's parameters count (5), every unusable object is
``invalid_request_object`` (6.3), and no ``request_uri`` but a pushed one is ever used (10.4)."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck
from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from idp.oauth.rfc9101_jar import ALGS
from idp.provider import Provider
from tests.oauth.fapi_client import FapiClient
from tests.support import FakeClock
from tests.support import query_of

HOSTILE = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def bank(provider: Provider) -> FapiClient:
    return FapiClient(provider)


@pytest.fixture
def rp(provider: Provider) -> FapiClient:
    """Not a FAPI client: it may use the front channel, with or without a request object."""
    return FapiClient(provider, fapi2=False)


def refused(response: Any, error: str = "invalid_request_object") -> None:
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"] == error


def push_object(web: Any, client: FapiClient, request_object: str, **outer: str) -> Any:
    return client.push(web, {"request": request_object, **outer})


def test_a_pushed_request_object_stands_for_the_whole_request(
    web: Any, bank: FapiClient, cardholder: dict[str, str]
) -> None:
    params, _ = bank.params()
    # RFC 9126 3 / RFC 9101 5: outer parameters beside the object are not used.
    pushed = push_object(web, bank, bank.request_object(params), scope="openid essc.payment")
    assert pushed.status_code == 201, pushed.get_json()
    location = web.get(
        "/authorize",
        query_string={"client_id": bank.client_id, "request_uri": pushed.get_json()["request_uri"]},
    ).headers["Location"]
    assert urlsplit(location).path.startswith("/interaction/")


def test_a_front_channel_request_object_is_used_alone(
    web: Any, rp: FapiClient, cardholder: dict[str, str]
) -> None:
    params, _ = rp.params()
    response = web.get(
        "/authorize",
        query_string={
            "client_id": rp.client_id,
            "request": rp.request_object(params),
            "redirect_uri": "https://evil.example/cb",
            "state": "from-the-browser",
        },
    )
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path.startswith("/interaction/")


def _other_key() -> Any:
    return ec.generate_private_key(ec.SECP256R1())


#: Each way a request object is unusable, as (claims to change, signing options).
BAD_OBJECTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "wrong aud": ({"aud": "https://another-issuer.example"}, {}),
    "aud missing": ({"aud": None}, {}),
    "expired": ({"exp": -30}, {}),
    "exp missing": ({"exp": None}, {}),
    "lives over an hour": ({"exp": 3700}, {}),
    "nbf in the future": ({"nbf": 120}, {}),
    "nbf over an hour old": ({"nbf": -3700, "exp": -3700 + 3600}, {}),
    "iss another client": ({"iss": "bank-someone-else"}, {}),
    "client_id another client": ({"client_id": "bank-someone-else"}, {}),
    "nested request_uri": ({"request_uri": "https://evil.example/r"}, {}),
    "nested request": ({"request": "x.y.z"}, {}),
    "a scope that is no string": ({"scope": ["openid"]}, {}),
    "signed by another key": ({}, {"key": "other"}),
    "an unknown kid": ({}, {"headers": {"kid": "nope"}}),
    "a wrong typ": ({}, {"headers": {"typ": "dpop+jwt"}}),
    "a crit header": ({}, {"headers": {"crit": ["exp"]}}),
}


def _bad(client: FapiClient, case: str) -> str:
    changes, options = BAD_OBJECTS[case]
    now = client.now()
    claims = {
        k: now + v if k in ("exp", "nbf") and v is not None else v for k, v in changes.items()
    }
    if options.get("key") == "other":
        options = {**options, "key": _other_key()}
    params, _ = client.params()
    return client.request_object(params, **options, **claims)


@pytest.mark.parametrize("case", sorted(BAD_OBJECTS))
def test_an_unusable_object_is_refused_at_par(web: Any, bank: FapiClient, case: str) -> None:
    refused(push_object(web, bank, _bad(bank, case)))


@pytest.mark.parametrize("case", ["wrong aud", "expired", "signed by another key"])
def test_an_unusable_object_is_refused_on_the_front_channel(
    web: Any, rp: FapiClient, case: str
) -> None:
    bad = _bad(rp, case)
    response = web.get("/authorize", query_string={"client_id": rp.client_id, "request": bad})
    assert response.status_code == 400 and "Location" not in response.headers
    # Beside a redirect_uri the client registered, the error goes back to the client.
    outer = {"client_id": rp.client_id, "request": bad, "redirect_uri": rp.redirect_uri}
    response = web.get("/authorize", query_string={**outer, "state": "s-1"})
    assert response.status_code == 303
    assert query_of(response.headers["Location"]) == {
        "error": "invalid_request_object",
        "error_description": query_of(response.headers["Location"])["error_description"],
        "state": "s-1",
        "iss": rp.issuer,
    }
    evil = {**outer, "redirect_uri": "https://evil.example/cb"}
    assert "Location" not in web.get("/authorize", query_string=evil).headers


def _unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}.c2ln"


def test_alg_none_and_mac_are_refused(web: Any, bank: FapiClient) -> None:
    params, _ = bank.params()
    claims = {"iss": bank.client_id, "aud": bank.issuer, "exp": bank.now() + 60, **params}
    unsigned = jwt.encode(claims, None, algorithm="none")  # "header.payload." : no signature
    refused(push_object(web, bank, unsigned + "AA"))
    refused(push_object(web, bank, _unsigned(claims, {"alg": "none"})))
    mac = jwt.encode(claims, "a shared secret of thirty-two bytes!", algorithm="HS256")
    refused(push_object(web, bank, mac))


def test_a_fapi_client_may_not_sign_with_rs256(web: Any, provider: Provider) -> None:
    assert "RS256" in ALGS  # others may; a FAPI 2.0 client only ES256, PS256, EdDSA
    bank = FapiClient(provider)
    params, _ = bank.params()
    claims = {"iss": bank.client_id, "aud": bank.issuer, "exp": bank.now() + 60, **params}
    refused(push_object(web, bank, _unsigned(claims, {"alg": "RS256", "kid": bank.kid})))


def test_a_fapi_client_needs_nbf(web: Any, bank: FapiClient, rp: FapiClient) -> None:
    params, _ = bank.params()
    refused(push_object(web, bank, bank.request_object(params, nbf=None)))
    rp_params, _ = rp.params()
    assert push_object(web, rp, rp.request_object(rp_params, nbf=None)).status_code == 201


def test_a_valid_object_with_an_invalid_request_is_invalid_request(
    web: Any, bank: FapiClient
) -> None:
    params, _ = bank.params(code_challenge_method="plain")
    refused(push_object(web, bank, bank.request_object(params)), "invalid_request")


def test_only_pushed_request_uris_are_used(web: Any, rp: FapiClient) -> None:
    """RFC 9101 10.4: a request_uri the client names is never fetched."""
    params, _ = rp.params()
    response = web.get(
        "/authorize", query_string={**params, "request_uri": "https://127.0.0.1:1/r"}
    )
    assert response.status_code == 303
    assert query_of(response.headers["Location"])["error"] == "request_uri_not_supported"


def test_request_and_request_uri_together_are_refused(web: Any, rp: FapiClient) -> None:
    params, _ = rp.params()
    response = web.get(
        "/authorize",
        query_string={
            "client_id": rp.client_id,
            "request": rp.request_object(params),
            "request_uri": "urn:ietf:params:oauth:request_uri:" + "a" * 43,
        },
    )
    assert response.status_code == 400


def test_a_client_that_requires_signed_objects_is_refused_without_one(
    web: Any, provider: Provider
) -> None:
    client = FapiClient(provider, fapi2=False, require_signed_request_object=True)
    params, _ = client.params()
    refused(client.push(web, params), "invalid_request")
    assert web.get("/authorize", query_string=params).status_code == 400
    assert push_object(web, client, client.request_object(params)).status_code == 201


def test_discovery_advertises_request_objects(web: Any) -> None:
    metadata = web.get("/.well-known/openid-configuration").get_json()
    assert metadata["request_parameter_supported"] is True
    assert metadata["request_uri_parameter_supported"] is False
    assert metadata["request_object_signing_alg_values_supported"] == list(ALGS)
    assert metadata["require_signed_request_object"] is False
    assert metadata["require_pushed_authorization_requests"] is False


def test_an_expired_pushed_object_cannot_be_used_later(
    web: Any, bank: FapiClient, clock: FakeClock
) -> None:
    params, _ = bank.params()
    pushed = push_object(web, bank, bank.request_object(params))
    clock.advance(61)  # past ESSC_PAR_TTL
    response = web.get(
        "/authorize",
        query_string={"client_id": bank.client_id, "request_uri": pushed.get_json()["request_uri"]},
    )
    assert response.status_code == 400


# -- hostile input: never a 500 ----------------------------------------------------------
def _nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    _nested,
    max_leaves=8,
)
_NOT_NUMBER = st.none() | st.booleans() | st.text(max_size=20) | st.lists(st.integers(), max_size=2)
_COMPACT_CHARS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", max_size=300
)


@HOSTILE
@given(value=_COMPACT_CHARS)
def test_any_compact_looking_text_is_invalid_request_object(
    web: Any, bank: FapiClient, value: str
) -> None:
    assume(value)
    refused(push_object(web, bank, value))


@HOSTILE
@given(value=st.text(max_size=200))
def test_any_text_is_a_4xx(web: Any, bank: FapiClient, value: str) -> None:
    response = push_object(web, bank, value)
    assert response.status_code == 400
    assert response.get_json()["error"] in ("invalid_request_object", "invalid_request")


@HOSTILE
@given(header=st.dictionaries(st.text(max_size=6), _JSON, max_size=4), claims=_JSON)
def test_any_unsigned_structure_is_invalid_request_object(
    web: Any, bank: FapiClient, header: dict[str, Any], claims: Any
) -> None:
    def part(value: Any) -> str:
        raw = json.dumps(value, allow_nan=True).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    refused(push_object(web, bank, f"{part(header)}.{part(claims)}.c2ln"))


@HOSTILE
@given(
    name=st.sampled_from(["iss", "aud", "client_id", "exp", "nbf", "iat", "scope"]),
    value=_NOT_NUMBER | _JSON,
)
def test_any_bad_claim_in_a_signed_object_is_invalid_request_object(
    web: Any, bank: FapiClient, name: str, value: Any
) -> None:
    """Signed by the client's own key, with one claim made wrong: never accepted, never 500."""
    valid = {"iss": bank.client_id, "aud": bank.issuer, "client_id": bank.client_id}
    assume(value is not None and value != valid.get(name))  # None: the claim left out
    assume(not (name == "aud" and isinstance(value, list) and bank.issuer in value))
    assume(not (name in ("exp", "nbf", "iat") and _is_number(value)))
    assume(not (name == "scope" and isinstance(value, str)))
    params, _ = bank.params()
    refused(push_object(web, bank, bank.request_object(params, **{name: value})))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
