"""docs/family.md "Walkthrough with curl": every ``sh`` block runs as written with curl against
the app on loopback, the variables it names set from the answers before it, and each answer is
what the document says."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from idp.app import create_app
from idp.provider import Provider
from idp.qr.token import decode
from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.helpers import person
from tests.support import CARD
from tests.support import add_cardholder

DOC = Path(__file__).resolve().parents[2] / "docs" / "family.md"
SECTION = "## Walkthrough with curl"


def blocks() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return re.findall(r"```sh\n(.*?)```", text[start : end if end >= 0 else None], re.S)


@pytest.fixture
def live(provider: Provider) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, create_app(provider.settings, provider=provider))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def run(block: str, env: dict[str, str]) -> Any:
    done = subprocess.run(
        ["bash", "-c", "set -e\n" + block],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ.get("PATH", ""), **env},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_walkthrough_runs_as_written(app: Any, live: str, provider: Provider) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    channel = Channel(provider, auth="client_secret_basic")
    principal = Person(CARD["name"], CARD["id_number"], CARD["card_number"], "")
    principal.person_id = add_cardholder(provider)["person_id"]
    agent = person(provider, 2, born="19800101", name="张小红")
    assert channel.client_secret is not None
    env = {
        "ESSC": live,
        "CLIENT_ID": channel.client_id,
        "CLIENT_SECRET": channel.client_secret,
        "AGENT_TOKEN": channel.token(app, agent),
        "PRINCIPAL_TOKEN": channel.token(app, principal),
    }
    ask, give, listing, exchange, card, codes, introspect, history, end = blocks()
    asked = run(ask, env)
    assert asked["state"] == "requested" and asked["counterpart"] == {"name": "张*"}
    env["RELATIONSHIP_ID"] = asked["id"]
    env["ASSERTION"] = channel.assertion(channel.ecard(principal))
    given = run(give, env)
    assert given["state"] == "active" and given["powers"] == ["view_card", "show_medical_code"]
    listed = run(listing, env)
    env["PRINCIPAL_REF"] = listed["as_agent"][0]["principal_ref"]
    exchanged = run(exchange, env)
    assert exchanged["scope"] == "essc.family.view_card essc.family.show_medical_code"
    assert exchanged["token_type"] == "Bearer"
    env["DELEGATED_TOKEN"] = exchanged["access_token"]
    assert run(card, env)["card_number"] == "A0*****01"
    shown = run(codes, env)["codes"]
    assert len(shown) == 1 and decode(shown[0]["code"]).token.actor is not None
    seen = run(introspect, env)
    assert seen["active"] is True and seen["sub"] == env["PRINCIPAL_REF"] and "act" in seen
    lines = [e["text"] for e in run(history, env)["events"]]
    assert lines[:2] == ["张**（子女）代你出示了医保码", "张**（子女）代你查看了社保卡状态"]
    assert run(end, env) == {"id": asked["id"], "state": "ended"}
    assert run(introspect, env) == {"active": False}
    with provider.db.read() as s:
        assert len(provider.qr.revoked_indices(s, provider.now())) == 1
