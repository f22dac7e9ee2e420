"""Revoking a portal, a session or an e-card (idp.my_authorizations.revoke), on SQLite and on
PostgreSQL: what stops at once, once only, and only for the citizen's own items."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from idp.ecards.requests import parse_issue
from idp.my_authorizations.holdings import holdings
from idp.my_authorizations.revoke import Outcome
from idp.my_authorizations.revoke import end_own_session
from idp.my_authorizations.revoke import revoke_ecard
from idp.my_authorizations.revoke import revoke_portal
from idp.store.ecards import ECard
from idp.store.ecards import OutboxMessage
from idp.store.grants import BrowserSession
from idp.store.grants import Consent
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import channel_of
from tests.ecard_helpers import issue_body
from tests.my_authorizations.helpers import OTHER
from tests.my_authorizations.helpers import audit_count
from tests.my_authorizations.helpers import introspect
from tests.my_authorizations.helpers import my_sign_in
from tests.my_authorizations.helpers import refresh
from tests.my_authorizations.helpers import tokens
from tests.support import add_cardholder
from tests.support import register


def _sid(provider: Any, person_id: str) -> str:
    with provider.db.read() as s:
        sid = s.scalar(select(BrowserSession.sid).where(BrowserSession.person_id == person_id))
    assert sid is not None
    return sid


def test_revoking_a_portal_ends_its_tokens_at_once_and_only_its_own(
    provider: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    other_portal = register(provider, kind="portal", redirect_uris=("https://b.example/cb",))
    my_sign_in(web)
    a, b = tokens(web, portal), tokens(web, other_portal)
    person = cardholder["person_id"]
    with provider.unit_of_work() as uow:
        assert revoke_portal(uow, person, portal.client_id, now=provider.now()) is Outcome.REVOKED
    with provider.unit_of_work() as uow:
        assert revoke_portal(uow, person, portal.client_id, now=provider.now()) is Outcome.ALREADY
    assert audit_count(provider, "authorization.revoked") == 1
    assert not introspect(web, portal, a["access_token"]), "inactive at once"
    bearer = {"Authorization": f"Bearer {a['access_token']}"}
    assert web.get("/userinfo", headers=bearer).status_code == 401
    refused = refresh(web, portal, a["refresh_token"])
    assert (refused.status_code, refused.json["error"]) == (400, "invalid_grant")
    assert introspect(web, other_portal, b["access_token"])
    assert refresh(web, other_portal, b["refresh_token"]).status_code == 200
    with provider.db.read() as s:
        left = [c.client_id for c in s.scalars(select(Consent))]
    assert left == [other_portal.client_id], "the next sign-in asks portal A for consent again"


def test_the_list_names_portals_sessions_and_ecards(
    provider: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    my_sign_in(web)
    tokens(web, portal)
    channel = channel_of(provider, add_channel(provider, "wechat").client_id)
    with provider.unit_of_work() as uow:
        provider.ecards.issue(uow, channel, parse_issue(issue_body(provider)))
    with provider.db.read() as s:
        held = holdings(
            s,
            cardholder["person_id"],
            now=provider.now(),
            cookie_hash=None,
            find_client=provider.clients.get,
        )
    assert [(p.name, p.scopes) for p in held.portals] == [
        ("test portal", ("essc.card", "openid", "profile"))
    ]
    assert held.portals[0].last_used == provider.now()
    assert [x.portals for x in held.sessions] == [("test portal",)]
    assert [(e.channel, e.card_number_masked) for e in held.ecards] == [
        ("test wechat", "A0*****01")
    ]


def test_ending_a_session_revokes_what_it_signed_in_to(
    provider: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    my_sign_in(web)
    issued = tokens(web, portal)
    sid = _sid(provider, cardholder["person_id"])
    with provider.unit_of_work() as uow:
        assert (
            end_own_session(uow, cardholder["person_id"], sid, now=provider.now())
            is Outcome.REVOKED
        )
    with provider.unit_of_work() as uow:
        assert (
            end_own_session(uow, cardholder["person_id"], sid, now=provider.now())
            is Outcome.ALREADY
        )
    assert audit_count(provider, "session.logout") == 1
    assert refresh(web, portal, issued["refresh_token"]).json["error"] == "invalid_grant"
    assert web.get("/my/authorizations").status_code == 303, "this browser is signed out"


def test_revoking_an_ecard_unbinds_it_and_tells_the_channel(provider: Any, cardholder: Any) -> None:
    channel = channel_of(provider, add_channel(provider, "wechat").client_id)
    with provider.unit_of_work() as uow:
        issued = provider.ecards.issue(uow, channel, parse_issue(issue_body(provider)))
    person = cardholder["person_id"]
    with provider.unit_of_work() as uow:
        assert revoke_ecard(uow, person, issued.sign_no, now=provider.now()) is Outcome.REVOKED
    with provider.unit_of_work() as uow:
        assert revoke_ecard(uow, person, issued.sign_no, now=provider.now()) is Outcome.ALREADY
    with provider.db.read() as s:
        row = s.get(ECard, issued.sign_no)
        assert row is not None and row.status == "unbound"
        assert row.evidence["unbound"]["by"] == "cardholder"
        messages = [
            (m.event, m.client_id, m.payload)
            for m in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]
    assert [m[0] for m in messages] == ["ecard.issued", "ecard.unbound"]
    assert messages[1][1:] == (
        channel.client_id,
        {"sign_no": issued.sign_no, "factor": "session", "by": "cardholder"},
    )
    assert audit_count(provider, "ecard.unbound") == 1


def test_another_citizens_items_are_not_found_and_stay(
    provider: Any, app: Any, cardholder: Any, portal: Any
) -> None:
    theirs = app.test_client()
    other = add_cardholder(provider, **OTHER)
    my_sign_in(theirs, OTHER)
    tokens(theirs, portal)
    channel = channel_of(provider, add_channel(provider, "wechat").client_id)
    body = issue_body(provider, **{k: OTHER[k] for k in ("name", "id_number", "region_code")})
    with provider.unit_of_work() as uow:
        issued = provider.ecards.issue(uow, channel, parse_issue(body))
    me, now = cardholder["person_id"], provider.now()
    with provider.unit_of_work() as uow:
        assert revoke_portal(uow, me, portal.client_id, now=now) is Outcome.NOT_FOUND
        assert (
            end_own_session(uow, me, _sid(provider, other["person_id"]), now=now)
            is Outcome.NOT_FOUND
        )
        assert revoke_ecard(uow, me, issued.sign_no, now=now) is Outcome.NOT_FOUND
    assert audit_count(provider, "authorization.revoked") == 0
    assert theirs.get("/my/authorizations").status_code == 200, "their session is untouched"


@pytest.mark.parametrize("item", ["", "x" * 65, "a\x00b", "\ud800", "../etc", "a b"])
def test_malformed_ids_are_not_found(provider: Any, cardholder: Any, item: str) -> None:
    person = cardholder["person_id"]
    with provider.unit_of_work() as uow:
        for revoker in (revoke_portal, end_own_session, revoke_ecard):
            assert revoker(uow, person, item, now=provider.now()) is Outcome.NOT_FOUND


def test_eight_revokes_at_once_revoke_once(
    provider: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    if not provider.settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    my_sign_in(web)
    tokens(web, portal)
    outcomes: list[Outcome] = []
    start = threading.Barrier(8)

    def one() -> None:
        start.wait()
        with provider.unit_of_work() as uow:
            outcomes.append(
                revoke_portal(uow, cardholder["person_id"], portal.client_id, now=provider.now())
            )

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.value for o in outcomes) == ["already"] * 7 + ["revoked"]
    assert audit_count(provider, "authorization.revoked") == 1


def test_revoking_an_ecard_also_ends_that_channels_tokens_for_the_citizen(
    provider: Any, web: Any, cardholder: Any
) -> None:
    both = register(
        provider,
        kind="wechat",
        grant_types=("authorization_code", "refresh_token", "client_credentials"),
        scope="openid profile essc.card essc.ecard",
    )
    my_sign_in(web)
    issued_tokens = tokens(web, both)
    channel = channel_of(provider, both.client_id)
    with provider.unit_of_work() as uow:
        ecard = provider.ecards.issue(uow, channel, parse_issue(issue_body(provider)))
    with provider.unit_of_work() as uow:
        outcome = revoke_ecard(uow, cardholder["person_id"], ecard.sign_no, now=provider.now())
    assert outcome is Outcome.REVOKED
    assert refresh(web, both, issued_tokens["refresh_token"]).json["error"] == "invalid_grant"
