"""Audit records never hold secrets or full ID numbers: the sign-in, consent, token, reuse and
revocation flows run with an ID-number hint and a wrong PIN, then every stored record is
searched for what must not be there."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select

from idp.events import trail
from idp.provider import Provider
from idp.store.security import AuditEvent
from tests.support import CARD
from tests.support import authorize_params
from tests.support import basic
from tests.support import exchange
from tests.support import obtain_code
from tests.support import pkce_pair
from tests.support import sign_in

WRONG_PIN = "135790"
#: Eighteen characters shaped like an ID number (GB 11643), anywhere in a record.
ID_SHAPED = re.compile(r"\d{17}[\dXx]")


def test_records_hold_no_secret_and_no_id_number(
    web: Any, provider: Provider, portal: Any, cardholder: dict[str, str]
) -> None:
    verifier, challenge = pkce_pair()
    hinted = authorize_params(portal, challenge, login_hint=CARD["id_number"])
    location = web.get("/authorize", query_string=hinted).headers["Location"]
    assert sign_in(web, location, credential=CARD["id_number"], pin=WRONG_PIN).status_code == 401
    code, verifier = obtain_code(web, portal)
    tokens = exchange(web, portal, code, verifier).get_json()
    reused = exchange(web, portal, code, verifier)
    assert reused.status_code == 400  # code reuse: the grant is revoked and audited
    web.post(
        "/revoke",
        data={"token": tokens["refresh_token"]},
        headers=basic(portal.client_id, portal.client_secret),
    )
    with provider.db.read() as s:
        records = [
            {c: getattr(r, c) for c in ("event", "actor", "person_id", "client_id", "detail")}
            for r in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        ]
        assert trail.verify(s, lambda jws: {}).problems == []
    events = {r["event"] for r in records}
    assert {"signin.failed", "signin.succeeded", "grant.revoked"} <= events, events
    stored = json.dumps(records, ensure_ascii=False)
    secrets = [
        CARD["id_number"],
        CARD["id_number"].lower(),
        CARD["pin"],
        WRONG_PIN,
        portal.client_secret,
        code,
        tokens["access_token"],
        tokens["refresh_token"],
        tokens["id_token"],
    ]
    for secret in secrets:
        assert secret and secret not in stored, f"an audit record holds {secret[:6]}…"
    assert not ID_SHAPED.search(stored)
