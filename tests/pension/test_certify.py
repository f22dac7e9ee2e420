"""Pension eligibility certification over HTTP: by the pensioner with their own face, by a
relative with the power and the pensioner's face in the same request, and every refusal."""

from __future__ import annotations

from typing import Any

from idp.provider import Provider
from idp.store.pension import PensionCertification
from idp.store.security import AuditEvent
from tests.family.helpers import PREFIX
from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.helpers import bearer
from tests.pension.helpers import STATE
from tests.pension.helpers import certify
from tests.pension.helpers import delegated

YEAR_AND_A_DAY = 366 * 24 * 3600


def rows(provider: Provider, person_id: str) -> list[PensionCertification]:
    with provider.db.transaction() as s:
        found = s.query(PensionCertification).filter_by(person_id=person_id).all()
        s.expunge_all()
        return found


def test_the_pensioner_certifies_with_their_own_face(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person
) -> None:
    own = channel.token(app, father)
    assert web.get(STATE, headers=bearer(own)).json == {"state": "uncertified"}
    done = certify(web, own, channel.assertion(channel.ecard(father)))
    assert done.status_code == 201, done.get_data(as_text=True)
    assert done.json["state"] == "certified" and done.json["method"] == "self"
    assert done.json["valid_until"] > provider.now() + 364 * 24 * 3600
    assert web.get(STATE, headers=bearer(own)).json == done.json
    with provider.db.transaction() as s:
        event = s.query(AuditEvent).filter_by(event="pension.certified").one()
        assert event.person_id == father.person_id and "agent" not in event.detail
    lines = web.get(PREFIX + "/history", headers=bearer(own)).json["events"]
    assert lines[0]["text"].startswith("你本人完成了养老待遇资格认证") and lines[0]["agent"] is None


def test_a_daughter_certifies_with_her_fathers_confirmation(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    token, rel_id, _, sign_no = delegated(
        app, web, channel, daughter, father, ["pension_certification"]
    )
    done = certify(web, token, channel.assertion(sign_no))
    assert done.status_code == 201, done.get_data(as_text=True)
    assert done.json["method"] == "agent"
    [row] = rows(provider, father.person_id)
    assert row.agent_id == daughter.person_id and row.relationship_id == rel_id
    assert web.get(STATE, headers=bearer(token)).json["state"] == "certified"
    lines = web.get(PREFIX + "/history", headers=bearer(channel.token(app, father))).json
    text = lines["events"][0]["text"]
    assert text.startswith("李**（子女）代你完成了养老待遇资格认证，有效期至"), text


def test_her_own_face_is_not_her_fathers(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    token, *_ = delegated(app, web, channel, daughter, father, ["pension_certification"])
    refused = certify(web, token, channel.assertion(channel.ecard(daughter)))
    assert refused.status_code == 403
    assert refused.json["type"].endswith("/certification-refused")
    assert refused.content_type == "application/problem+json"
    assert rows(provider, father.person_id) == []


def test_without_the_power_nothing_is_certified(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    token, _, _, sign_no = delegated(app, web, channel, daughter, father, ["view_card"])
    refused = certify(web, token, channel.assertion(sign_no))
    assert refused.status_code == 403 and refused.json["type"].endswith("/no-power")
    assert web.get(STATE, headers=bearer(token)).json["type"].endswith("/no-power")
    assert rows(provider, father.person_id) == []


def test_after_the_relationship_ended(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    token, rel_id, own, sign_no = delegated(
        app, web, channel, daughter, father, ["pension_certification"]
    )
    ended = web.post(f"{PREFIX}/relationships/{rel_id}/end", headers=bearer(own))
    assert ended.status_code == 200
    refused = certify(web, token, channel.assertion(sign_no))
    assert refused.status_code == 403 and refused.json["type"].endswith("/relationship-ended")
    assert web.get(STATE, headers=bearer(token)).status_code == 403
    assert rows(provider, father.person_id) == []


def test_stale_realname_or_foreign_assertions_are_refused(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person
) -> None:
    own = channel.token(app, father)
    sign_no = channel.ecard(father)
    now = provider.now()
    other = Channel(provider)
    cases = {
        "stale face": channel.assertion(sign_no, auth_time=now - 301),
        "realname only": channel.assertion(sign_no, verified_by="realname"),
        "expired": channel.assertion(sign_no, iat=now - 400, exp=now - 100),
        "another channel's e-card": other.assertion(sign_no),
        "unknown e-card": channel.assertion("no-such-e-card"),
        "wrong audience": channel.assertion(sign_no, aud="https://elsewhere.example"),
        "not a JWT": "not-a-jwt",
    }
    for case, assertion in cases.items():
        refused = certify(web, own, assertion)
        assert refused.status_code == 403, case
        assert refused.json["type"].endswith("/certification-refused"), case
    replayed = channel.assertion(sign_no)
    assert certify(web, own, replayed).status_code == 201
    assert rows(provider, father.person_id)[0].evidence["acr"] == "urn:essc:acr:face"


def test_a_retry_gets_the_same_certification(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person
) -> None:
    own = channel.token(app, father)
    assertion = channel.assertion(channel.ecard(father))
    first = certify(web, own, assertion)
    again = certify(web, own, assertion)  # the same body, its assertion already used
    assert first.status_code == 201 and again.status_code == 200
    assert again.json == first.json
    assert len(rows(provider, father.person_id)) == 1
