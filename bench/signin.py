"""Sign the test cardholder in once, as a browser would, and keep the session cookie.

After sign-in and consent, ``GET /authorize`` for the same client and scope is answered with a
302 straight to the redirect URI (OIDC Core 3.1.2.3: the user is authenticated and consent is on
record); that is the request the round-trip scenario repeats with this cookie.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests

from bench.instance import CARDHOLDER
from bench.instance import PORTAL_SCOPE
from bench.instance import REDIRECT_URI
from bench.instance import Client
from bench.instance import Instance
from bench.preflight import verify_access_token


class SignInError(RuntimeError):
    """The browser flow did not go as the contract says; the message says where."""


@dataclass(frozen=True)
class SignedIn:
    cookie: str
    authorize_query: str
    code_verifier: str


class _Form(HTMLParser):
    """The first form's action and its named inputs (hidden csrf_token among them), past the
    长辈版 switch every page carries (``ui-switch-form``, docs/pages.md)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.inputs: dict[str, str] = {}
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if (
            tag == "form"
            and self.action is None
            and "ui-switch-form" not in values.get("class", "")
        ):
            self.action = values.get("action", "")
            self._in_form = True
        elif tag == "input" and self._in_form and values.get("name"):
            self.inputs.setdefault(values["name"], values.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def pkce_pair() -> tuple[str, str]:
    """RFC 7636 4.1 verifier and its S256 challenge (4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _form(response: requests.Response) -> tuple[str, dict[str, str]]:
    parser = _Form()
    parser.feed(response.text)
    if parser.action is None or "csrf_token" not in parser.inputs:
        raise SignInError(f"no form with a csrf_token at {response.url} ({response.status_code})")
    return urljoin(response.url, parser.action or response.url), parser.inputs


def redirect_location(response: requests.Response, step: str) -> str:
    if response.status_code not in (302, 303) or "Location" not in response.headers:
        snippet = response.text[:300]
        raise SignInError(f"{step}: expected a redirect, got {response.status_code}: {snippet}")
    return urljoin(response.url, response.headers["Location"])


def _code(location: str, step: str) -> str:
    if not location.startswith(REDIRECT_URI):
        raise SignInError(f"{step}: redirected to {location}, not to the client")
    params = parse_qs(urlsplit(location).query)
    if "code" not in params:
        raise SignInError(f"{step}: no code in {location}")
    return params["code"][0]


def redeem(instance: Instance, code: str, verifier: str, client: Client | None = None) -> None:
    response = requests.post(
        f"{instance.issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        headers={"Authorization": (client or instance.portal).basic},
        timeout=10,
    )
    if response.status_code != 200 or "access_token" not in response.json():
        raise SignInError(f"token: {response.status_code} {response.text[:300]}")
    verify_access_token(instance.issuer, response.json()["access_token"])


def query_for(client: Client, challenge: str) -> str:
    return urlencode(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": PORTAL_SCOPE,
            "state": "bench",
            "nonce": "bench",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )


def sign_in(
    instance: Instance, credential: str = CARDHOLDER["card_number"], pin: str = CARDHOLDER["pin"]
) -> SignedIn:
    verifier, challenge = pkce_pair()
    query = query_for(instance.portal, challenge)
    authorize = f"{instance.issuer}/authorize?{query}"
    browser = requests.Session()
    step = browser.get(authorize, allow_redirects=False, timeout=10)
    page = browser.get(redirect_location(step, "authorize"), allow_redirects=False, timeout=10)
    action, fields = _form(page)
    fields.update(credential=credential, pin=pin)
    step = browser.post(action, data=fields, allow_redirects=False, timeout=10)
    location = redirect_location(step, "sign-in")
    if not location.startswith(REDIRECT_URI):
        page = browser.get(location, allow_redirects=False, timeout=10)
        action, fields = _form(page)
        fields["decision"] = "approve"
        step = browser.post(action, data=fields, allow_redirects=False, timeout=10)
        location = redirect_location(step, "consent")
    redeem(instance, _code(location, "consent"), verifier)

    # The repeated request: signed in, consent on record, so 302 straight to the client.
    step = browser.get(authorize, allow_redirects=False, timeout=10)
    redeem(
        instance,
        _code(redirect_location(step, "returning authorize"), "returning authorize"),
        verifier,
    )
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    return SignedIn(cookie=cookie, authorize_query=query, code_verifier=verifier)


def second_portal(instance: Instance, signed: SignedIn, client: Client) -> SignedIn:
    """SSO: the browser signed in at the first portal goes to ``client`` (a second portal),
    is not asked to sign in again, consents once; after that ``GET /authorize`` for ``client``
    answers 302 with a code. Returns the browser's cookies after consent."""
    verifier, challenge = pkce_pair()
    query = query_for(client, challenge)
    authorize = f"{instance.issuer}/authorize?{query}"
    browser = requests.Session()
    for pair in signed.cookie.split("; "):
        name, _, value = pair.partition("=")
        browser.cookies.set(name, value)
    location = redirect_location(
        browser.get(authorize, allow_redirects=False, timeout=10), "authorize B"
    )
    if "/signin" in location:
        raise SignInError(f"the second portal asked to sign in again: {location}")
    if not location.startswith(REDIRECT_URI):
        action, fields = _form(browser.get(location, allow_redirects=False, timeout=10))
        fields["decision"] = "approve"
        step = browser.post(action, data=fields, allow_redirects=False, timeout=10)
        location = redirect_location(step, "consent B")
    redeem(instance, _code(location, "consent B"), verifier, client)
    step = browser.get(authorize, allow_redirects=False, timeout=10)
    location = redirect_location(step, "returning authorize B")
    redeem(instance, _code(location, "returning authorize B"), verifier, client)
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    return SignedIn(cookie=cookie, authorize_query=query, code_verifier=verifier)


def refresh_tokens(instance: Instance, signed: SignedIn, count: int) -> list[str]:
    """``count`` refresh tokens of the refresh portal, each from its own grant: the browser
    signed in at the first portal consents once (SSO), then each ``GET /authorize`` answers
    with a code that ``POST /token`` redeems for an access and a refresh token."""
    client = instance.refresh_portal
    consented = second_portal(instance, signed, client)
    browser = requests.Session()
    for pair in consented.cookie.split("; "):
        name, _, value = pair.partition("=")
        browser.cookies.set(name, value)
    authorize = f"{instance.issuer}/authorize?{consented.authorize_query}"
    tokens = []
    for _ in range(count):
        step = browser.get(authorize, allow_redirects=False, timeout=10)
        code = _code(redirect_location(step, "authorize refresh portal"), "refresh portal")
        response = requests.post(
            f"{instance.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": consented.code_verifier,
            },
            headers={"Authorization": client.basic},
            timeout=10,
        )
        token = response.json().get("refresh_token") if response.status_code == 200 else None
        if not token:
            raise SignInError(f"no refresh token: {response.status_code} {response.text[:300]}")
        tokens.append(str(token))
    return tokens
