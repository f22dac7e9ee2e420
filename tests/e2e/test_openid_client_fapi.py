"""FAPI 2.0 end to end with panva's ``openid-client`` against the real server.

Starts ``essc serve`` on loopback over a fresh SQLite database, registers a bank with
``essc clients add --fapi2`` (``private_key_jwt`` with a key made here, so PAR, DPoP-bound
tokens and no refresh rotation follow from the profile), adds the test cardholder, and runs
``tests/js/fapi_flow.mjs``: PAR + DPoP + ``private_key_jwt`` from discovery to userinfo, a
request object (RFC 9101) pushed through PAR, and what the profile refuses: the front channel
without PAR, a shared secret, PKCE plain or missing, an assertion living three minutes, a token
request without DPoP, a DPoP-bound token as a Bearer token, a replayed ``request_uri``, and
request objects with a wrong ``aud``, expired, unsigned (``alg: none``), MAC'd or signed by
another key.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.e2e.test_openid_client import CARDHOLDER
from tests.e2e.test_openid_client import JS_DIR
from tests.e2e.test_openid_client import NODE
from tests.e2e.test_openid_client import RP_TIMEOUT
from tests.e2e.test_openid_client import _essc_json
from tests.e2e.test_openid_client import _skip_reason
from tests.live import essc
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import log_tail
from tests.live import serving

pytestmark = [pytest.mark.node, pytest.mark.live]

SCOPE = "openid profile essc.card"


def _client_key() -> tuple[dict[str, str], dict[str, str]]:
    """The bank's EC P-256 key: its private JWK (for the script) and public JWK (registered)."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key))
    public = {k: v for k, v in private.items() if k != "d"}
    kid = "bank-key-1"
    return {**private, "kid": kid, "alg": "ES256"}, {**public, "kid": kid, "alg": "ES256"}


@pytest.fixture(scope="module")
def fapi_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("essc-openid-client-fapi")
    port = free_port()
    env = hermetic_env(tmp, f"http://127.0.0.1:{port}")
    essc(env, tmp, "init")
    private, public = _client_key()
    jwks_file = tmp / "bank-jwks.json"
    jwks_file.write_text(json.dumps({"keys": [{**public, "use": "sig"}]}))
    redirect_uri = f"http://127.0.0.1:{free_port()}/cb"
    bank = _essc_json(
        env, tmp,
        "clients", "add",
        "--name", "openid-client FAPI bank",
        "--kind", "bank",
        "--fapi2",
        "--grant-type", "authorization_code",
        "--grant-type", "refresh_token",
        "--auth-method", "private_key_jwt",
        "--jwks-file", str(jwks_file),
        "--redirect-uri", redirect_uri,
        "--scope", SCOPE,
    )  # fmt: skip
    assert bank["essc_fapi2_security_profile"] is True and "client_secret" not in bank
    _essc_json(
        env, tmp,
        "cardholders", "add",
        "--name", CARDHOLDER["name"],
        "--id-number", CARDHOLDER["id_number"],
        "--region-code", CARDHOLDER["region_code"],
        "--card-number", CARDHOLDER["card_number"],
        "--pin", CARDHOLDER["pin"],
    )  # fmt: skip
    log = tmp / "server.log"
    with serving(env, tmp, port, log) as issuer:
        yield (
            {
                **{k: v for k, v in os.environ.items() if not k.startswith("ESSC_")},
                "ISSUER": issuer,
                "CLIENT_ID": bank["client_id"],
                "CLIENT_JWK": json.dumps(private),
                "REDIRECT_URI": redirect_uri,
                "SCOPE": SCOPE,
                "CREDENTIAL": CARDHOLDER["card_number"],
                "PIN": CARDHOLDER["pin"],
            },
            log,
        )


def test_openid_client_fapi2(fapi_env: tuple[dict[str, str], Path]) -> None:
    env, log = fapi_env
    assert NODE is not None
    result = subprocess.run(
        [NODE, "fapi_flow.mjs"],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=RP_TIMEOUT,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        pytest.fail(
            f"fapi_flow.mjs exited {result.returncode}\nstderr:\n{result.stderr}\n"
            f"stdout:\n{result.stdout}\nserver log (tail):\n{log_tail(log)}"
        )
    summary = json.loads(lines[-1])
    assert summary["ok"] is True

    assert summary["discovery"]["par"] is True
    assert summary["discovery"]["request_parameter_supported"] is True
    assert "ES256" in summary["discovery"]["request_object_signing_alg_values_supported"]

    assert summary["flow"]["pages"] == ["signin", "consent"]
    assert summary["flow"]["token_type"].lower() == "dpop"
    assert summary["userinfo"]["sub"] == summary["flow"]["sub"]
    assert summary["bearer_userinfo_status"] == 401
    assert summary["request_uri_replay_status"] == 400
    assert summary["jar"]["token_type"].lower() == "dpop"
    assert summary["jar"]["pages"] == []  # signed in, consent remembered

    assert summary["refused"] == {
        "front_channel": "invalid_request",
        "symmetric_secret": "invalid_client",
        "pkce_plain": "invalid_request",
        "pkce_missing": "invalid_request",
        "long_assertion": "invalid_client",
        "bearer_token_request": "invalid_dpop_proof",
        "object_wrong_aud": "invalid_request_object",
        "object_expired": "invalid_request_object",
        "object_other_key": "invalid_request_object",
        "object_unsigned": "invalid_request_object",
        "object_hs256": "invalid_request_object",
    }
