"""Validating an authorization request (RFC 6749 4.1.1, OIDC Core 3.1.2.1).

Order matters: until ``client_id`` and ``redirect_uri`` are known good, an error is shown to the
user (``UntrustedRedirect``); only afterwards may it be sent to the client (RFC 6749 4.1.2.1).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import asdict
from dataclasses import dataclass
from typing import Any

from channels.client import Client
from idp.errors import InvalidRequest
from idp.errors import InvalidScope
from idp.errors import OAuthError
from idp.errors import RequestNotSupported
from idp.errors import RequestUriNotSupported
from idp.errors import UnauthorizedClient
from idp.errors import UnsupportedResponseType
from idp.oauth import rfc7636
from idp.oauth.params import scope_list
from idp.oauth.params import single_values

RESPONSE_MODES = ("query", "form_post")
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
UI_LOCALES = ("zh-CN", "en")
_DIGITS = re.compile(r"\d{1,9}")
#: Every parameter this endpoint reads or explicitly refuses.
PARAMETERS = frozenset(
    {
        "client_id",
        "redirect_uri",
        "response_type",
        "response_mode",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "max_age",
        "login_hint",
        "ui_locales",
        "request",
        "request_uri",
    }
)


class UntrustedRedirect(Exception):
    """The client or redirect URI cannot be trusted: show the error, never redirect."""

    def __init__(self, error: OAuthError) -> None:
        super().__init__(error.description)
        self.error = error


class RedirectableError(Exception):
    """An error to return to the client at its (verified) redirect URI."""

    def __init__(self, error: OAuthError, request: AuthorizationRequest) -> None:
        super().__init__(error.description)
        self.error = error
        self.request = request


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    response_mode: str
    state: str | None
    scopes: tuple[str, ...] = ()
    nonce: str | None = None
    code_challenge: str = ""
    prompt: tuple[str, ...] = ()
    max_age: int | None = None
    login_hint: str | None = None
    ui_locale: str = "zh-CN"
    #: Set only on a stored interaction whose hint was an ID number: then ``login_hint`` holds
    #: the masked number and this the blind index, never the number
    #: (idp.interaction.signin.stored_hint).
    login_hint_index: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AuthorizationRequest:
        values = dict(data)
        values["scopes"] = tuple(values.get("scopes", ()))
        values["prompt"] = tuple(values.get("prompt", ()))
        return cls(**values)


def parse_authorization_request(
    items: list[tuple[str, str]], find_client: Callable[[str], Client | None]
) -> AuthorizationRequest:
    # RFC 6749 3.1: unrecognized parameters are ignored, so their values are not checked either
    # (an OIDC ``claims`` JSON holds quotes; a portal may append analytics tags in Chinese).
    items = [(name, value) for name, value in items if name in PARAMETERS]
    edge_error: OAuthError | None = None
    try:
        params = single_values(items)
    except OAuthError as exc:
        edge_error, params = exc, _routing_values(items)
    client = _trusted_client(params, find_client)
    redirect_uri = params.get("redirect_uri")
    if redirect_uri is None or not client.allows_redirect(redirect_uri):
        raise UntrustedRedirect(InvalidRequest("redirect_uri is missing or not registered"))
    mode = params.get("response_mode", "query")
    base = AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        response_mode=mode if mode in RESPONSE_MODES else "query",
        state=params.get("state"),
    )
    if edge_error is not None:
        raise RedirectableError(edge_error, base)
    try:
        return _validated(params, client, base)
    except OAuthError as exc:
        raise RedirectableError(exc, base) from None


def _routing_values(items: list[tuple[str, str]]) -> dict[str, str]:
    """After a parameter failed the edge checks: what is needed to answer at the redirect URI.

    RFC 6749 4.1.2.1: only a bad ``client_id`` or ``redirect_uri`` keeps the error on this
    server; any other bad parameter goes back to the client. A bad ``state`` or
    ``response_mode`` is dropped rather than echoed.
    """
    found: dict[str, str] = {}
    for name in ("client_id", "redirect_uri", "response_mode", "state"):
        try:
            found.update(single_values([item for item in items if item[0] == name]))
        except OAuthError as exc:
            if name in ("client_id", "redirect_uri"):
                raise UntrustedRedirect(exc) from None
    return found


def _trusted_client(params: Mapping[str, str], find: Callable[[str], Client | None]) -> Client:
    client_id = params.get("client_id")
    client = find(client_id) if client_id else None
    if client is None or not client.active:
        raise UntrustedRedirect(InvalidRequest("client_id is missing or unknown"))
    return client


def _validated(
    params: Mapping[str, str], client: Client, base: AuthorizationRequest
) -> AuthorizationRequest:
    if params.get("response_mode", "query") not in RESPONSE_MODES:
        raise InvalidRequest("response_mode must be query or form_post")
    if "request" in params:
        raise RequestNotSupported("request objects are not supported")
    if "request_uri" in params:
        raise RequestUriNotSupported("request_uri is not supported")
    if "response_type" not in params:
        raise InvalidRequest("missing response_type")
    if params["response_type"] != "code":
        raise UnsupportedResponseType("only response_type=code is supported")
    if not client.allows_grant("authorization_code"):
        raise UnauthorizedClient("the client may not use the authorization code flow")
    scopes = scope_list(params.get("scope"))
    if "openid" not in scopes:
        raise InvalidScope("scope must include openid")
    if not set(scopes) <= client.scopes:
        raise InvalidScope("scope is not allowed for this client")
    challenge = rfc7636.check_challenge(
        params.get("code_challenge"), params.get("code_challenge_method")
    )
    return AuthorizationRequest(
        client_id=base.client_id,
        redirect_uri=base.redirect_uri,
        response_mode=base.response_mode,
        state=base.state,
        scopes=scopes,
        nonce=params.get("nonce"),
        code_challenge=challenge,
        prompt=_prompt(params.get("prompt")),
        max_age=_max_age(params.get("max_age")),
        login_hint=params.get("login_hint"),
        ui_locale=_ui_locale(params.get("ui_locales")),
    )


def _prompt(value: str | None) -> tuple[str, ...]:
    """OIDC Core 3.1.2.1: ``none`` must stand alone."""
    prompts = tuple(dict.fromkeys((value or "").split()))
    if not set(prompts) <= PROMPTS:
        raise InvalidRequest("prompt has an unsupported value")
    if "none" in prompts and len(prompts) > 1:
        raise InvalidRequest("prompt=none must not be combined")
    return prompts


def _max_age(value: str | None) -> int | None:
    if value is None:
        return None
    if not _DIGITS.fullmatch(value):
        raise InvalidRequest("max_age must be a non-negative integer")
    return int(value)


def _ui_locale(value: str | None) -> str:
    """The first supported tag of ``ui_locales`` (OIDC Core 3.1.2.1); Chinese by default."""
    for tag in (value or "").split():
        if tag.lower().startswith("en"):
            return "en"
        if tag.lower().startswith("zh"):
            return "zh-CN"
    return "zh-CN"
