"""SSO and logout with a relying-party library written by someone else: panva's ``openid-client``.

``tests/js/sso_logout.mjs`` signs in at portal A, reaches portal B in the same browser without
a sign-in page, and logs out through ``buildEndSessionUrl`` with A's ID token. Then this test
runs the deliverer (``essc notifications deliver --once``) and checks that both portals' live
back-channel endpoints got one logout token each, valid by section 2.6
(``tests.logout.relying_party``), for the session and subject of their own ID tokens.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_openid_client import CARDHOLDER
from tests.e2e.test_openid_client import JS_DIR
from tests.e2e.test_openid_client import NODE
from tests.e2e.test_openid_client import PORTAL_SCOPE
from tests.e2e.test_openid_client import RP_TIMEOUT
from tests.e2e.test_openid_client import LiveServer
from tests.e2e.test_openid_client import _essc_json
from tests.e2e.test_openid_client import live_server  # noqa: F401 (a fixture)
from tests.live import essc
from tests.live import free_port
from tests.live import log_tail
from tests.logout.relying_party import token_of
from tests.logout.relying_party import validate
from tests.notification_receiver import Receiver
from tests.notification_receiver import serving

pytestmark = [pytest.mark.node, pytest.mark.live]


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    with serving(Receiver()) as a, serving(Receiver()) as b:
        yield a, b


def _portal(server: LiveServer, name: str, redirect_uri: str, *extra: str) -> dict[str, Any]:
    return _essc_json(
        server.env, server.tmp,
        "clients", "add", "--name", name, "--kind", "portal",
        "--grant-type", "authorization_code", "--grant-type", "refresh_token",
        "--auth-method", "client_secret_basic",
        "--redirect-uri", redirect_uri, "--scope", PORTAL_SCOPE, *extra,
    )  # fmt: skip


def _environment(
    server: LiveServer, a_url: str, b_url: str
) -> tuple[dict[str, str], dict[str, Any]]:
    a_cb, b_cb = (f"http://127.0.0.1:{free_port()}/cb" for _ in range(2))
    signed_out = f"http://127.0.0.1:{free_port()}/signed-out"
    a = _portal(server, "openid-client A", a_cb, "--post-logout-redirect-uri", signed_out,
                "--backchannel-logout-uri", a_url)  # fmt: skip
    b = _portal(server, "openid-client B", b_cb, "--backchannel-logout-uri", b_url)
    _essc_json(
        server.env, server.tmp,
        "cardholders", "add", "--name", CARDHOLDER["name"],
        "--id-number", CARDHOLDER["id_number"], "--region-code", CARDHOLDER["region_code"],
        "--card-number", CARDHOLDER["card_number"], "--pin", CARDHOLDER["pin"],
    )  # fmt: skip
    env = {
        **{k: v for k, v in server.env.items() if not k.startswith("ESSC_")},
        "ISSUER": server.issuer,
        "SCOPE": PORTAL_SCOPE,
        "CREDENTIAL": CARDHOLDER["card_number"],
        "PIN": CARDHOLDER["pin"],
        "A_POST_LOGOUT_URI": signed_out,
    }
    for prefix, client, cb in (("A", a, a_cb), ("B", b, b_cb)):
        env |= {f"{prefix}_CLIENT_ID": client["client_id"], f"{prefix}_REDIRECT_URI": cb}
        env[f"{prefix}_CLIENT_SECRET"] = client["client_secret"]
    return env, {"A": a, "B": b, "signed_out": signed_out}


def _run(server: LiveServer, env: dict[str, str]) -> dict[str, Any]:
    assert NODE is not None
    result = subprocess.run(
        [NODE, "sso_logout.mjs"], cwd=JS_DIR, env=env, capture_output=True, text=True,
        timeout=RP_TIMEOUT, check=False,
    )  # fmt: skip
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        pytest.fail(
            f"sso_logout.mjs exited {result.returncode}\nstderr:\n{result.stderr}\n"
            f"stdout:\n{result.stdout}\nserver log (tail):\n{log_tail(server.log)}"
        )
    summary: dict[str, Any] = json.loads(lines[-1])
    return summary


def test_openid_client_sso_and_logout_reach_both_portals(
    live_server: LiveServer,  # noqa: F811
    receivers: tuple[Receiver, Receiver],
) -> None:
    import requests

    env, clients = _environment(live_server, receivers[0].url, receivers[1].url)
    summary = _run(live_server, env)
    assert summary["ok"] is True
    assert summary["discovery"] == {
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }
    assert summary["sso"]["a_pages"] == ["signin", "consent"]
    assert summary["sso"]["b_pages"] == ["consent"]  # no sign-in: the session is reused
    assert summary["sso"]["same_sid"] is True
    assert summary["logout"] == {"returned_to": clients["signed_out"], "state_kept": True}
    assert summary["after_logout"] == {
        "b_prompt_none_error": "login_required",
        "a_refresh_error": "invalid_grant",
    }

    essc(live_server.env, live_server.tmp, "notifications", "deliver", "--once")
    jwks = requests.get(f"{live_server.issuer}/jwks.json", timeout=10).json()
    for prefix, receiver in zip(("A", "B"), receivers, strict=True):
        [got] = receiver.accepted()
        claims = validate(
            token_of(got.body),
            jwks=jwks,
            issuer=live_server.issuer,
            client_id=clients[prefix]["client_id"],
            seen=set(),
            now=int(time.time()),
        )
        sso = summary["sso"]
        assert (claims["sid"], claims["sub"]) == (sso["sid"], sso["subs"][prefix])
