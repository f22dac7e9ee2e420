"""The live privacy canary (issue 6, items 6, 7, 9, 12, 14) on every server ``essc serve``
starts: the development server, Granian and Gunicorn, over SQLite and, when
``ESSC_DATABASE_URL`` names one, PostgreSQL.

A sign-in with an ID-number ``login_hint``, an e-card issued through the channel API, a token in
``/userinfo``'s query string, a code in ``/demo/callback``'s; then no table, no log line and no
response outside the one that hands it over holds the canary ID number, the PIN, a client
secret, a code or a token. Also each server's answers to a request target or headers too long.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import table
from sqlalchemy import text

from idp.cardholders.gb11643 import check_character
from idp.cardholders.gb11643 import mask_id_number
from idp.http.edge import HSTS
from tests.conftest import PG_URL
from tests.live import empty_pg_database
from tests.live import essc
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import log_tail
from tests.live import serving

_BASE = "11010819880808123"
CANARY_ID = _BASE + check_character(_BASE)
CANARY_PIN = "730592"
CANARY_CARD = "Z00000417"
SPOOFED_ID = "spoofed-canary-request-id"
SERVERS = {
    "dev": (),
    "granian": ("--production", "--workers", "1", "--server", "granian"),
    "gunicorn": ("--production", "--workers", "1", "--server", "gunicorn"),
}
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL.startswith("postgresql") else [])


@dataclass
class Canary:
    """What must not leak, and every response seen, with the secrets it may carry."""

    secrets: dict[str, str] = field(default_factory=dict)
    responses: list[tuple[str, str, frozenset[str]]] = field(default_factory=list)

    def keep(self, name: str, value: str) -> str:
        assert len(value) >= 6, name
        self.secrets[name] = value
        return value

    def saw(self, label: str, response: requests.Response, *may_carry: str) -> Any:
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.responses.append((label, f"{headers}\n\n{response.text}", frozenset(may_carry)))
        return response


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'essc.db'}"
        return
    with empty_pg_database("essc_privacy") as url:
        yield url


def _client(env: dict[str, str], cwd: Path, canary: Canary, name: str, *args: str) -> Any:
    out = json.loads(essc(env, cwd, "clients", "add", "--name", name, *args))
    canary.keep(f"{name} client secret", out["client_secret"])
    return out


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _csrf(page: str) -> str:
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.mark.live
@pytest.mark.parametrize("server", list(SERVERS))
def test_no_canary_in_tables_logs_or_responses(
    server: str, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = hermetic_env(tmp_path, f"http://127.0.0.1:{port}")
    env.update(
        ESSC_DATABASE_URL=database_url,
        ESSC_SECRET_KEY=secrets.token_urlsafe(48),
        ESSC_KEY_PASSPHRASE=secrets.token_urlsafe(24),
        ESSC_PIN_HASH_MEMORY_KIB="1024",
        ESSC_PIN_HASH_TIME_COST="1",
    )
    canary = Canary()
    canary.keep("ID number", CANARY_ID)
    canary.keep("PIN", CANARY_PIN)
    essc(env, tmp_path, "init")
    essc(
        env,
        tmp_path,
        *("cardholders", "add", "--name", "金丝雀", "--id-number", CANARY_ID),
        *("--region-code", "110108", "--card-number", CANARY_CARD, "--pin", CANARY_PIN),
    )
    portal = _client(
        env,
        tmp_path,
        canary,
        "portal",
        *("--kind", "portal", "--grant-type", "authorization_code", "--grant-type"),
        *("refresh_token", "--auth-method", "client_secret_basic"),
        *("--redirect-uri", "http://127.0.0.1:9/cb", "--scope", "openid profile essc.card"),
    )
    bank = _client(
        env,
        tmp_path,
        canary,
        "bank",
        *("--kind", "bank", "--no-fapi2", "--grant-type", "client_credentials"),
        *("--auth-method", "client_secret_basic", "--scope", "essc.ecard essc.payment"),
    )
    if server == "dev":
        essc(env, tmp_path, "demo")
        demo = json.loads((tmp_path / "instance" / "demo-client.json").read_text())
        canary.keep("demo client secret", demo["client_secret"])
        canary.keep("demo PIN", "802413")
    log = tmp_path / "server.log"
    with serving(env, tmp_path, port, log, *SERVERS[server]) as issuer:
        web = Web(issuer, canary)
        _sign_in_with_an_id_number_hint(web, portal)
        _issue_an_ecard(web, bank)
        _demo(web, server)
        _too_long(web, server)
    server_log = log.read_text(encoding="utf-8", errors="replace")
    assert "/userinfo" in server_log and "/interaction/" in server_log, log_tail(log)
    for name, value in [*canary.secrets.items(), ("caller's request id", SPOOFED_ID)]:
        assert not _holds(server_log, value), f"the {name} is in the {server} log:\n{server_log}"
    for label, seen, allowed in canary.responses:
        for name, value in canary.secrets.items():
            assert name in allowed or not _holds(seen, value), f"the {name} is in {label}:\n{seen}"
    dump = _dump_tables(database_url)
    assert mask_id_number(CANARY_ID) in dump  # the dump reads interactions.request
    for name, value in canary.secrets.items():
        assert not _holds(dump, value), f"the {name} is stored in clear"


def _holds(haystack: str, value: str) -> bool:
    """``value`` in ``haystack``; a number only as a whole number (a PIN's six digits may
    occur by chance inside a timestamp), letters case-insensitively (an ID number's X)."""
    if value.isdigit():
        return re.search(rf"(?<![0-9]){value}(?![0-9])", haystack) is not None
    return value.lower() in haystack.lower() if value.isalnum() else value in haystack


class Web:
    """A browser and a server caller in one: every response is kept for the final check."""

    def __init__(self, issuer: str, canary: Canary) -> None:
        self.issuer = issuer
        self.canary = canary
        self.browser = requests.Session()

    def call(
        self, label: str, method: str, path: str, *may_carry: str, **kwargs: Any
    ) -> requests.Response:
        url = path if path.startswith("http") else self.issuer + path
        response = self.browser.request(method, url, allow_redirects=False, timeout=30, **kwargs)
        return self.canary.saw(label, response, *may_carry)


def _sign_in_with_an_id_number_hint(web: Web, portal: dict[str, Any]) -> None:
    canary = web.canary
    verifier, challenge = _pkce()
    params = {
        "response_type": "code",
        "client_id": portal["client_id"],
        "redirect_uri": "http://127.0.0.1:9/cb",
        "scope": "openid profile essc.card",
        "state": "canary-state",
        "nonce": "canary-nonce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "login_hint": CANARY_ID,
    }
    started = web.call(
        "authorize", "GET", "/authorize", params=params, headers={"X-Request-Id": SPOOFED_ID}
    )
    assert started.status_code == 303, started.text[:300]
    assert started.headers["X-Request-Id"] != SPOOFED_ID
    signin_at = started.headers["Location"]
    page = web.call("sign-in page", "GET", signin_at)
    masked = mask_id_number(CANARY_ID)
    assert f'value="{masked}"' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    form = {"csrf_token": _csrf(page.text), "credential": masked, "pin": CANARY_PIN}
    signed_in = web.call("sign-in", "POST", signin_at, data=form)
    assert signed_in.status_code == 303, signed_in.text[:300]
    consent_at = signed_in.headers["Location"]
    consent = web.call("consent page", "GET", consent_at)
    assert consent.headers["Cache-Control"] == "no-store"
    form = {"csrf_token": _csrf(consent.text), "decision": "approve"}
    approved = web.call("consent", "POST", consent_at, "code", data=form)
    code = canary.keep("code", _query(approved.headers["Location"])["code"])
    tokens = web.call(
        "token",
        "POST",
        "/token",
        "access token",
        "refresh token",
        "ID token",
        auth=(portal["client_id"], canary.secrets["portal client secret"]),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1:9/cb",
            "code_verifier": verifier,
        },
    ).json()
    access = canary.keep("access token", tokens["access_token"])
    canary.keep("refresh token", tokens["refresh_token"])
    canary.keep("ID token", tokens["id_token"])
    refused = web.call("userinfo (query token)", "GET", f"/userinfo?access_token={access}")
    assert refused.status_code in (400, 401)
    forged = canary.keep("forged token", "forged." + secrets.token_urlsafe(24))
    web.call("userinfo (forged query token)", "GET", f"/userinfo?access_token={forged}")
    info = web.call("userinfo", "GET", "/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert info.status_code == 200 and info.headers["Cache-Control"] == "no-store"


def _issue_an_ecard(web: Web, bank: dict[str, Any]) -> None:
    canary = web.canary
    basic = (bank["client_id"], canary.secrets["bank client secret"])
    token = web.call(
        "channel token",
        "POST",
        "/token",
        "channel token",
        auth=basic,
        data={"grant_type": "client_credentials", "scope": "essc.ecard"},
    ).json()["access_token"]
    canary.keep("channel token", token)
    body = {
        "name": "金丝雀",
        "id_number": CANARY_ID,
        "region_code": "110108",
        "channel_subject": "CUST-CANARY-1",
        "evidence": {"real_name_level": 3, "face_verified_at": int(time.time())},
        "level": 1,
        "idempotency_key": "canary-0001",
    }
    issued = web.call(
        "e-card", "POST", "/api/v1/ecards", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert issued.status_code in (200, 201), issued.text
    assert issued.headers["Cache-Control"] == "no-store"
    sign_no = issued.json()["sign_no"]
    shown = web.call(
        "e-card query",
        "GET",
        f"/api/v1/ecards/{sign_no}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"


def _demo(web: Web, server: str) -> None:
    """A code in ``/demo/callback``'s query; on the development server, the real demo flow."""
    canary = web.canary
    forged = canary.keep("forged demo code", secrets.token_urlsafe(32))
    web.call("demo callback (forged)", "GET", f"/demo/callback?code={forged}&state=x")
    if server != "dev":
        return
    demo = Web(web.issuer, canary)  # a second browser, the demo portal's visitor
    at = demo.call("demo login", "GET", "/demo/login").headers["Location"]
    at = demo.call("demo authorize", "GET", at).headers["Location"]
    page = demo.call("demo sign-in page", "GET", at)
    form = {"csrf_token": _csrf(page.text), "credential": "A00000001", "pin": "802413"}
    at = demo.call("demo sign-in", "POST", at, data=form).headers["Location"]
    page = demo.call("demo consent page", "GET", at)
    form = {"csrf_token": _csrf(page.text), "decision": "approve"}
    back = demo.call("demo consent", "POST", at, "demo code", data=form).headers["Location"]
    canary.keep("demo code", _query(back)["code"])
    result = demo.call("demo callback", "GET", back, "demo code")
    assert result.status_code == 200 and 'id="userinfo"' in result.text, result.text[:500]
    assert result.headers["Cache-Control"] == "no-store"


def _too_long(web: Web, server: str) -> None:
    """The product's limits answer first, in its JSON; past a server's own limits, the dev
    server and Gunicorn answer the product's JSON too, and Granian (whose HTTP parser, hyper,
    stops URIs at 64 KiB and headers at 100 fields) an empty 414 or 431, never an HTML page."""
    pad = {f"X-Pad-{i}": "p" for i in range(65)}
    many = {f"X-Pad-{i}": "p" for i in range(150)}
    cases = {
        "414 (product)": ("/userinfo?access_token=" + "a" * 9000, {}, 414, True),
        "414 (past the server's limit)": ("/userinfo?x=" + "a" * 70_000, {}, 414, False),
        "431 (fields, product)": ("/userinfo", pad, 431, True),
        "431 (fields, past the server's limit)": ("/userinfo", many, 431, False),
        "431 (field, product)": ("/jwks.json", {"X-Big": "b" * 9000}, 431, True),
    }
    for label, (path, headers, status, product) in cases.items():
        response = web.call(label, "GET", path, headers=headers)
        assert response.status_code == status, (label, response.status_code, response.text[:200])
        if server == "granian" and not product:
            assert response.content == b"" and "Content-Type" not in response.headers, label
            continue
        assert response.headers["Content-Type"] == "application/problem+json", (label, server)
        assert response.json()["status"] == status, label


def _dump_tables(database_url: str) -> str:
    """Every column of every row of every table, as text (binary as Latin-1)."""
    engine = create_engine(database_url)
    parts: list[str] = []
    try:
        with engine.connect() as conn:
            schema = inspect(conn)
            for name in schema.get_table_names():
                columns = [c["name"] for c in schema.get_columns(name)]
                for row in conn.execute(
                    select(*[text(f'"{c}"') for c in columns]).select_from(table(name))
                ):
                    for value in row:
                        if isinstance(value, (bytes, memoryview)):
                            parts.append(bytes(value).decode("latin-1"))
                        else:
                            parts.append(str(value))
    finally:
        engine.dispose()
    return "\n".join(parts)


@pytest.mark.live
@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_hsts_on_every_response_of_a_production_https_server(server: str, tmp_path: Path) -> None:
    """Pages, the back channel, the product's errors and Gunicorn's own refusals all carry
    HSTS; only Granian's parser-level refusals (an empty 414/431, see docs/operations.md)
    cannot."""
    port = free_port()
    # An https issuer on loopback: HSTS is on, and SQLite is allowed for this one-machine trial
    # (a production issuer elsewhere needs PostgreSQL, tests/test_production_start.py).
    env = hermetic_env(tmp_path, "https://127.0.0.1:8443")
    env.update(ESSC_SECRET_KEY=secrets.token_urlsafe(48), ESSC_KEY_PASSPHRASE="p" * 24)
    essc(env, tmp_path, "init")
    with serving(env, tmp_path, port, tmp_path / "server.log", *SERVERS[server]) as base:
        calls = {
            "discovery": ("GET", "/.well-known/openid-configuration", {}),
            "back channel": ("POST", "/token", {"data": {"grant_type": "client_credentials"}}),
            "error page": ("GET", "/authorize", {}),
            "404": ("GET", "/no/such/path", {}),
            "405": ("DELETE", "/userinfo", {}),
            "414 (product)": ("GET", "/userinfo?x=" + "a" * 8100, {}),
            "431 (product)": ("GET", "/jwks.json", {"headers": {"X-Big": "b" * 9000}}),
        }
        if server == "gunicorn":
            calls["414 (Gunicorn's own)"] = ("GET", "/userinfo?x=" + "a" * 20_000, {})
        for label, (method, path, kwargs) in calls.items():
            response = requests.request(method, base + path, timeout=30, **kwargs)
            assert response.headers.get("Strict-Transport-Security") == HSTS, (label, server)
