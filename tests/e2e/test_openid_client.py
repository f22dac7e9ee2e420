"""A certified relying party against the real server: panva's ``openid-client`` and ``jose``.

Starts ``essc serve`` on loopback over a fresh SQLite database, registers a portal client and a
client-credentials client with the CLI, adds the contract's test cardholder, then runs
``tests/js/rp_flow.mjs``: discovery (OIDC Discovery 1.0, RFC 8414), authorization code with PKCE
S256, state and nonce (RFC 6749 4.1, RFC 7636, OIDC Core 3.1) including the RFC 9207 ``iss``
response parameter, ID token validation, userinfo, refresh token rotation (RFC 9700 4.14),
introspection (RFC 7662), revocation (RFC 7009), the client credentials grant (RFC 6749 4.4), and
RFC 9068 validation of every access token against the published JWKS.

Kept on SQLite on purpose: the flow tests elsewhere cover PostgreSQL and Redis.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.live import essc
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import log_tail
from tests.live import serving

pytestmark = [pytest.mark.node, pytest.mark.live]

JS_DIR = Path(__file__).resolve().parents[1] / "js"
NODE = shutil.which("node")

# The contract's valid test cardholder (PIN: no runs, no repeats, not inside the ID number).
CARDHOLDER = {
    "name": "张三",
    "id_number": "11010519491231002X",
    "region_code": "110105",
    "card_number": "A00000001",
    "pin": "802413",
}
PORTAL_SCOPE = "openid profile essc.card"
CC_SCOPE = "essc.qr.verify"  # a merchant verifier: a service scope, no identity scope
RP_TIMEOUT = 180.0


def _skip_reason() -> str | None:
    if NODE is None:
        return "node is not installed (the Node.js relying party needs Node 20+)"
    if not (JS_DIR / "node_modules" / "openid-client").is_dir():
        return "tests/js/node_modules is missing: run `make node-deps` (cd tests/js && npm ci)"
    return None


def _essc_json(env: dict[str, str], cwd: Path, *args: str) -> dict[str, Any]:
    out = essc(env, cwd, *args)
    try:
        value = json.loads(out)
    except json.JSONDecodeError:
        pytest.fail(f"`essc {' '.join(args[:2])}` did not print one JSON object:\n{out}")
    assert isinstance(value, dict), out
    return value


@dataclass(frozen=True)
class LiveServer:
    issuer: str
    env: dict[str, str]
    tmp: Path
    log: Path


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("essc-openid-client")
    port = free_port()
    env = hermetic_env(tmp, f"http://127.0.0.1:{port}")
    essc(env, tmp, "init")
    log = tmp / "server.log"
    with serving(env, tmp, port, log) as issuer:
        yield LiveServer(issuer=issuer, env=env, tmp=tmp, log=log)


@pytest.fixture(scope="module")
def rp_env(live_server: LiveServer) -> dict[str, str]:
    """Register both clients and the cardholder; the environment rp_flow.mjs expects."""
    server = live_server
    redirect_uri = f"http://127.0.0.1:{free_port()}/cb"
    portal = _essc_json(
        server.env, server.tmp,
        "clients", "add",
        "--name", "openid-client RP",
        "--kind", "portal",
        "--grant-type", "authorization_code",
        "--grant-type", "refresh_token",
        "--auth-method", "client_secret_basic",
        "--redirect-uri", redirect_uri,
        "--scope", PORTAL_SCOPE,
    )  # fmt: skip
    service = _essc_json(
        server.env, server.tmp,
        "clients", "add",
        "--name", "openid-client service",
        "--kind", "merchant",
        "--no-fapi2",  # this test is about client_secret_post; test_openid_client_fapi is FAPI
        "--grant-type", "client_credentials",
        "--auth-method", "client_secret_post",
        "--scope", CC_SCOPE,
    )  # fmt: skip
    holder = _essc_json(
        server.env, server.tmp,
        "cardholders", "add",
        "--name", CARDHOLDER["name"],
        "--id-number", CARDHOLDER["id_number"],
        "--region-code", CARDHOLDER["region_code"],
        "--card-number", CARDHOLDER["card_number"],
        "--pin", CARDHOLDER["pin"],
    )  # fmt: skip
    assert CARDHOLDER["id_number"] not in json.dumps(holder), "CLI printed the full ID number"
    for created in (portal, service):
        assert created.get("client_id") and created.get("client_secret"), created
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("ESSC_")},
        "ISSUER": server.issuer,
        "CLIENT_ID": portal["client_id"],
        "CLIENT_SECRET": portal["client_secret"],
        "REDIRECT_URI": redirect_uri,
        "SCOPE": PORTAL_SCOPE,
        "CREDENTIAL": CARDHOLDER["card_number"],
        "PIN": CARDHOLDER["pin"],
        "CC_CLIENT_ID": service["client_id"],
        "CC_CLIENT_SECRET": service["client_secret"],
        "CC_AUTH_METHOD": "client_secret_post",
        "CC_SCOPE": CC_SCOPE,
    }


def test_openid_client_relying_party(live_server: LiveServer, rp_env: dict[str, str]) -> None:
    assert NODE is not None
    result = subprocess.run(
        [NODE, "rp_flow.mjs"],
        cwd=JS_DIR,
        env=rp_env,
        capture_output=True,
        text=True,
        timeout=RP_TIMEOUT,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        pytest.fail(
            f"rp_flow.mjs exited {result.returncode}\nstderr:\n{result.stderr}\n"
            f"stdout:\n{result.stdout}\nserver log (tail):\n{log_tail(live_server.log)}"
        )
    summary = json.loads(lines[-1])

    assert summary["ok"] is True
    assert summary["authorization"]["pages"] == ["signin", "consent"]
    assert summary["authorization"]["iss_in_response"] is True

    id_token = summary["id_token"]
    assert id_token["nonce_checked"] is True
    assert id_token["signature_verified"] is True
    assert id_token["alg"] == "ES256"  # the server's default signing algorithm
    assert {"iss", "sub", "aud", "exp", "iat", "nonce"} <= set(id_token["claims"])

    assert summary["userinfo"]["sub"] == id_token["sub"]
    assert summary["userinfo"].get("name") == CARDHOLDER["name"]  # profile scope
    assert CARDHOLDER["id_number"] not in json.dumps(summary["userinfo"])  # no essc.idnumber

    assert summary["refresh"]["rotated"] is True
    assert summary["refresh"]["old_refresh_token_rejected"] is True
    assert summary["introspection"]["access_token_before"]["active"] is True
    assert summary["introspection"]["refresh_token_active_before"] is True
    assert summary["introspection"]["access_token_active_after_revocation"] is False
    assert summary["introspection"]["refresh_token_active_after_revocation"] is False
    assert summary["revoked_access_token_rejected_by_userinfo"] is True
    assert summary["revoked_refresh_token_rejected"] is True
    assert summary["code_replay_rejected"] is True
    assert summary["pkce_wrong_verifier_rejected"] is True
    assert summary["second_authorization"]["pages"] == []  # signed in and consented already

    grants = [t["grant"] for t in summary["access_tokens"]]
    assert grants == ["authorization_code", "refresh_token", "client_credentials"]
    for token in summary["access_tokens"]:
        assert token["typ"] in ("at+jwt", "application/at+jwt")
        assert token["alg"] == "ES256"
        assert token["kid"] in {k["kid"] for k in summary["jwks"]}
        assert token["aud"] == live_server.issuer  # RFC 9068 3: the default resource

    cc = summary["client_credentials"]
    assert cc["introspection_active"] is True
    assert cc["refresh_token_issued"] is False  # RFC 6749 4.4.3
    assert summary["access_tokens"][2]["client_id"] == rp_env["CC_CLIENT_ID"]
