"""RFC 8693 4.4 ``may_act``: when the subject token or the principal's consent carries one, the
exchange is refused unless the actor (the agent's ``sub`` at this channel, the channel, this
issuer) is the party it names."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from idp.errors import InvalidRequest
from idp.errors import Problem
from idp.family.formats import parse_may_act
from idp.oauth.grants.token_exchange import check_may_act
from idp.provider import Provider
from idp.store.security import AuditEvent
from idp.store.token_store import SqlTokenStore
from tests.family.helpers import PIN
from tests.family.helpers import PREFIX
from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.helpers import ask
from tests.family.test_flow import active_relationship
from tests.family.test_flow import claims_of
from tests.family.test_hostile import JSON

POWERS = ["view_card", "show_medical_code"]
ACTOR = {"sub": "agent-sub", "client_id": "app-1", "iss": "https://idp.example"}


def consent_with(
    web: Any, channel: Channel, rel_id: str, sign_no: str, may_act: Any, **more: Any
) -> Any:
    body = {
        "assertion": channel.assertion(sign_no),
        "pin": PIN,
        "powers": POWERS,
        "may_act": may_act,
        **more,
    }
    return web.post(f"{PREFIX}/relationships/{rel_id}/consent", json=body)


def asked(app: Any, web: Any, channel: Channel, agent: Person, principal: Person) -> str:
    answer = ask(web, channel.token(app, agent), principal)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    rel_id: str = answer.json["id"]
    return rel_id


def principal_ref(web: Any, token: str) -> str:
    listed = web.get(PREFIX + "/relationships", headers={"Authorization": "Bearer " + token})
    ref: str = listed.json["as_agent"][0]["principal_ref"]
    return ref


@pytest.mark.parametrize(
    "may_act",
    [
        {"client_id": "app-1"},
        {"sub": "agent-sub", "client_id": "app-1"},
        {"sub": "agent-sub", "client_id": "app-1", "iss": "https://idp.example"},
        None,
    ],
)
def test_a_may_act_naming_the_actor_lets_it_act(may_act: Any) -> None:
    check_may_act(may_act, ACTOR, "x")


@pytest.mark.parametrize(
    "may_act",
    [
        {"client_id": "app-2"},
        {"sub": "someone-else"},
        {"iss": "https://other.example"},
        {"sub": "agent-sub", "client_id": "app-2"},
        {"email": "a@example.com"},  # a member this server cannot compare: fail closed
        {},
        [],
        "app-1",
        {"client_id": ["app-1"]},
    ],
)
def test_any_other_may_act_refuses(may_act: Any) -> None:
    with pytest.raises(InvalidRequest):
        check_may_act(may_act, ACTOR, "x")


def test_the_principals_may_act_limits_the_agent_to_that_channel(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    other = Channel(provider)
    rel_id = asked(app, web, channel, daughter, father)
    only_here = {"client_id": channel.client_id}
    given = consent_with(web, channel, rel_id, channel.ecard(father), only_here)
    assert given.status_code == 200, given.get_data(as_text=True)

    here = channel.token(app, daughter)
    ok = channel.exchange(web, here, principal_ref(web, here))
    assert ok.status_code == 200, ok.get_data(as_text=True)

    there = other.token(app, daughter)
    refused = other.exchange(web, there, principal_ref(web, there))
    assert refused.status_code == 400
    assert refused.json["error"] == "invalid_request"
    assert "may_act" in refused.json["error_description"]
    with provider.db.read() as s:
        consented = s.query(AuditEvent).filter(AuditEvent.event == "family.consented").one()
        exchanged = s.query(AuditEvent).filter(AuditEvent.event == "family.token_exchanged")
        assert consented.detail["may_act"] == {"client_id": channel.client_id}
        assert [e.client_id for e in exchanged] == [channel.client_id]  # the refusal wrote none


def test_without_may_act_the_agent_may_act_in_any_channel_allowed(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    other = Channel(provider)
    active_relationship(app, web, channel, daughter, father)
    there = other.token(app, daughter)
    assert other.exchange(web, there, principal_ref(web, there)).status_code == 200


@pytest.mark.parametrize(
    ("may_act", "field"),
    [
        ({"client_id": "app-someone-else"}, "may_act.client_id"),
        ({"client_id": ""}, "may_act.client_id"),
        ({"client_id": "x" * 65}, "may_act.client_id"),
        ({"sub": "x"}, "may_act"),
        ({"client_id": "a", "sub": "x"}, "may_act"),
        ("app-1", "may_act"),
        ([], "may_act"),
    ],
)
def test_a_bad_may_act_in_the_consent_is_refused_and_nothing_changes(
    app: Any,
    web: Any,
    provider: Provider,
    channel: Channel,
    father: Person,
    daughter: Person,
    may_act: Any,
    field: str,
) -> None:
    rel_id = asked(app, web, channel, daughter, father)
    answer = consent_with(web, channel, rel_id, channel.ecard(father), may_act)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.json["field"] == field
    with provider.db.read() as s:
        assert s.query(AuditEvent).filter(AuditEvent.event == "family.consented").count() == 0


def test_a_may_act_in_the_subject_token_must_name_the_actor(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    own, _, ref = active_relationship(app, web, channel, daughter, father)
    claims = claims_of(own)
    client = provider.clients.get(channel.client_id)
    assert client is not None
    with provider.db.read() as s:
        grant = SqlTokenStore(s, now=provider.now()).find_grant(claims["gid"])

    def subject_token(may_act: Any) -> str:
        issued = provider.token_services.access_tokens.issue(
            client,
            sub=claims["sub"],
            scopes=tuple(claims["scope"].split()),
            ttl=300,
            grant=grant,
            extra_claims={"may_act": may_act},
        )
        return issued.token

    named = subject_token({"sub": claims["sub"], "client_id": channel.client_id})
    assert channel.exchange(web, named, ref).status_code == 200
    for wrong in ({"sub": "another-agent"}, {"client_id": "app-other"}, {"iss": "x"}, "x"):
        refused = channel.exchange(web, subject_token(wrong), ref)
        assert refused.status_code == 400, wrong
        assert refused.json["error"] == "invalid_request"


MEMBERS = st.sampled_from(["sub", "client_id", "iss", "email", "act"])
VALUES = st.sampled_from(["agent-sub", "app-1", "https://idp.example"]) | st.text(max_size=8)
MAY_ACT = (
    st.none()
    | st.dictionaries(MEMBERS, VALUES | st.integers() | st.lists(VALUES, max_size=2), max_size=4)
    | JSON
)


@settings(max_examples=300, deadline=None)
@given(MAY_ACT)
def test_check_may_act_admits_exactly_the_actor_or_refuses(may_act: Any) -> None:
    """Admitted iff absent, or a non-empty object whose every member is a known one equal to
    the actor's; anything else is ``invalid_request``, never another error."""
    admitted = may_act is None or (
        isinstance(may_act, dict)
        and bool(may_act)
        and all(k in ACTOR and ACTOR[k] == v for k, v in may_act.items())
    )
    try:
        check_may_act(may_act, ACTOR, "x")
    except InvalidRequest:
        assert not admitted
    else:
        assert admitted


@settings(max_examples=300, deadline=None)
@given(MAY_ACT | st.dictionaries(st.just("client_id"), JSON, max_size=1))
def test_parse_may_act_accepts_one_client_id_or_refuses_with_a_problem(value: Any) -> None:
    try:
        parsed = parse_may_act(value)
    except Problem as exc:
        assert exc.status == 422 and exc.extensions["field"] in ("may_act", "may_act.client_id")
    else:
        assert parsed is None or set(parsed) == {"client_id"}
        assert parsed is None or 0 < len(parsed["client_id"]) <= 64
