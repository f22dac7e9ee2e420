"""Hostile requests to the authorization endpoint (RFC 6749 3.1, 4.1.2.1; OIDC Core 3.1.2).

An untrusted client or redirect URI gets an HTML page and no redirect; any other error goes to
the registered redirect URI with ``error``, ``state`` (when it is sane) and ``iss`` (RFC 9207).
Nothing is written: no interaction, grant or code.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from tests.hostile.common import BACKSLASH
from tests.hostile.common import HAN
from tests.hostile.common import NUL
from tests.hostile.common import PCT
from tests.hostile.common import QUOTE
from tests.hostile.common import assert_error_page
from tests.hostile.common import assert_redirect_error
from tests.hostile.common import counts
from tests.hostile.common import form
from tests.hostile.common import mutate
from tests.support import authorize_params
from tests.support import pkce_pair

CB = "https://rp.example/cb"
#: RFC 6749 Appendix A: VSCHAR = %x20-7E, every one of them.
VSCHARS = "".join(chr(c) for c in range(0x20, 0x7F))
LONG = "a" * 2100

PAGE = ("page", None)
UNTRUSTED = [
    ("client_id-missing", {"client_id": None}),
    ("client_id-unknown", {"client_id": "portal-0000000000000000"}),
    ("client_id-han", {"client_id": HAN}),
    ("client_id-pct", {"client_id": PCT}),
    ("client_id-quote", {"client_id": QUOTE}),
    ("client_id-backslash", {"client_id": BACKSLASH}),
    ("client_id-nul", {"client_id": NUL}),
    ("client_id-oversized", {"client_id": LONG}),
    ("client_id-duplicated", {"client_id": "@twice"}),
    ("redirect_uri-missing", {"redirect_uri": None}),
    ("redirect_uri-unregistered", {"redirect_uri": "https://evil.example/cb"}),
    ("redirect_uri-extra-path", {"redirect_uri": CB + "/x"}),
    ("redirect_uri-extra-query", {"redirect_uri": CB + "?next=https://evil.example"}),
    ("redirect_uri-case", {"redirect_uri": "https://RP.example/cb"}),
    ("redirect_uri-han", {"redirect_uri": CB + HAN}),
    ("redirect_uri-pct", {"redirect_uri": CB + PCT}),
    ("redirect_uri-quote", {"redirect_uri": CB + QUOTE}),
    ("redirect_uri-backslash", {"redirect_uri": CB + BACKSLASH}),
    ("redirect_uri-oversized", {"redirect_uri": CB + "/" + LONG}),
    ("redirect_uri-duplicated", {"redirect_uri": [CB, CB]}),
    ("redirect_uri-duplicated-other", {"redirect_uri": [CB, "https://evil.example/cb"]}),
]

ST = "st-123"
REDIRECTED = [
    ("response_type-missing", {"response_type": None}, "invalid_request", ST),
    ("response_type-token", {"response_type": "token"}, "unsupported_response_type", ST),
    ("response_type-hybrid", {"response_type": "code id_token"}, "unsupported_response_type", ST),
    ("response_type-han", {"response_type": HAN}, "invalid_request", ST),
    ("response_type-pct", {"response_type": PCT}, "unsupported_response_type", ST),
    ("response_type-quote", {"response_type": QUOTE}, "invalid_request", ST),
    ("response_type-backslash", {"response_type": BACKSLASH}, "invalid_request", ST),
    ("response_type-duplicated", {"response_type": ["code", "code"]}, "invalid_request", ST),
    ("response_mode-fragment", {"response_mode": "fragment"}, "invalid_request", ST),
    ("response_mode-han", {"response_mode": HAN}, "invalid_request", ST),
    ("scope-missing", {"scope": None}, "invalid_scope", ST),
    ("scope-without-openid", {"scope": "profile"}, "invalid_scope", ST),
    ("scope-not-allowed", {"scope": "openid essc.payment"}, "invalid_scope", ST),
    ("scope-unknown", {"scope": "openid admin"}, "invalid_scope", ST),
    ("scope-han", {"scope": "openid " + HAN}, "invalid_request", ST),
    ("scope-pct", {"scope": "openid " + PCT}, "invalid_scope", ST),
    ("scope-quote", {"scope": "openid " + QUOTE}, "invalid_request", ST),
    ("scope-backslash", {"scope": "openid " + BACKSLASH}, "invalid_request", ST),
    ("scope-oversized", {"scope": "openid " + LONG}, "invalid_request", ST),
    ("scope-duplicated", {"scope": ["openid", "openid"]}, "invalid_request", ST),
    ("state-han", {"state": HAN}, "invalid_request", None),
    # RFC 6749 A.5: state is 1*VSCHAR, so a quote or backslash is legal and comes back as sent.
    ("state-quote", {"state": QUOTE, "response_type": "token"}, "unsupported_response_type", QUOTE),
    (
        "state-backslash",
        {"state": BACKSLASH, "response_type": "token"},
        "unsupported_response_type",
        BACKSLASH,
    ),
    ("state-every-vschar", {"state": VSCHARS, "prompt": "none"}, "login_required", VSCHARS),
    ("state-quote-bad-scope", {"state": QUOTE, "scope": "openid " + HAN}, "invalid_request", QUOTE),
    ("state-del", {"state": "a\x7fb"}, "invalid_request", None),
    ("state-nul", {"state": NUL}, "invalid_request", None),
    ("state-control", {"state": "a\nb"}, "invalid_request", None),
    ("state-oversized", {"state": LONG}, "invalid_request", None),
    ("state-duplicated", {"state": ["a", "b"]}, "invalid_request", None),
    ("pkce-challenge-missing", {"code_challenge": None}, "invalid_request", ST),
    ("pkce-method-missing", {"code_challenge_method": None}, "invalid_request", ST),
    ("pkce-method-plain", {"code_challenge_method": "plain"}, "invalid_request", ST),
    ("pkce-method-lowercase", {"code_challenge_method": "s256"}, "invalid_request", ST),
    ("pkce-challenge-short", {"code_challenge": "abc"}, "invalid_request", ST),
    ("pkce-challenge-padded", {"code_challenge": "A" * 43 + "="}, "invalid_request", ST),
    ("pkce-challenge-std-b64", {"code_challenge": "A+/" + "A" * 40}, "invalid_request", ST),
    ("pkce-challenge-han", {"code_challenge": HAN * 43}, "invalid_request", ST),
    ("pkce-challenge-duplicated", {"code_challenge": "@twice"}, "invalid_request", ST),
    ("request-object", {"request": "e30.e30."}, "invalid_request_object", ST),
    ("request_uri", {"request_uri": "https://rp.example/r"}, "request_uri_not_supported", ST),
    ("prompt-none-login", {"prompt": "none login"}, "invalid_request", ST),
    ("prompt-unknown", {"prompt": "create"}, "invalid_request", ST),
    ("max_age-negative", {"max_age": "-1"}, "invalid_request", ST),
    ("max_age-text", {"max_age": "abc"}, "invalid_request", ST),
    ("max_age-huge", {"max_age": "99999999999"}, "invalid_request", ST),
    ("nonce-oversized", {"nonce": "n" * 300}, "invalid_request", ST),
    ("nonce-han", {"nonce": HAN}, "invalid_request", ST),
    ("login_hint-quote", {"login_hint": QUOTE}, "invalid_request", ST),
    ("ui_locales-han", {"ui_locales": "zh-" + HAN}, "invalid_request", ST),
    ("prompt-none-no-session", {"prompt": "none"}, "login_required", ST),
]


@pytest.fixture
def base(portal: Any) -> dict[str, str]:
    _, challenge = pkce_pair()
    return authorize_params(portal, challenge)


def _send(web: Any, method: str, items: list[tuple[str, str]]) -> Any:
    if method == "GET":
        return web.get("/authorize?" + urlencode(items))
    return web.post("/authorize", **form(items))


def _items(base: dict[str, str], changes: dict[str, Any]) -> list[tuple[str, str]]:
    resolved = {k: [base[k], base[k]] if v == "@twice" else v for k, v in changes.items()}
    return mutate(base, resolved)


def _echo(changes: dict[str, Any]) -> tuple[str, ...]:
    # A state is echoed in its own field by design; it must not appear in the description.
    return tuple(v for v in changes.values() if isinstance(v, str) and v != "@twice")


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(("changes"), [c for _, c in UNTRUSTED], ids=[i for i, _ in UNTRUSTED])
def test_untrusted_client_or_redirect_shows_a_page(
    provider: Any, web: Any, base: dict[str, str], method: str, changes: dict[str, Any]
) -> None:
    before = counts(provider)
    response = _send(web, method, _items(base, changes))
    assert_error_page(response, 400, echo=_echo(changes))
    assert counts(provider) == before


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    ("changes", "error", "state"),
    [c[1:] for c in REDIRECTED],
    ids=[c[0] for c in REDIRECTED],
)
def test_bad_request_is_redirected_to_the_client(
    provider: Any,
    web: Any,
    base: dict[str, str],
    method: str,
    changes: dict[str, Any],
    error: str,
    state: str | None,
) -> None:
    before = counts(provider)
    response = _send(web, method, _items(base, changes))
    assert_redirect_error(response, CB, error, state=state, echo=_echo(changes))
    assert counts(provider) == before


def test_form_post_mode_delivers_the_error_as_a_form(provider: Any, web: Any, base: Any) -> None:
    items = _items(base, {"response_mode": "form_post", "scope": "openid " + HAN})
    response = web.get("/authorize?" + urlencode(items))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'action="https://rp.example/cb"' in page
    assert 'name="error" value="invalid_request"' in page and 'value="st-123"' in page
    assert HAN not in page


@pytest.mark.parametrize(
    "extra",
    [{"claims": '{"userinfo":{"name":null}}'}, {"utm_source": HAN}, {"x": BACKSLASH}],
    ids=["oidc-claims-json", "unknown-han", "unknown-backslash"],
)
def test_unrecognized_parameters_are_ignored(web: Any, base: Any, extra: dict[str, str]) -> None:
    """RFC 6749 3.1: the request goes on to sign-in as if they were absent."""
    response = web.get("/authorize?" + urlencode({**base, **extra}))
    assert response.status_code == 303
    assert "/interaction/" in response.headers["Location"]


def test_client_without_the_code_grant_is_untrusted(provider: Any, web: Any, service: Any) -> None:
    _, challenge = pkce_pair()
    params = authorize_params(service, challenge, redirect_uri=CB)
    assert_error_page(web.get("/authorize?" + urlencode(params)))


def test_form_body_that_is_not_a_form(web: Any, base: Any) -> None:
    response = web.post("/authorize", json=base)
    assert_error_page(response)


def test_oversized_post_body(web: Any, base: Any) -> None:
    response = web.post("/authorize", **form([*base.items(), ("pad", "x" * 70_000)]))
    assert_error_page(response, 413)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_wrong_method(web: Any, method: str) -> None:
    response = web.open("/authorize", method=method)
    assert_error_page(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
