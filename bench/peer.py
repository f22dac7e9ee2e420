"""The peer: panva's node-oidc-provider (bench/peer/, pinned in package-lock.json, installed by
``npm ci`` in ``make bench``) in 2 processes sharing Redis, with the same clients and scenarios.

Its clients mirror essc-idp's (a ``client_credentials`` service, a code-flow portal with the
same redirect URI, both ``client_secret_basic``), its tokens are ES256 JWTs, PKCE S256 is
required, and the cardholder signs in and consents once, as in ``bench.signin``.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests

from bench.instance import PORTAL_SCOPE
from bench.instance import REDIRECT_URI
from bench.instance import Client
from bench.signin import SignedIn
from bench.signin import pkce_pair

PEER = Path(__file__).resolve().parent / "peer"
SCOPE = "essc.qr.verify"


class PeerError(RuntimeError):
    """The peer cannot run here (node, its packages or Redis missing) or answered wrongly."""


@dataclass(frozen=True)
class Peer:
    port: int
    env: dict[str, str]
    service: Client
    portal: Client
    #: A portal that may also use ``refresh_token``; the peer rotates (``rotateRefreshToken``).
    refresh_portal: Client

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def version() -> str:
    try:
        lock = json.loads((PEER / "package-lock.json").read_text())
        return str(lock["packages"]["node_modules/oidc-provider"]["version"])
    except (OSError, KeyError, ValueError):
        return "unknown"


def node_version() -> str:
    node = shutil.which("node")
    if not node:
        return "not installed"
    done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10)  # noqa: S603
    return done.stdout.strip()


def command() -> list[str]:
    node = shutil.which("node")
    if not node:
        raise PeerError("node is not installed (apt-get install -y nodejs npm)")
    if not (PEER / "node_modules" / "oidc-provider").is_dir():
        raise PeerError("the peer is not installed: cd bench/peer && npm ci (make bench does)")
    return [node, str(PEER / "server.js")]


def prepare(port: int, workers: int, redis_url: str) -> Peer:
    service = Client("bench-service", secrets.token_urlsafe(32))
    portal = Client("bench-portal", secrets.token_urlsafe(32))
    refresh_portal = Client("bench-refresh-portal", secrets.token_urlsafe(32))
    common = {
        "token_endpoint_auth_method": "client_secret_basic",
        "id_token_signed_response_alg": "ES256",
    }
    clients = [
        {
            "client_id": service.client_id,
            "client_secret": service.client_secret,
            "grant_types": ["client_credentials"],
            "response_types": [],
            "redirect_uris": [],
            "scope": SCOPE,
            **common,
        },
        {
            "client_id": portal.client_id,
            "client_secret": portal.client_secret,
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "redirect_uris": [REDIRECT_URI],
            "scope": f"{PORTAL_SCOPE} {SCOPE}",
            **common,
        },
        {
            "client_id": refresh_portal.client_id,
            "client_secret": refresh_portal.client_secret,
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": [REDIRECT_URI],
            "scope": f"{PORTAL_SCOPE} {SCOPE}",
            **common,
        },
    ]
    env = {
        "PEER_PORT": str(port),
        "PEER_WORKERS": str(workers),
        "PEER_CLIENTS": json.dumps(clients),
        "PEER_REDIS_URL": redis_url,
        # This run's keys only: the peer deletes exactly these when it stops.
        "PEER_REDIS_PREFIX": f"essc-bench-peer-{secrets.token_hex(4)}:",
    }
    return Peer(port, env, service, portal, refresh_portal)


def _basic(client: Client) -> tuple[str, str]:
    return client.client_id, client.client_secret


def check_client_credentials(peer: Peer) -> None:
    response = requests.post(
        f"{peer.issuer}/token",
        data={"grant_type": "client_credentials", "scope": SCOPE},
        auth=_basic(peer.service),
        timeout=10,
    )
    token = response.json().get("access_token", "") if response.ok else ""
    if token.count(".") != 2:
        raise PeerError(f"peer client_credentials: {response.status_code} {response.text[:300]}")


def sign_in(peer: Peer, client: Client | None = None) -> SignedIn:
    """Follow the peer's redirects (its interaction signs in and consents at once) to a code,
    redeem it, and check that a second ``/authorize`` answers with a code straight away."""
    client = client or peer.portal
    verifier, challenge = pkce_pair()
    query = urlencode(
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
    browser = requests.Session()
    url = f"{peer.issuer}/authorize?{query}"
    for _ in range(8):
        step = browser.get(url, allow_redirects=False, timeout=10)
        if step.status_code not in (302, 303):
            raise PeerError(f"peer sign-in at {url}: {step.status_code} {step.text[:300]}")
        url = urljoin(url, step.headers["Location"])
        if url.startswith(REDIRECT_URI):
            break
    _redeem(peer, browser, url, verifier, client)
    again = browser.get(f"{peer.issuer}/authorize?{query}", allow_redirects=False, timeout=10)
    location = again.headers.get("Location", "")
    if not location.startswith(REDIRECT_URI):
        raise PeerError(f"peer returning authorize: {again.status_code} {location[:200]}")
    _redeem(peer, browser, location, verifier, client)
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies if c.path == "/")
    return SignedIn(cookie=cookie, authorize_query=query, code_verifier=verifier)


def refresh_tokens(peer: Peer, count: int) -> list[str]:
    """``count`` refresh tokens of the peer's refresh portal, each from its own code."""
    signed = sign_in(peer, peer.refresh_portal)
    browser = requests.Session()
    for pair in signed.cookie.split("; "):
        name, _, value = pair.partition("=")
        browser.cookies.set(name, value)
    tokens = []
    for _ in range(count):
        step = browser.get(
            f"{peer.issuer}/authorize?{signed.authorize_query}", allow_redirects=False, timeout=10
        )
        location = step.headers.get("Location", "")
        body = _redeem(peer, browser, location, signed.code_verifier, peer.refresh_portal)
        if "refresh_token" not in body:
            raise PeerError(f"peer issued no refresh token: {sorted(body)}")
        tokens.append(str(body["refresh_token"]))
    return tokens


def _redeem(
    peer: Peer,
    browser: requests.Session,
    location: str,
    verifier: str,
    client: Client | None = None,
) -> dict[str, Any]:
    code = parse_qs(urlsplit(location).query).get("code", [""])[0]
    response = browser.post(
        f"{peer.issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=_basic(client or peer.portal),
        timeout=10,
    )
    if response.status_code != 200 or "access_token" not in response.json():
        raise PeerError(f"peer token: {response.status_code} {response.text[:300]}")
    return dict(response.json())
