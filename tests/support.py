"""Test helpers: a controllable clock, registration shortcuts and a browser-like sign-in."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from channels.registration import validate_metadata
from idp.channel_admin.clients import add_client
from idp.provider import Provider

START = 1_800_000_000
CARD = {
    "name": "张三",
    "id_number": "11010519491231002X",
    "region_code": "110105",
    "card_number": "A00000001",
    "pin": "802413",
}


class FakeClock:
    """Time is injected, never slept: ``clock.advance(61)``."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def add_cardholder(provider: Provider, **overrides: str) -> dict[str, str]:
    data = {**CARD, **overrides}
    with provider.unit_of_work() as uow:
        data["person_id"] = provider.cardholders.enrol(uow, **data).id
    return data


def register(
    provider: Provider,
    *,
    kind: str = "portal",
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token"),
    auth_method: str = "client_secret_basic",
    redirect_uris: tuple[str, ...] = ("https://rp.example/cb",),
    scope: str = "openid profile essc.card",
    **extra: Any,
) -> Any:
    from tests.conftest import Registered

    # Tests of other things register the plain way; FAPI 2.0 tests pass fapi2=True (or None,
    # the kind's default).
    extra.setdefault("fapi2", False)
    metadata = validate_metadata(
        name=f"test {kind}",
        kind=kind,
        grant_types=list(grant_types),
        auth_method=auth_method,
        redirect_uris=list(redirect_uris),
        scopes=[scope],
        **extra,
    )
    with provider.unit_of_work() as uow:
        row, secret = add_client(uow.session, metadata, provider.secret_hash, now=provider.now())
    return Registered(row.client_id, secret, redirect_uris[0] if redirect_uris else "")


def basic(client_id: str, secret: str | None) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    return verifier, challenge


def authorize_params(client: Any, challenge: str, **extra: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": "openid profile essc.card",
        "state": "st-123",
        "nonce": "n-456",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return params


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no csrf_token in page"
    return found.group(1)


def sign_in(
    web: Any, location: str, credential: str = CARD["card_number"], pin: str = CARD["pin"]
) -> Any:
    page = web.get(location)
    return web.post(
        location,
        data={
            "csrf_token": csrf_of(page.get_data(as_text=True)),
            "credential": credential,
            "pin": pin,
        },
    )


def approve(web: Any, location: str, decision: str = "approve") -> Any:
    page = web.get(location)
    return web.post(
        location, data={"csrf_token": csrf_of(page.get_data(as_text=True)), "decision": decision}
    )


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def obtain_code(web: Any, client: Any, **extra: str) -> tuple[str, str]:
    """Run the browser part of the code flow; returns (code, verifier)."""
    verifier, challenge = pkce_pair()
    response = web.get("/authorize", query_string=authorize_params(client, challenge, **extra))
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    location = response.headers["Location"]
    if "/interaction/" in location and location.endswith("/signin"):
        response = sign_in(web, location)
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        location = response.headers["Location"]
    if "/interaction/" in location and location.endswith("/consent"):
        response = approve(web, location)
        assert response.status_code == 303
        location = response.headers["Location"]
    query = query_of(location)
    assert "code" in query, location
    return query["code"], verifier


def exchange(web: Any, client: Any, code: str, verifier: str, **extra: str) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uri,
        "code_verifier": verifier,
        **extra,
    }
    return web.post("/token", data=data, headers=basic(client.client_id, client.client_secret))
