"""The family proxy end to end over HTTP: a daughter asks to act for her father, he consents in
his own channel with an assertion and his PIN, she exchanges her token (RFC 8693) for one whose
``sub`` is him and ``act`` is her, views his card, he reads it in his history and ends it, and
her delegated token stops at once."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from idp.provider import Provider
from idp.qr.token import QrTokenError
from idp.qr.token import decode
from idp.store.security import AuditEvent
from tests.family.helpers import PREFIX
from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.helpers import ask
from tests.family.helpers import bearer
from tests.family.helpers import consent

POWERS = ["view_card", "show_medical_code"]


def claims_of(token: str) -> dict[str, Any]:
    found: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return found


def active_relationship(
    app: Any, web: Any, channel: Channel, agent: Person, principal: Person
) -> tuple[str, str, str]:
    """(agent's own token, relationship id, principal_ref) once the principal consented."""
    token = channel.token(app, agent)
    asked = ask(web, token, principal)
    assert asked.status_code == 201, asked.get_data(as_text=True)
    assert asked.json["state"] == "requested" and asked.json["powers"] == []
    rel_id = asked.json["id"]
    sign_no = channel.ecard(principal)
    given = consent(web, channel, rel_id, sign_no, POWERS)
    assert given.status_code == 200, given.get_data(as_text=True)
    assert given.json["state"] == "active" and given.json["powers"] == POWERS
    return token, rel_id, asked.json["principal_ref"]


def introspect(web: Any, channel: Channel, token: str) -> dict[str, Any]:
    answer = web.post(
        "/introspect", data={"token": token, **channel.client_auth()}, headers=channel.headers()
    )
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json
    return body


def test_the_whole_story(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    own, rel_id, principal_ref = active_relationship(app, web, channel, daughter, father)
    exchanged = channel.exchange(web, own, principal_ref)
    assert exchanged.status_code == 200, exchanged.get_data(as_text=True)
    body = exchanged.json
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert body["scope"] == "essc.family.view_card essc.family.show_medical_code"
    delegated = body["access_token"]
    claims = claims_of(delegated)
    assert claims["sub"] == principal_ref
    assert claims["act"] == {"sub": claims_of(own)["sub"]} and claims["fid"] == rel_id
    assert "gid" not in claims
    seen = introspect(web, channel, delegated)
    assert seen["active"] is True and seen["act"] == claims["act"]

    card = web.get(PREFIX + "/acting/card", headers=bearer(delegated))
    assert card.status_code == 200, card.get_data(as_text=True)
    assert card.json["card_number"] == "A0*****01" and card.json["acting_for"] == principal_ref

    fathers_own = channel.token(app, father)
    lines = web.get(PREFIX + "/history", headers=bearer(fathers_own)).json["events"]
    texts = [line["text"] for line in lines]
    assert "李**（子女）代你查看了社保卡状态" in texts
    assert any(t.startswith("李**（子女）开始代你办理：查看社保卡状态、出示医保码") for t in texts)
    assert all(father.id_number not in str(line) for line in lines)

    ended = web.post(f"{PREFIX}/relationships/{rel_id}/end", headers=bearer(fathers_own))
    assert ended.status_code == 200 and ended.json["state"] == "ended"
    assert introspect(web, channel, delegated) == {"active": False}
    stopped = web.get(PREFIX + "/acting/card", headers=bearer(delegated))
    assert stopped.status_code == 401
    again = channel.exchange(web, own, principal_ref)
    assert again.status_code == 400 and again.json["error"] == "invalid_request"
    lines = web.get(PREFIX + "/history", headers=bearer(fathers_own)).json["events"]
    assert "你结束了与李**（子女）的亲情关系" in [line["text"] for line in lines]


def test_audit_names_both_people_and_no_id_number(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    own, rel_id, ref = active_relationship(app, web, channel, daughter, father)
    delegated = channel.exchange(web, own, ref).json["access_token"]
    web.get(PREFIX + "/acting/card", headers=bearer(delegated))
    with provider.db.read() as s:
        events = s.query(AuditEvent).filter(AuditEvent.event.like("family.%")).all()
    names = [e.event for e in events]
    for event in ("family.requested", "family.consented", "family.token_exchanged"):
        assert event in names
    assert "family.card_viewed" in names
    for e in events:
        assert e.person_id == father.person_id and e.detail["agent"] == daughter.person_id
        assert e.detail["relationship_id"] == rel_id
        assert father.id_number not in str(e.detail) and daughter.id_number not in str(e.detail)


def test_listing_shows_both_sides(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    own, rel_id, _ = active_relationship(app, web, channel, daughter, father)
    mine = web.get(PREFIX + "/relationships", headers=bearer(own)).json
    assert [r["id"] for r in mine["as_agent"]] == [rel_id] and mine["as_principal"] == []
    assert mine["as_agent"][0]["counterpart"] == {"name": "李**"}
    his = web.get(PREFIX + "/relationships", headers=bearer(channel.token(app, father))).json
    assert [r["id"] for r in his["as_principal"]] == [rel_id]
    assert "principal_ref" not in his["as_principal"][0]


def test_the_agent_shows_the_principals_medical_code_until_it_ends(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    own, rel_id, ref = active_relationship(app, web, channel, daughter, father)
    daughters_card = channel.ecard(daughter)
    delegated = channel.exchange(web, own, ref).json["access_token"]
    path = PREFIX + "/acting/qr-codes"
    shown = web.post(path, json={"purpose": "medical"}, headers=bearer(delegated))
    assert shown.status_code == 201, shown.get_data(as_text=True)
    text = shown.json["codes"][0]["code"]
    assert decode(text).token.actor is not None  # the code says a relative minted it
    denied = web.post(path, json={"purpose": "identity"}, headers=bearer(delegated))
    assert denied.status_code == 403  # show_identity_code was not granted
    paying = web.post(path, json={"purpose": "payment"}, headers=bearer(delegated))
    assert paying.status_code == 403
    with provider.db.read() as s:
        opened = provider.qr.open(s, text, "medical")
        assert opened.person_id == father.person_id and opened.actor_sign_no == daughters_card
        assert provider.qr.revoked_indices(s, provider.now()) == []
    lines = web.get(PREFIX + "/history", headers=bearer(channel.token(app, father))).json
    assert lines["events"][0]["text"] == "李**（子女）代你出示了医保码"
    web.post(f"{PREFIX}/relationships/{rel_id}/end", headers=bearer(own))
    with provider.db.read() as s:
        with pytest.raises(QrTokenError) as refused:
            provider.qr.open(s, text, "medical")
        assert refused.value.reason == "revoked"
        assert len(provider.qr.revoked_indices(s, provider.now())) == 1
