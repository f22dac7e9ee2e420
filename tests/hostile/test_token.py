"""Hostile requests to the token endpoint (RFC 6749 3.2, 4.1.3, 5.2, 6; RFC 7636 4.6).

Every failure is OAuth JSON with ``no-store``; a failed exchange leaves no refresh token and
does not consume the code (it stays usable by its rightful client).
"""

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
from tests.hostile.common import mutate
from tests.hostile.common import scalar
from tests.support import basic
from tests.support import exchange
from tests.support import obtain_code
from tests.support import register

CC = {"grant_type": "client_credentials"}
GENERIC = [
    ("grant_type-missing", {"grant_type": None}, 400, "invalid_request"),
    ("grant_type-password", {"grant_type": "password"}, 400, "unsupported_grant_type"),
    (
        "grant_type-device",
        {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"},
        400,
        "unsupported_grant_type",
    ),
    ("grant_type-han", {"grant_type": HAN}, 400, "invalid_request"),
    ("grant_type-pct", {"grant_type": PCT}, 400, "unsupported_grant_type"),
    ("grant_type-quote", {"grant_type": QUOTE}, 400, "invalid_request"),
    ("grant_type-backslash", {"grant_type": BACKSLASH}, 400, "invalid_request"),
    ("grant_type-oversized", {"grant_type": "g" * 600}, 400, "invalid_request"),
    ("grant_type-duplicated", {"grant_type": ["client_credentials"] * 2}, 400, "invalid_request"),
    ("scope-identity", {"scope": "openid"}, 400, "invalid_scope"),
    ("scope-unknown", {"scope": "essc.admin"}, 400, "invalid_scope"),
    ("scope-han", {"scope": HAN}, 400, "invalid_request"),
    ("scope-duplicated", {"scope": ["essc.payment", "essc.payment"]}, 400, "invalid_request"),
    ("oversized-body", {"pad": "x" * (64 * 1024 + 1)}, 413, "invalid_request"),
    (
        "unauthorized-grant",
        {"grant_type": "authorization_code", "code": "c", "redirect_uri": "x"},
        400,
        "unauthorized_client",
    ),
]


@pytest.mark.parametrize(
    ("changes", "status", "error"), [c[1:] for c in GENERIC], ids=[c[0] for c in GENERIC]
)
def test_client_credentials_request(
    provider: Any, web: Any, service: Any, changes: dict[str, Any], status: int, error: str
) -> None:
    before = counts(provider)
    response = web.post(
        "/token",
        headers=basic(service.client_id, service.client_secret),
        **form(mutate(CC, changes)),
    )
    assert_oauth_error(
        response, status, error, echo=tuple(v for v in changes.values() if isinstance(v, str))
    )
    assert counts(provider) == before


@pytest.mark.parametrize(
    ("kwargs"),
    [
        {},
        {"json": CC},
        {"data": "grant_type=client_credentials", "content_type": "text/plain"},
        {"data": CC, "content_type": "multipart/form-data"},
        {"data": b"grant_type=client_credentials", "content_type": "application/jsonx"},
    ],
    ids=["no-body", "json", "text-plain", "multipart", "near-miss-type"],
)
def test_wrong_content_type(web: Any, service: Any, kwargs: dict[str, Any]) -> None:
    response = web.post("/token", headers=basic(service.client_id, service.client_secret), **kwargs)
    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method(web: Any, method: str) -> None:
    response = web.open("/token?grant_type=client_credentials", method=method)
    assert_oauth_error(response, 405, "invalid_request")
    assert response.headers["Allow"].split(", ")[0] in ("POST", "OPTIONS")
    assert "POST" in response.headers["Allow"]


def test_portal_may_not_use_client_credentials(web: Any, portal: Any) -> None:
    response = web.post("/token", data=CC, headers=basic(portal.client_id, portal.client_secret))
    assert_oauth_error(response, 400, "unauthorized_client")


# -- authorization_code -------------------------------------------------------------------
CODE_CASES = [
    ("code-missing", {"code": None}, "invalid_request"),
    ("code-unknown", {"code": "A" * 43}, "invalid_grant"),
    ("code-han", {"code": HAN}, "invalid_request"),
    ("code-pct", {"code": PCT}, "invalid_grant"),
    ("code-quote", {"code": QUOTE}, "invalid_request"),
    ("code-backslash", {"code": BACKSLASH}, "invalid_request"),
    ("code-oversized", {"code": "c" * 600}, "invalid_request"),
    ("code-duplicated", {"code": "@twice"}, "invalid_request"),
    ("redirect_uri-missing", {"redirect_uri": None}, "invalid_request"),
    ("redirect_uri-mismatch", {"redirect_uri": "https://rp.example/other"}, "invalid_grant"),
    ("redirect_uri-han", {"redirect_uri": "https://rp.example/cb" + HAN}, "invalid_request"),
    ("redirect_uri-duplicated", {"redirect_uri": "@twice"}, "invalid_request"),
    ("verifier-missing", {"code_verifier": None}, "invalid_request"),
    ("verifier-wrong", {"code_verifier": "v" * 64}, "invalid_grant"),
    ("verifier-short", {"code_verifier": "abc"}, "invalid_request"),
    ("verifier-too-long", {"code_verifier": "v" * 129}, "invalid_request"),
    ("verifier-bad-chars", {"code_verifier": "v" * 42 + "+"}, "invalid_request"),
    ("verifier-han", {"code_verifier": "v" * 42 + HAN}, "invalid_request"),
    ("verifier-is-challenge", {"code_verifier": "@challenge"}, "invalid_grant"),
    ("scope-ignored-but-han", {"scope": HAN}, "invalid_request"),
]


@pytest.mark.parametrize(
    ("changes", "error"), [c[1:] for c in CODE_CASES], ids=[c[0] for c in CODE_CASES]
)
def test_code_exchange(
    provider: Any, web: Any, cardholder: Any, portal: Any, changes: dict[str, Any], error: str
) -> None:
    code, verifier = obtain_code(web, portal)
    good = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": portal.redirect_uri,
        "code_verifier": verifier,
    }
    resolved: dict[str, Any] = {}
    for name, value in changes.items():
        if value == "@twice":
            value = [good[name], good[name]]
        elif value == "@challenge":
            from tests.support import pkce_pair

            value = pkce_pair()[1] + "A" * 5
        resolved[name] = value
    before = counts(provider)
    response = web.post(
        "/token",
        headers=basic(portal.client_id, portal.client_secret),
        **form(mutate(good, resolved)),
    )
    assert_oauth_error(
        response, 400, error, echo=tuple(v for v in changes.values() if isinstance(v, str))
    )
    assert counts(provider) == before
    assert (
        scalar(provider, "SELECT COUNT(*) FROM authorization_codes WHERE consumed_at IS NULL") == 1
    )
    assert exchange(web, portal, code, verifier).status_code == 200, "the code is still good"


def test_expired_code(provider: Any, web: Any, clock: Any, cardholder: Any, portal: Any) -> None:
    code, verifier = obtain_code(web, portal)
    clock.advance(61)
    before = counts(provider)
    assert_oauth_error(exchange(web, portal, code, verifier), 400, "invalid_grant")
    assert counts(provider) == before


def test_code_of_another_client(provider: Any, web: Any, cardholder: Any, portal: Any) -> None:
    other = register(provider, redirect_uris=(portal.redirect_uri,))
    code, verifier = obtain_code(web, portal)
    before = counts(provider)
    assert_oauth_error(exchange(web, other, code, verifier), 400, "invalid_grant")
    assert counts(provider) == before
    assert exchange(web, portal, code, verifier).status_code == 200


def test_replayed_code_revokes_and_writes_nothing_else(
    provider: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    code, verifier = obtain_code(web, portal)
    assert exchange(web, portal, code, verifier).status_code == 200
    before = counts(provider)
    assert_oauth_error(exchange(web, portal, code, verifier), 400, "invalid_grant")
    assert counts(provider) == before
    assert scalar(provider, "SELECT revoked_reason FROM grants") == "code_reuse"


# -- refresh_token ------------------------------------------------------------------------
@pytest.fixture
def tokens(web: Any, cardholder: Any, portal: Any) -> dict[str, Any]:
    code, verifier = obtain_code(web, portal)
    body: dict[str, Any] = exchange(web, portal, code, verifier).json
    return body


REFRESH_CASES = [
    ("refresh_token-missing", {"refresh_token": None}, "invalid_request"),
    ("refresh_token-unknown", {"refresh_token": "r" * 43}, "invalid_grant"),
    ("refresh_token-han", {"refresh_token": HAN}, "invalid_request"),
    ("refresh_token-quote", {"refresh_token": QUOTE}, "invalid_request"),
    ("refresh_token-oversized", {"refresh_token": "r" * 600}, "invalid_request"),
    ("refresh_token-duplicated", {"refresh_token": "@twice"}, "invalid_request"),
    ("scope-wider", {"scope": "openid profile essc.card essc.family"}, "invalid_scope"),
    ("scope-backslash", {"scope": BACKSLASH}, "invalid_request"),
]


@pytest.mark.parametrize(
    ("changes", "error"), [c[1:] for c in REFRESH_CASES], ids=[c[0] for c in REFRESH_CASES]
)
def test_refresh(
    provider: Any,
    web: Any,
    portal: Any,
    tokens: dict[str, Any],
    changes: dict[str, Any],
    error: str,
) -> None:
    good = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    resolved = {k: [good[k], good[k]] if v == "@twice" else v for k, v in changes.items()}
    before = counts(provider)
    response = web.post(
        "/token",
        headers=basic(portal.client_id, portal.client_secret),
        **form(mutate(good, resolved)),
    )
    assert_oauth_error(
        response, 400, error, echo=tuple(v for v in changes.values() if isinstance(v, str))
    )
    assert counts(provider) == before
    assert scalar(provider, "SELECT COUNT(*) FROM refresh_tokens WHERE used_at IS NULL") == 1


def test_refresh_token_of_another_client(
    provider: Any, web: Any, portal: Any, tokens: dict[str, Any]
) -> None:
    other = register(provider, redirect_uris=(portal.redirect_uri,))
    before = counts(provider)
    response = web.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(other.client_id, other.client_secret),
    )
    assert_oauth_error(response, 400, "invalid_grant")
    assert counts(provider) == before
    assert scalar(provider, "SELECT COUNT(*) FROM grants WHERE revoked_at IS NULL") == 1


def test_expired_refresh_token(
    provider: Any, web: Any, clock: Any, portal: Any, tokens: dict[str, Any]
) -> None:
    clock.advance(14 * 24 * 3600 + 1)
    before = counts(provider)
    response = web.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(portal.client_id, portal.client_secret),
    )
    assert_oauth_error(response, 400, "invalid_grant")
    assert counts(provider) == before


def test_refresh_token_reuse_revokes_the_family(
    provider: Any, web: Any, portal: Any, tokens: dict[str, Any]
) -> None:
    auth = basic(portal.client_id, portal.client_secret)
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert web.post("/token", data=data, headers=auth).status_code == 200
    before = counts(provider)
    assert_oauth_error(web.post("/token", data=data, headers=auth), 400, "invalid_grant")
    assert counts(provider) == before, "no new refresh token for a replayed one"
    assert scalar(provider, "SELECT revoked_reason FROM grants") == "refresh_reuse"


# -- the back channel's own body parsing (idp/http/backchannel.py) -------------------------
RAW_BODY_CASES: list[tuple[str, dict[str, Any], int]] = [
    ("content-length-malformed", {"environ_overrides": {"CONTENT_LENGTH": "abc"}}, 400),
    ("content-length-huge", {"environ_overrides": {"CONTENT_LENGTH": "99999999999"}}, 413),
    ("content-length-negative", {"environ_overrides": {"CONTENT_LENGTH": "-5"}}, 400),
    ("raw-invalid-utf8", {"data": b"grant_type=client_credentials&scope=\xff\xfe"}, 400),
    ("pct-invalid-utf8", {"data": b"grant_type=client_credentials&scope=%FF%FE"}, 400),
    ("nul-byte", {"data": b"grant_type=client_credentials&scope=a%00b"}, 400),
    ("too-many-fields", {"data": "&".join(f"p{i}=1" for i in range(80))}, 400),
    ("chunked-oversized", {"input_stream": b"x" * 70_000, "chunked": True}, 413),
]


@pytest.mark.parametrize(
    ("kwargs", "status"), [c[1:] for c in RAW_BODY_CASES], ids=[c[0] for c in RAW_BODY_CASES]
)
def test_raw_body(web: Any, service: Any, kwargs: dict[str, Any], status: int) -> None:
    import io

    kwargs = dict(kwargs)
    headers = dict(basic(service.client_id, service.client_secret))
    if kwargs.pop("chunked", False):
        kwargs["input_stream"] = io.BytesIO(kwargs["input_stream"])
        headers["Transfer-Encoding"] = "chunked"
    response = web.post(
        "/token", headers=headers, content_type="application/x-www-form-urlencoded", **kwargs
    )
    assert_oauth_error(response, status, "invalid_request")


@pytest.mark.parametrize("value", [HAN, QUOTE, BACKSLASH, "x" * 2000])
def test_unrecognized_parameters_are_ignored(web: Any, service: Any, value: str) -> None:
    """RFC 6749 3.1: the server MUST ignore unrecognized request parameters."""
    response = web.post(
        "/token",
        headers=basic(service.client_id, service.client_secret),
        data={"grant_type": "client_credentials", "utm_source": value},
    )
    assert response.status_code == 200, response.get_json()
