"""An RP library written by someone else performs the token exchange: panva's openid-client
(``genericGrantRequest`` with RFC 8693's grant type, ``fetchProtectedResource``,
``tokenIntrospection``) against ``essc serve``, driven by ``tests/js/token_exchange.mjs``.

The channel and both cardholders are made with the CLI, the daughter signs in by the code flow
in the script, her father's consent is recorded at a service counter (``essc family consent``)
and the relationship is ended there too, between the script's steps."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from typing import Any

import pytest

from tests.e2e.test_openid_client import JS_DIR
from tests.e2e.test_openid_client import NODE
from tests.e2e.test_openid_client import _essc_json
from tests.e2e.test_openid_client import _skip_reason
from tests.live import ROOT
from tests.live import essc
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import log_tail
from tests.live import serving

pytestmark = [pytest.mark.node, pytest.mark.live]
FATHER = ("张三", "11010519491231002X", "A00000001", "802413")
DAUGHTER = ("张小红", "110105197803150024", "A00000004", "802413")
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
STEP_TIMEOUT = 120


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Path]]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("essc-token-exchange")
    port = free_port()
    env = hermetic_env(tmp, f"http://127.0.0.1:{port}")
    env["PYTHONPATH"] = str(ROOT)
    essc(env, tmp, "init")
    with serving(env, tmp, port, tmp / "server.log") as issuer:
        yield issuer, env, tmp


def read_line(out: IO[str]) -> dict[str, Any]:
    line = out.readline()
    assert line, "the script ended early"
    value: dict[str, Any] = json.loads(line)
    return value


def test_openid_client_exchanges_and_uses_the_delegated_token(
    world: tuple[str, dict[str, str], Path],
) -> None:
    issuer, env, tmp = world
    redirect_uri = f"http://127.0.0.1:{free_port()}/cb"
    channel = _essc_json(
        env, tmp,
        "clients", "add", "--name", "示例银行 App", "--kind", "bank", "--no-fapi2",
        "--grant-type", "authorization_code", "--grant-type", "refresh_token",
        "--allow-token-exchange", "--auth-method", "client_secret_basic",
        "--redirect-uri", redirect_uri, "--scope", "openid essc.ecard",
    )  # fmt: skip
    for name, id_number, card, pin in (FATHER, DAUGHTER):
        essc(
            env, tmp,
            "cardholders", "add", "--name", name, "--id-number", id_number,
            "--region-code", "110105", "--card-number", card, "--pin", pin,
        )  # fmt: skip
    script_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ESSC_")},
        "ISSUER": issuer,
        "CLIENT_ID": channel["client_id"],
        "CLIENT_SECRET": channel["client_secret"],
        "REDIRECT_URI": redirect_uri,
        "CREDENTIAL": DAUGHTER[2],
        "PIN": DAUGHTER[3],
        "FATHER_ID_NUMBER": FATHER[1],
        "FATHER_NAME": FATHER[0],
    }
    assert NODE is not None
    script = subprocess.Popen(
        [NODE, "token_exchange.mjs"],
        cwd=JS_DIR,
        env=script_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert script.stdin is not None and script.stdout is not None
    try:
        asked = read_line(script.stdout)
        rel_id = asked["relationship_id"]
        consented = _essc_json(
            env, tmp,
            "family", "consent", rel_id,
            "--power", "view_card", "--power", "show_medical_code", "--power", "query_benefits",
            "--operator", "op-0042", "--evidence", "form 2026-118, ID card seen",
        )  # fmt: skip
        assert consented["state"] == "active"
        script.stdin.write("consented\n")
        script.stdin.flush()
        assert read_line(script.stdout) == {"delegated": True}
        essc(env, tmp, "family", "end", rel_id)
        script.stdin.write("ended\n")
        script.stdin.flush()
        out, err = script.communicate(timeout=STEP_TIMEOUT)
    except BaseException:
        script.kill()
        out, err = script.communicate()
        print(out, err, log_tail(tmp / "server.log"))
        raise
    last = out.strip().splitlines()[-1] if out.strip() else "{}"
    summary = json.loads(last)
    assert script.returncode == 0 and summary["ok"], f"{out}\n{err}"

    assert summary["grant_type_advertised"] is True
    exchange = summary["exchange"]
    assert exchange["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert exchange["token_type"].lower() == "bearer" and exchange["refresh_token"] is None
    assert exchange["scope"] == "essc.family.view_card essc.family.query_benefits"
    seen = summary["introspection"]
    assert seen["active"] is True and seen["sub"] == seen["principal"]
    assert set(seen["act"]) == {"sub"} and seen["act"]["sub"] != seen["sub"]
    card = summary["card"]
    assert card["status"] == 200 and card["body"]["card_number"] == "A0*****01"
    benefits = summary["benefits"]
    assert benefits["status"] == 200
    assert benefits["body"]["pension_certification"] == {"state": "uncertified"}
    assert benefits["body"]["acting_for"] == seen["principal"]
    # show_medical_code was granted but not asked for in this exchange: RFC 6750 3.1
    assert summary["code_without_scope"] == {"status": 403, "challenge": "insufficient_scope"}
    assert summary["refused"] == {
        "chained": "invalid_request",
        "pay": "invalid_scope",
        "actor_token": "invalid_request",
    }
    after = summary["after_end"]
    assert after["active"] is False and after["exchange"] == "invalid_request"
    assert after["benefits"]["status"] == 403
    assert after["benefits"]["type"] == "application/problem+json"
    assert after["benefits"]["body"]["type"].endswith("/problems/relationship-ended")
    assert FATHER[1] not in out and DAUGHTER[1] not in out
