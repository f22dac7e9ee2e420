"""An encrypted ID token (OIDC Core 10.2) decrypted and verified by openid-client.

Starts ``essc serve`` on loopback, registers a portal with ``--id-token-encryption
ECDH-ES+A256KW/A256GCM`` and a ``use: enc`` P-256 key made here, and runs
``tests/js/encrypted_id_token.mjs``: openid-client decrypts the JWE with the private key and
validates the nested signed ID token (signature against the JWKS, iss, aud, nonce).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from joserfc.jwk import ECKey

from tests.e2e.test_openid_client import CARDHOLDER
from tests.e2e.test_openid_client import JS_DIR
from tests.e2e.test_openid_client import NODE
from tests.e2e.test_openid_client import _essc_json
from tests.e2e.test_openid_client import _skip_reason
from tests.live import essc
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import log_tail
from tests.live import serving

pytestmark = [pytest.mark.node, pytest.mark.live]


def test_openid_client_decrypts_and_verifies(tmp_path: Path) -> None:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    assert NODE is not None
    port = free_port()
    env = hermetic_env(tmp_path, f"http://127.0.0.1:{port}")
    essc(env, tmp_path, "init")
    key = ECKey.generate_key("P-256", parameters={"use": "enc", "kid": "rp-enc-1"})
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    redirect_uri = f"http://127.0.0.1:{free_port()}/cb"
    portal = _essc_json(
        env, tmp_path,
        "clients", "add",
        "--name", "encrypting RP",
        "--kind", "portal",
        "--grant-type", "authorization_code",
        "--auth-method", "client_secret_basic",
        "--redirect-uri", redirect_uri,
        "--scope", "openid",
        "--jwks-file", str(jwks_file),
        "--id-token-encryption", "ECDH-ES+A256KW/A256GCM",
    )  # fmt: skip
    _essc_json(
        env, tmp_path,
        "cardholders", "add",
        "--name", CARDHOLDER["name"],
        "--id-number", CARDHOLDER["id_number"],
        "--region-code", CARDHOLDER["region_code"],
        "--card-number", CARDHOLDER["card_number"],
        "--pin", CARDHOLDER["pin"],
    )  # fmt: skip
    log = tmp_path / "server.log"
    with serving(env, tmp_path, port, log) as issuer:
        rp_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ESSC_")},
            "ISSUER": issuer,
            "CLIENT_ID": portal["client_id"],
            "CLIENT_SECRET": portal["client_secret"],
            "REDIRECT_URI": redirect_uri,
            "CREDENTIAL": CARDHOLDER["card_number"],
            "PIN": CARDHOLDER["pin"],
            "ENC_JWK": json.dumps(key.as_dict(private=True)),
        }
        result = subprocess.run(
            [NODE, "encrypted_id_token.mjs"],
            cwd=JS_DIR,
            env=rp_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        lines = result.stdout.strip().splitlines()
        if result.returncode != 0 or not lines:
            pytest.fail(
                f"encrypted_id_token.mjs exited {result.returncode}\nstderr:\n{result.stderr}\n"
                f"stdout:\n{result.stdout}\nserver log:\n{log_tail(log)}"
            )
    summary = json.loads(lines[-1])
    assert summary["ok"] is True
    assert summary["encryption_algs"] == ["ECDH-ES+A256KW"]
    assert summary["encryption_encs"] == ["A256GCM"]
    assert summary["id_token_parts"] == 5  # a JWE, decrypted by openid-client
    header = summary["jwe_header"]
    assert header["alg"] == "ECDH-ES+A256KW" and header["enc"] == "A256GCM"
    assert header["cty"] == "JWT" and header["kid"] == "rp-enc-1"
    assert summary["claims"]["iss"] == issuer
    assert summary["claims"]["aud"] == portal["client_id"]
    assert summary["claims"]["nonce_checked"] is True
