"""Hostile requests to introspection (RFC 7662), revocation (RFC 7009), UserInfo (OIDC Core 5.3
as an RFC 6750 protected resource), discovery (RFC 8414, OIDC Discovery) and the JWK Set."""

from __future__ import annotations

from typing import Any

import pytest

from tests.hostile.common import BACKSLASH
from tests.hostile.common import HAN
from tests.hostile.common import PCT
from tests.hostile.common import QUOTE
from tests.hostile.common import assert_oauth_error
from tests.hostile.common import counts
from tests.hostile.common import form
from tests.support import basic
from tests.support import exchange
from tests.support import obtain_code

# -- /introspect and /revoke ---------------------------------------------------------------
TOKEN_PARAM_CASES = [
    ("token-missing", [], 400, "invalid_request"),
    ("token-han", [("token", HAN)], 400, "invalid_request"),
    ("token-quote", [("token", QUOTE)], 400, "invalid_request"),
    ("token-backslash", [("token", BACKSLASH)], 400, "invalid_request"),
    ("token-oversized", [("token", "t" * 5000)], 400, "invalid_request"),
    ("token-duplicated", [("token", "a" * 43), ("token", "b" * 43)], 400, "invalid_request"),
    ("hint-han", [("token", "a" * 43), ("token_type_hint", HAN)], 400, "invalid_request"),
    ("oversized-body", [("token", "a"), ("pad", "x" * 70_000)], 413, "invalid_request"),
]


@pytest.mark.parametrize("path", ["/introspect", "/revoke"])
@pytest.mark.parametrize(
    ("items", "status", "error"),
    [c[1:] for c in TOKEN_PARAM_CASES],
    ids=[c[0] for c in TOKEN_PARAM_CASES],
)
def test_token_parameter(
    provider: Any,
    web: Any,
    service: Any,
    path: str,
    items: list[tuple[str, str]],
    status: int,
    error: str,
) -> None:
    before = counts(provider)
    response = web.post(
        path, headers=basic(service.client_id, service.client_secret), **form(items)
    )
    assert_oauth_error(response, status, error, echo=(HAN, QUOTE, BACKSLASH))
    assert counts(provider) == before


@pytest.mark.parametrize("path", ["/introspect", "/revoke"])
@pytest.mark.parametrize(
    "token",
    ["a" * 43, PCT, "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "x" * 4096],
    ids=["unknown-opaque", "pct", "garbage-jwt", "alg-none-jwt", "max-length"],
)
def test_unknown_tokens_reveal_nothing(
    provider: Any, web: Any, service: Any, path: str, token: str
) -> None:
    before = counts(provider)
    response = web.post(
        path, data={"token": token}, headers=basic(service.client_id, service.client_secret)
    )
    assert response.status_code == 200
    assert response.json == ({"active": False} if path == "/introspect" else {})
    assert counts(provider) == before


@pytest.mark.parametrize("path", ["/introspect", "/revoke"])
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"json": {"token": "a"}}, {"data": "token=a", "content_type": "text/plain"}],
    ids=["no-body", "json", "text-plain"],
)
def test_wrong_content_type(web: Any, service: Any, path: str, kwargs: dict[str, Any]) -> None:
    response = web.post(path, headers=basic(service.client_id, service.client_secret), **kwargs)
    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize("path", ["/introspect", "/revoke"])
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_wrong_method(web: Any, path: str, method: str) -> None:
    response = web.open(path + "?token=a", method=method)
    assert_oauth_error(response, 405, "invalid_request")
    assert "POST" in response.headers["Allow"]


def test_revoking_another_clients_refresh_token_does_nothing(
    provider: Any, web: Any, cardholder: Any, portal: Any, service: Any
) -> None:
    code, verifier = obtain_code(web, portal)
    tokens = exchange(web, portal, code, verifier).json
    response = web.post(
        "/revoke",
        data={"token": tokens["refresh_token"]},
        headers=basic(service.client_id, service.client_secret),
    )
    assert response.status_code == 200
    auth = basic(portal.client_id, portal.client_secret)
    assert (
        web.post("/introspect", data={"token": tokens["refresh_token"]}, headers=auth).json[
            "active"
        ]
        is True
    )


# -- /userinfo ----------------------------------------------------------------------------
@pytest.fixture
def tokens(web: Any, cardholder: Any, portal: Any) -> dict[str, Any]:
    code, verifier = obtain_code(web, portal)
    body: dict[str, Any] = exchange(web, portal, code, verifier).json
    return body


def _challenge(response: Any) -> str:
    value: str = response.headers["WWW-Authenticate"]
    assert value.startswith("Bearer ")
    assert value.isascii()
    return value


HEADER_CASES = [
    ("empty-bearer", "Bearer "),
    ("garbage", "Bearer abc"),
    ("garbage-jwt", "Bearer a.b.c"),
    ("latin1-bytes", "Bearer " + HAN.encode().decode("latin-1")),
    ("pct", "Bearer " + PCT),
    ("quote", "Bearer " + QUOTE),
    ("backslash", "Bearer " + BACKSLASH),
    ("oversized", "Bearer " + "a" * 5000),
    ("alg-none", "Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4In0."),
]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("header", [c[1] for c in HEADER_CASES], ids=[c[0] for c in HEADER_CASES])
def test_userinfo_malformed_bearer(web: Any, method: str, header: str) -> None:
    response = web.open("/userinfo", method=method, headers={"Authorization": header})
    assert_oauth_error(response, 401, "invalid_token", echo=(PCT, QUOTE, BACKSLASH))
    assert 'error="invalid_token"' in _challenge(response)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"query_string": {"access_token": "a.b.c"}},
        {"method": "POST", "json": {"access_token": "a.b.c"}},
        {"headers": {"Authorization": "Basic YTpi"}},
    ],
    ids=["nothing", "query-string-only", "json-body", "basic-scheme"],
)
def test_userinfo_without_a_token(web: Any, kwargs: dict[str, Any]) -> None:
    response = web.open("/userinfo", **{"method": "GET", **kwargs})
    assert response.status_code == 401
    assert _challenge(response) == 'Bearer realm="essc-idp"', "no error code without a token"


def test_userinfo_token_expired(web: Any, clock: Any, tokens: dict[str, Any]) -> None:
    clock.advance(300 + 10 + 1)
    response = web.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert_oauth_error(response, 401, "invalid_token")
    assert 'error="invalid_token"' in _challenge(response)


def test_userinfo_id_token_as_access_token(web: Any, tokens: dict[str, Any]) -> None:
    response = web.get("/userinfo", headers={"Authorization": f"Bearer {tokens['id_token']}"})
    assert_oauth_error(response, 401, "invalid_token")


def test_userinfo_tampered_token(web: Any, tokens: dict[str, Any]) -> None:
    head, body, sig = tokens["access_token"].split(".")
    response = web.get(
        "/userinfo", headers={"Authorization": f"Bearer {head}.{body}.{sig[:-4]}AAAA"}
    )
    assert_oauth_error(response, 401, "invalid_token")


def test_userinfo_service_token_lacks_openid(web: Any, service: Any) -> None:
    token = web.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers=basic(service.client_id, service.client_secret),
    ).json["access_token"]
    response = web.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert_oauth_error(response, 403, "insufficient_scope")
    assert 'error="insufficient_scope"' in _challenge(response)


@pytest.mark.parametrize(
    ("items", "use_header"),
    [
        ([("access_token", "@token")], True),
        ([("access_token", "@token"), ("access_token", "@token")], False),
        ([("access_token", HAN)], False),
    ],
    ids=["header-and-body", "body-duplicated", "body-han"],
)
def test_userinfo_malformed_request(
    web: Any, tokens: dict[str, Any], items: list[tuple[str, str]], use_header: bool
) -> None:
    token = tokens["access_token"]
    body = [(k, token if v == "@token" else v) for k, v in items]
    headers = {"Authorization": f"Bearer {token}"} if use_header else {}
    response = web.post("/userinfo", headers=headers, **form(body))
    assert_oauth_error(response, 400, "invalid_request", echo=(HAN,))
    assert 'error="invalid_request"' in _challenge(response)


def test_userinfo_ignores_other_body_parameters(web: Any, tokens: dict[str, Any]) -> None:
    body = [("access_token", tokens["access_token"]), ("note", HAN), ("x", QUOTE)]
    response = web.post("/userinfo", **form(body))
    assert response.status_code == 200, response.get_data()


def test_userinfo_oversized_body(web: Any) -> None:
    response = web.post("/userinfo", **form([("access_token", "a"), ("pad", "x" * 70_000)]))
    assert response.status_code == 413


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_userinfo_wrong_method(web: Any, method: str) -> None:
    response = web.open("/userinfo", method=method)
    assert response.status_code == 405
    assert {"GET", "POST"} <= set(response.headers["Allow"].split(", "))


# -- discovery and the JWK Set -------------------------------------------------------------
PUBLIC = [
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "/jwks.json",
]


@pytest.mark.parametrize("path", PUBLIC)
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_public_documents_wrong_method(web: Any, path: str, method: str) -> None:
    response = web.open(path, method=method, data={"x": HAN})
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("path", PUBLIC)
def test_public_documents_ignore_hostile_queries(web: Any, path: str) -> None:
    response = web.get(path, query_string=[("x", HAN), ("x", QUOTE), ("y", BACKSLASH)])
    assert response.status_code == 200 and response.json
    assert HAN not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/.well-known/unknown",
        "/.well-known/openid-configuration/x",
        "/.well-known/" + PCT,
        "/.well-known/%E5%9B%9E",
        "/jwks.json/extra",
    ],
    ids=["unknown", "suffix", "pct", "han", "jwks-suffix"],
)
def test_unknown_public_paths(web: Any, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert HAN not in response.get_data(as_text=True)
