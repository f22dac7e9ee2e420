"""The authorization request's checks (idp.oauth.authorize.CHECKS), without Flask or a database.

Each check is broken on its own by one change to a valid request and must refuse with the error
it always gave (RFC 6749 4.1.2.1: shown before ``check_redirect_uri``, redirected with ``state``
from then on); with two checks broken, the one declared first decides the answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace

import pytest

from channels.client import Client
from channels.kinds import ChannelKind
from idp.errors import InvalidRequest
from idp.errors import InvalidScope
from idp.errors import OAuthError
from idp.errors import RequestNotSupported
from idp.errors import RequestUriNotSupported
from idp.errors import UnauthorizedClient
from idp.errors import UnsupportedResponseType
from idp.oauth.authorize import CHECKS
from idp.oauth.authorize import AuthorizationRequest
from idp.oauth.authorize import RedirectableError
from idp.oauth.authorize import UntrustedRedirect
from idp.oauth.authorize import parse_authorization_request

CB = "https://rp.example/cb"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
PORTAL = Client(
    client_id="portal-1",
    name="Portal",
    kind=ChannelKind.PORTAL,
    status="active",
    redirect_uris=(CB,),
    grant_types=frozenset({"authorization_code", "refresh_token"}),
    scopes=frozenset({"openid", "profile", "essc.card"}),
    token_endpoint_auth_method="client_secret_basic",
    secret_hash=None,
    jwks=None,
    jwks_uri=None,
    sector_identifier="rp.example",
    subject_type="pairwise",
    id_token_signed_response_alg="ES256",
    rotate_refresh_tokens=True,
)

Params = dict[str, list[str]]
Clients = dict[str, Client]


def _valid() -> Params:
    return {
        "client_id": [PORTAL.client_id],
        "redirect_uri": [CB],
        "response_type": ["code"],
        "scope": ["openid profile"],
        "state": ["st-1"],
        "nonce": ["n-1"],
        "code_challenge": [CHALLENGE],
        "code_challenge_method": ["S256"],
    }


def _parse(params: Params, clients: Clients) -> AuthorizationRequest:
    items = [(name, value) for name, values in params.items() for value in values]
    return parse_authorization_request(items, clients.get)


@dataclass(frozen=True)
class Break:
    """One change to a valid request that exactly one check refuses, and that refusal."""

    check: str
    change: Callable[[Params, Clients], None]
    error: type[OAuthError]
    description: str


def _set(name: str, *values: str) -> Callable[[Params, Clients], None]:
    def change(params: Params, _: Clients) -> None:
        params[name] = list(values)

    return change


def _drop(name: str) -> Callable[[Params, Clients], None]:
    def change(params: Params, _: Clients) -> None:
        del params[name]

    return change


def _client(**fields: object) -> Callable[[Params, Clients], None]:
    def change(_: Params, clients: Clients) -> None:
        clients[PORTAL.client_id] = replace(clients[PORTAL.client_id], **fields)  # type: ignore[arg-type]

    return change


UNKNOWN_CLIENT = "client_id is missing or unknown"
BAD_REDIRECT = "redirect_uri is missing or not registered"
#: One break per check, in the declared order; no two touch the same parameter or client field,
#: so any two can be combined.
BREAKS = [
    Break(
        "check_routing_values",
        _set("client_id", PORTAL.client_id, PORTAL.client_id),
        InvalidRequest,
        "a parameter is repeated",
    ),
    Break(
        "check_client",
        _client(status="suspended"),
        InvalidRequest,
        UNKNOWN_CLIENT,
    ),
    Break(
        "check_redirect_uri",
        _set("redirect_uri", "https://evil.example/cb"),
        InvalidRequest,
        BAD_REDIRECT,
    ),
    Break(
        "check_pushed_if_required",
        _client(require_pushed_authorization_requests=True),
        InvalidRequest,
        "this client must push its authorization requests (RFC 9126)",
    ),
    Break(
        "check_parameter_values",
        _set("nonce", "n-\u6c49"),
        InvalidRequest,
        "a parameter has characters outside visible ASCII",
    ),
    Break(
        "check_response_mode",
        _set("response_mode", "fragment"),
        InvalidRequest,
        "response_mode must be query or form_post",
    ),
    Break(
        "check_no_request_object",
        _set("request", "e30.e30."),
        RequestNotSupported,
        "request objects are not supported",
    ),
    Break(
        "check_no_request_uri",
        _set("request_uri", "https://rp.example/r"),
        RequestUriNotSupported,
        "request_uri is not supported",
    ),
    Break(
        "check_response_type",
        _set("response_type", "token"),
        UnsupportedResponseType,
        "only response_type=code is supported",
    ),
    Break(
        "check_client_grant",
        _client(grant_types=frozenset({"client_credentials"})),
        UnauthorizedClient,
        "the client may not use the authorization code flow",
    ),
    Break("check_scope", _set("scope", "profile"), InvalidScope, "scope must include openid"),
    Break(
        "check_pkce",
        _drop("code_challenge"),
        InvalidRequest,
        "code_challenge is required (PKCE S256)",
    ),
    Break(
        "check_dpop_jkt",
        _set("dpop_jkt", "not a thumbprint"),
        InvalidRequest,
        "dpop_jkt must be a JWK SHA-256 thumbprint",
    ),
    Break(
        "check_prompt", _set("prompt", "create"), InvalidRequest, "prompt has an unsupported value"
    ),
    Break(
        "check_max_age",
        _set("max_age", "abc"),
        InvalidRequest,
        "max_age must be a non-negative integer",
    ),
    Break("check_acr", _set("claims", "[]"), InvalidRequest, "claims must be a JSON object"),
]
#: The other refusals of checks that refuse in more than one way.
MORE_BREAKS = [
    Break(
        "check_routing_values",
        _set("redirect_uri", CB + "\x00"),
        InvalidRequest,
        "a parameter has characters outside visible ASCII",
    ),
    Break("check_client", _set("client_id", "portal-0"), InvalidRequest, UNKNOWN_CLIENT),
    Break("check_client", _drop("client_id"), InvalidRequest, UNKNOWN_CLIENT),
    Break("check_redirect_uri", _drop("redirect_uri"), InvalidRequest, BAD_REDIRECT),
    Break("check_redirect_uri", _set("redirect_uri", CB + "/x"), InvalidRequest, BAD_REDIRECT),
    Break(
        "check_parameter_values",
        _set("scope", "openid", "openid"),
        InvalidRequest,
        "a parameter is repeated",
    ),
    Break(
        "check_parameter_values",
        _set("nonce", "n" * 300),
        InvalidRequest,
        "a parameter is too long",
    ),
    Break("check_response_type", _drop("response_type"), InvalidRequest, "missing response_type"),
    Break(
        "check_scope",
        _set("scope", "openid essc.payment"),
        InvalidScope,
        "scope is not allowed for this client",
    ),
    Break(
        "check_pkce",
        _set("code_challenge_method", "plain"),
        InvalidRequest,
        "code_challenge_method must be S256",
    ),
    Break(
        "check_pkce", _set("code_challenge", "abc"), InvalidRequest, "code_challenge is malformed"
    ),
    Break(
        "check_prompt",
        _set("prompt", "none login"),
        InvalidRequest,
        "prompt=none must not be combined",
    ),
    Break(
        "check_max_age",
        _set("max_age", "9999999999"),
        InvalidRequest,
        "max_age must be a non-negative integer",
    ),
]
SHOWN = {"check_routing_values", "check_client", "check_redirect_uri"}


def _refusal(*breaks: Break) -> UntrustedRedirect | RedirectableError:
    params, clients = _valid(), {PORTAL.client_id: PORTAL}
    for b in breaks:
        b.change(params, clients)
    with pytest.raises((UntrustedRedirect, RedirectableError)) as raised:
        _parse(params, clients)
    return raised.value


def _assert_refused_as(refusal: UntrustedRedirect | RedirectableError, b: Break) -> None:
    assert type(refusal.error) is b.error
    assert refusal.error.description == b.description
    if b.check in SHOWN:
        assert isinstance(refusal, UntrustedRedirect)
    else:
        assert isinstance(refusal, RedirectableError)
        assert (refusal.request.redirect_uri, refusal.request.state) == (CB, "st-1")


def test_the_checks_run_in_the_declared_order() -> None:
    assert [check.__name__ for check in CHECKS] == [b.check for b in BREAKS]


def test_a_valid_request_passes_every_check() -> None:
    params = _valid() | {"prompt": ["login"], "max_age": ["60"], "ui_locales": ["en-US"]}
    request = _parse(params, {PORTAL.client_id: PORTAL})
    assert request == AuthorizationRequest(
        client_id=PORTAL.client_id,
        redirect_uri=CB,
        response_mode="query",
        state="st-1",
        scopes=("openid", "profile"),
        nonce="n-1",
        code_challenge=CHALLENGE,
        prompt=("login",),
        max_age=60,
        ui_locale="en",
    )


@pytest.mark.parametrize("b", BREAKS + MORE_BREAKS, ids=lambda b: b.check)
def test_each_check_refuses_with_its_own_error(b: Break) -> None:
    _assert_refused_as(_refusal(b), b)


@pytest.mark.parametrize(
    ("first", "later"),
    list(itertools.combinations(BREAKS, 2)),
    ids=lambda b: b.check,
)
def test_the_first_check_to_refuse_decides_the_answer(first: Break, later: Break) -> None:
    _assert_refused_as(_refusal(later, first), first)


def test_a_redirected_refusal_drops_a_state_or_mode_that_fails_the_edge_checks() -> None:
    refusal = _refusal(
        Break("", _set("state", "st-\x00"), InvalidRequest, ""),
        Break("", _set("response_mode", "form_post", "form_post"), InvalidRequest, ""),
    )
    assert isinstance(refusal, RedirectableError)
    assert (refusal.request.state, refusal.request.response_mode) == (None, "query")


def test_a_redirected_refusal_keeps_a_sane_state_and_mode() -> None:
    refusal = _refusal(
        Break("", _set("response_mode", "form_post"), InvalidRequest, ""),
        BREAKS[-1],
    )
    assert isinstance(refusal, RedirectableError)
    assert (refusal.request.state, refusal.request.response_mode) == ("st-1", "form_post")
