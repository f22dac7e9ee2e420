"""docs/family.md "Pension eligibility certification", its walkthrough: every ``sh`` block runs
as written with curl against the app on loopback, and each answer is what the document says."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from idp.provider import Provider
from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.helpers import bearer
from tests.family.helpers import person
from tests.family.test_docs import live
from tests.family.test_docs import run
from tests.pension.helpers import delegated
from tests.pension.test_states import Service
from tests.support import CARD
from tests.support import add_cardholder

__all__ = ["live"]
DOC = Path(__file__).resolve().parents[2] / "docs" / "family.md"
SECTION = "## Pension eligibility certification"
WALKTHROUGH = "### Walkthrough with curl"


def blocks() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(WALKTHROUGH, text.index(SECTION))
    end = text.find("\n## ", start)
    return re.findall(r"```sh\n(.*?)```", text[start : end if end >= 0 else None], re.S)


def test_the_walkthrough_runs_as_written(app: Any, web: Any, live: str, provider: Provider) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    channel = Channel(provider, auth="client_secret_basic")
    father = Person(CARD["name"], CARD["id_number"], CARD["card_number"], "")
    father.person_id = add_cardholder(provider)["person_id"]
    daughter = person(provider, 2, born="19800101", name="张小红")
    token, _, _, sign_no = delegated(
        app, web, channel, daughter, father, ["view_card", "pension_certification"]
    )
    service = Service(web, provider)
    assert service.client.client_secret is not None
    env = {
        "ESSC": live,
        "DELEGATED_TOKEN": token,
        "FACE_ASSERTION": channel.assertion(sign_no),
        "SERVICE_ID": service.client.client_id,
        "SERVICE_SECRET": service.client.client_secret,
        "PRINCIPAL_TOKEN": channel.token(app, father),
    }
    certify, status, history = blocks()
    done = run(certify, env)
    assert done["state"] == "certified" and done["method"] == "agent"
    assert run(status, env) == done
    assert run(certify, env) == done  # a retry: the same answer
    lines = run(history, env)["events"]
    assert lines[0]["text"].startswith("张**（子女）代你完成了养老待遇资格认证，有效期至")
    assert web.get("/api/v1/pension/certification", headers=bearer(token)).json == done
