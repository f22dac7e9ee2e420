"""Validating an authorization request (RFC 6749 4.1.1, OIDC Core 3.1.2.1) as an ordered list
of small checks, each with one job (node-oidc-provider's ``lib/actions/authorization/check_*``).

``CHECKS`` declares the order and ``parse_authorization_request`` runs it. A check reads the
parameters and what earlier checks established, then either records what it found or raises one
``OAuthError``. Where that error goes depends only on how far the list got: until
``check_redirect_uri`` has trusted the redirect URI it is shown to the user
(``UntrustedRedirect``); from then on it goes back to the client (``RedirectableError``,
RFC 6749 4.1.2.1). Moving a check before ``check_redirect_uri`` therefore cannot make it
redirect to an unverified URI.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import replace
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
from idp.oidc.claims_request import acr_values
from idp.oidc.claims_request import essential_acr

RESPONSE_MODES = ("query", "form_post")
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
_DIGITS = re.compile(r"\d{1,9}")
_JKT = re.compile(r"[A-Za-z0-9_-]{43}")
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
        "login_hint_token",
        "ui_locales",
        "acr_values",
        "claims",
        "request",
        "request_uri",
        "dpop_jkt",
    }
)
#: The parameters that decide whether an error may be redirected at all (RFC 6749 4.1.2.1).
_ROUTING = ("client_id", "redirect_uri")


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
    #: The ``acr`` values asked for, in the client's order (OIDC Core 3.1.2.1 ``acr_values``,
    #: or 5.5.1.1 an essential ``acr`` claim, which then makes ``acr_essential`` true).
    acr_values: tuple[str, ...] = ()
    acr_essential: bool = False
    #: Set only on a stored interaction whose hint was an ID number: then ``login_hint`` holds
    #: the masked number and this the blind index, never the number
    #: (idp.interaction.signin.stored_hint).
    login_hint_index: str | None = None
    #: RFC 9449 10: the DPoP key thumbprint the code will be bound to.
    dpop_jkt: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AuthorizationRequest:
        values = dict(data)
        values["scopes"] = tuple(values.get("scopes", ()))
        values["prompt"] = tuple(values.get("prompt", ()))
        values["acr_values"] = tuple(values.get("acr_values", ()))
        return cls(**values)


class Checking:
    """One authorization request while the checks run: its parameters and what the checks
    have established so far (node-oidc-provider's ``ctx.oidc``)."""

    def __init__(
        self, items: Iterable[tuple[str, str]], find_client: Callable[[str], Client | None]
    ) -> None:
        # RFC 6749 3.1: unrecognized parameters are ignored, so their values are not checked
        # either (an OIDC ``claims`` JSON holds quotes; a portal may append analytics tags).
        self.items = tuple((name, value) for name, value in items if name in PARAMETERS)
        self.find_client = find_client
        #: Single values: the routing parameters first, every parameter once they pass.
        self.params: dict[str, str] = {}
        self.found_client: Client | None = None
        #: Set by ``check_redirect_uri`` only: from then on an error goes back to the client.
        self.redirect_uri: str | None = None
        self.scopes: tuple[str, ...] = ()
        self.code_challenge = ""
        self.prompt: tuple[str, ...] = ()
        self.max_age: int | None = None
        self.acr_values: tuple[str, ...] = ()
        self.acr_essential = False
        self.dpop_jkt: str | None = None
        #: Whether the parameters came from a pushed request (RFC 9126 4).
        self.pushed = False

    @property
    def client(self) -> Client:
        if self.found_client is None:
            raise LookupError("check_client has not run")
        return self.found_client

    def refusal(self, error: OAuthError) -> UntrustedRedirect | RedirectableError:
        if self.redirect_uri is None:
            return UntrustedRedirect(error)
        return RedirectableError(error, self.reply_to(self.redirect_uri))

    def reply_to(self, redirect_uri: str) -> AuthorizationRequest:
        """Where and how an answer goes. A ``state`` or ``response_mode`` that fails the edge
        checks is dropped rather than echoed; an unknown mode falls back to ``query``."""
        mode = self.single("response_mode") or "query"
        return AuthorizationRequest(
            client_id=self.client.client_id,
            redirect_uri=redirect_uri,
            response_mode=mode if mode in RESPONSE_MODES else "query",
            state=self.single("state"),
        )

    def single(self, name: str) -> str | None:
        """The value of ``name`` if it alone passes the edge checks, whatever the others do."""
        try:
            return single_values(item for item in self.items if item[0] == name).get(name)
        except OAuthError:
            return None

    def request(self) -> AuthorizationRequest:
        """The validated request, once every check has passed."""
        assert self.redirect_uri is not None
        return replace(
            self.reply_to(self.redirect_uri),
            scopes=self.scopes,
            nonce=self.params.get("nonce"),
            code_challenge=self.code_challenge,
            prompt=self.prompt,
            max_age=self.max_age,
            acr_values=self.acr_values,
            acr_essential=self.acr_essential,
            login_hint=self.params.get("login_hint"),
            ui_locale=first_ui_locale(self.params.get("ui_locales")),
            dpop_jkt=self.dpop_jkt,
        )


Check = Callable[[Checking], None]


def check_routing_values(c: Checking) -> None:
    """``client_id`` and ``redirect_uri`` once each, within the edge limits (params.py).
    They are checked on their own so that a bad value elsewhere can still be redirected."""
    for name in _ROUTING:
        c.params.update(single_values(item for item in c.items if item[0] == name))


def check_client(c: Checking) -> None:
    """A registered, active client."""
    client_id = c.params.get("client_id")
    client = c.find_client(client_id) if client_id else None
    if client is None or not client.active:
        raise InvalidRequest("client_id is missing or unknown")
    c.found_client = client


def check_redirect_uri(c: Checking) -> None:
    """Exactly one of the client's registered redirect URIs: from here on, errors go there."""
    redirect_uri = c.params.get("redirect_uri")
    if redirect_uri is None or not c.client.allows_redirect(redirect_uri):
        raise InvalidRequest("redirect_uri is missing or not registered")
    c.redirect_uri = redirect_uri


def check_pushed_if_required(c: Checking) -> None:
    """RFC 9126 6: a client registered with ``require_pushed_authorization_requests`` comes
    only with a ``request_uri`` from ``/par``."""
    if c.client.require_pushed_authorization_requests and not c.pushed:
        raise InvalidRequest("this client must push its authorization requests (RFC 9126)")


def check_parameter_values(c: Checking) -> None:
    """Every other parameter once, within the edge limits (params.py)."""
    c.params = single_values(c.items)


def check_response_mode(c: Checking) -> None:
    if c.params.get("response_mode", "query") not in RESPONSE_MODES:
        raise InvalidRequest("response_mode must be query or form_post")


def check_no_request_object(c: Checking) -> None:
    """OIDC Core 6: request objects are not supported, and saying so beats ignoring one."""
    if "request" in c.params:
        raise RequestNotSupported("request objects are not supported")


def check_no_request_uri(c: Checking) -> None:
    if "request_uri" in c.params:
        raise RequestUriNotSupported("request_uri is not supported")


def check_response_type(c: Checking) -> None:
    """The authorization code flow only (no implicit, no hybrid)."""
    if "response_type" not in c.params:
        raise InvalidRequest("missing response_type")
    if c.params["response_type"] != "code":
        raise UnsupportedResponseType("only response_type=code is supported")


def check_client_grant(c: Checking) -> None:
    """The client is registered for the authorization code grant."""
    if not c.client.allows_grant("authorization_code"):
        raise UnauthorizedClient("the client may not use the authorization code flow")


def check_scope(c: Checking) -> None:
    """An OpenID request (``openid``), within the scopes the client is registered for."""
    scopes = scope_list(c.params.get("scope"))
    if "openid" not in scopes:
        raise InvalidScope("scope must include openid")
    if not set(scopes) <= c.client.scopes:
        raise InvalidScope("scope is not allowed for this client")
    c.scopes = scopes


def check_pkce(c: Checking) -> None:
    """RFC 7636, S256 required for every client."""
    c.code_challenge = rfc7636.check_challenge(
        c.params.get("code_challenge"), c.params.get("code_challenge_method")
    )


def check_dpop_jkt(c: Checking) -> None:
    """RFC 9449 10: ``dpop_jkt`` is an RFC 7638 SHA-256 thumbprint, 43 base64url characters."""
    jkt = c.params.get("dpop_jkt")
    if jkt is not None and not _JKT.fullmatch(jkt):
        raise InvalidRequest("dpop_jkt must be a JWK SHA-256 thumbprint")
    c.dpop_jkt = jkt


def check_prompt(c: Checking) -> None:
    """Known values only; OIDC Core 3.1.2.1: ``none`` must stand alone."""
    prompts = tuple(dict.fromkeys(c.params.get("prompt", "").split()))
    if not set(prompts) <= PROMPTS:
        raise InvalidRequest("prompt has an unsupported value")
    if "none" in prompts and len(prompts) > 1:
        raise InvalidRequest("prompt=none must not be combined")
    c.prompt = prompts


def check_max_age(c: Checking) -> None:
    """A non-negative number of seconds, at most nine digits."""
    value = c.params.get("max_age")
    if value is None:
        return
    if not _DIGITS.fullmatch(value):
        raise InvalidRequest("max_age must be a non-negative integer")
    c.max_age = int(value)


def check_acr(c: Checking) -> None:
    """``acr_values`` (OIDC Core 3.1.2.1, voluntary) and an essential ``acr`` in ``claims``
    (5.5.1.1), which takes precedence. Values essc-idp does not know are kept here and
    passed over where the session is matched (idp.interaction.step_up)."""
    essential = essential_acr(c.params.get("claims"))
    if essential.essential:
        c.acr_values, c.acr_essential = essential.values, True
    else:
        c.acr_values = acr_values(c.params.get("acr_values"))


#: The order the checks run in; the first to refuse decides the answer.
CHECKS: tuple[Check, ...] = (
    check_routing_values,
    check_client,
    check_redirect_uri,
    check_pushed_if_required,
    check_parameter_values,
    check_response_mode,
    check_no_request_object,
    check_no_request_uri,
    check_response_type,
    check_client_grant,
    check_scope,
    check_pkce,
    check_dpop_jkt,
    check_prompt,
    check_max_age,
    check_acr,
)


def parse_authorization_request(
    items: Iterable[tuple[str, str]],
    find_client: Callable[[str], Client | None],
    *,
    pushed: bool = False,
) -> AuthorizationRequest:
    """Run the checks in order; raises ``UntrustedRedirect`` or ``RedirectableError``.
    ``pushed``: the parameters are a pushed request's (``idp.oauth.rfc9126_par``)."""
    c = Checking(items, find_client)
    c.pushed = pushed
    for check in CHECKS:
        try:
            check(c)
        except OAuthError as exc:
            raise c.refusal(exc) from None
    return c.request()


def first_ui_locale(value: str | None) -> str:
    """The first supported tag of ``ui_locales`` (OIDC Core 3.1.2.1); Chinese by default."""
    for tag in (value or "").split():
        if tag.lower().startswith("en"):
            return "en"
        if tag.lower().startswith("zh"):
            return "zh-CN"
    return "zh-CN"
