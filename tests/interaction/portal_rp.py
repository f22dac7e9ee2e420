"""Two tiny government portals for the browser tests: one loopback HTTP server playing the
relying parties' back ends, written from the specifications (authorization code flow with
PKCE, OIDC Core 3.1; RP-Initiated and Back-Channel Logout 1.0), knowing nothing of idp's code.

The browser follows the real redirects: ``Portal.authorize_url`` starts a request, essc-idp
sends the browser back to ``/<name>/callback``, where the server redeems the code at
``/token`` (client_secret_basic, the PKCE verifier) and verifies the ID token with PyJWT
against ``/jwks.json``. ``/<name>/bye`` is the post-logout page; ``/<name>/bcl`` receives
logout tokens.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit

import jwt
import requests


@dataclass
class Portal:
    name: str
    base: str
    issuer: str
    client_id: str = ""
    client_secret: str = ""
    #: state -> PKCE verifier of requests still waiting for their callback.
    pending: dict[str, str] = field(default_factory=dict)
    #: state -> what the callback got: the verified ID token claims, or {"error": ...}.
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    logout_bodies: list[bytes] = field(default_factory=list)

    @property
    def redirect_uri(self) -> str:
        return f"{self.base}/{self.name}/callback"

    @property
    def bye_uri(self) -> str:
        return f"{self.base}/{self.name}/bye"

    @property
    def bcl_uri(self) -> str:
        return f"{self.base}/{self.name}/bcl"

    def authorize_url(self, state: str, **extra: str) -> str:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        self.pending[state] = verifier
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid profile essc.card",
            "state": state,
            "nonce": f"n-{state}",
            "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            **extra,
        }
        return f"{self.issuer}/authorize?{urlencode(query)}"

    def callback(self, query: dict[str, str]) -> dict[str, Any]:
        state = query.get("state", "")
        verifier = self.pending.pop(state)
        if "error" in query:
            result: dict[str, Any] = {"error": query["error"]}
        else:
            result = self._redeem(query["code"], verifier, state)
        self.results[state] = result
        return result

    def _redeem(self, code: str, verifier: str, state: str) -> dict[str, Any]:
        answer = requests.post(
            f"{self.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": verifier,
            },
            auth=(self.client_id, self.client_secret),
            timeout=10,
        )
        answer.raise_for_status()
        tokens = answer.json()
        keys = requests.get(f"{self.issuer}/jwks.json", timeout=10).json()
        kid = jwt.get_unverified_header(tokens["id_token"])["kid"]
        key = jwt.PyJWK(next(k for k in keys["keys"] if k["kid"] == kid), algorithm="ES256")
        claims: dict[str, Any] = jwt.decode(
            tokens["id_token"], key, algorithms=["ES256"], audience=self.client_id,
            issuer=self.issuer,
        )  # fmt: skip
        assert claims["nonce"] == f"n-{state}"
        return {**claims, "raw_id_token": tokens["id_token"]}


def _page(title: str, body: str) -> bytes:
    return (
        f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{title}</title>'
        f"<h1>{title}</h1><pre id=result>{html.escape(body)}</pre></html>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    portals: dict[str, Portal]

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        name, _, what = url.path.strip("/").partition("/")
        portal = self.portals.get(name)
        if portal is None:
            return self._answer(404, _page("not found", url.path))
        if what == "callback":
            result = portal.callback(dict(parse_qsl(url.query)))
            shown = result.get("error") or f"signed in, sid {result['sid']}"
            return self._answer(200, _page(f"{name}: callback", shown))
        if what == "bye":
            return self._answer(200, _page(f"{name}: signed out", url.query))
        return self._answer(404, _page("not found", url.path))

    def do_POST(self) -> None:
        name, _, what = urlsplit(self.path).path.strip("/").partition("/")
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        portal = self.portals.get(name)
        if portal is None or what != "bcl":
            return self._answer(404, b"")
        portal.logout_bodies.append(body)
        return self._answer(200, b"")


@contextmanager
def portals(issuer: str, *names: str) -> Iterator[dict[str, Portal]]:
    """A server on a free loopback port for the named portals (client ids are set later)."""
    known: dict[str, Portal] = {}

    class Handler(_Handler):
        portals = known

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    known.update({n: Portal(n, base, issuer) for n in names})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield known
    finally:
        server.shutdown()
        server.server_close()
