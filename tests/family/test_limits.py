"""Limits and minors: at most 8 relatives per agent, the configured number of agents per
principal, one live relationship per pair, and minors added by a guardian without consent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from idp.family.formats import AddRequest
from idp.family.rules import DEFAULT_POWERS
from idp.family.service import Family
from idp.provider import Provider
from idp.store.family import FamilyRelationship
from idp.store.family import FamilySlots
from tests.family.helpers import PREFIX
from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.helpers import ask
from tests.family.helpers import bearer
from tests.family.helpers import person
from tests.support import FakeClock


def add(provider: Provider, family: Family, agent: Person, principal: Person, client: str) -> Any:
    wanted = AddRequest(principal.id_number, principal.name, "parent", DEFAULT_POWERS)
    with provider.unit_of_work() as uow:
        return family.request(uow, agent.person_id, client, wanted).id


def live_count(provider: Provider, agent: Person) -> tuple[int, int]:
    with provider.db.read() as s:
        rows = s.scalar(
            select(func.count()).where(
                FamilyRelationship.agent_id == agent.person_id,
                FamilyRelationship.state.in_(("requested", "active")),
            )
        )
        slots = s.get(FamilySlots, agent.person_id)
        return int(rows or 0), slots.as_agent if slots else 0


def test_a_ninth_relative_is_refused(
    app: Any, web: Any, provider: Provider, channel: Channel, daughter: Person
) -> None:
    relatives = [person(provider, 10 + i) for i in range(9)]
    for relative in relatives[:8]:
        add(provider, provider.family, daughter, relative, channel.client_id)
    own = channel.token(app, daughter)
    refused = ask(web, own, relatives[8])
    assert refused.status_code == 409 and refused.json["type"].endswith("/too-many-relatives")
    assert live_count(provider, daughter) == (8, 8)


def test_ending_one_frees_its_slot(
    app: Any, web: Any, provider: Provider, channel: Channel, daughter: Person
) -> None:
    relatives = [person(provider, 10 + i) for i in range(9)]
    ids = [add(provider, provider.family, daughter, r, channel.client_id) for r in relatives[:8]]
    own = channel.token(app, daughter)
    web.post(f"{PREFIX}/relationships/{ids[0]}/end", headers=bearer(own))
    assert ask(web, own, relatives[8]).status_code == 201
    assert live_count(provider, daughter) == (8, 8)


def test_lapsed_requests_free_their_slots(
    app: Any, web: Any, provider: Provider, clock: FakeClock, channel: Channel, daughter: Person
) -> None:
    relatives = [person(provider, 10 + i) for i in range(9)]
    for relative in relatives[:8]:
        add(provider, provider.family, daughter, relative, channel.client_id)
    clock.advance(provider.settings.family_request_seconds)
    own = channel.token(app, daughter)
    assert ask(web, own, relatives[8]).status_code == 201
    assert live_count(provider, daughter) == (1, 1)


def test_a_principal_has_at_most_the_configured_agents(
    provider: Provider, channel: Channel, father: Person
) -> None:
    family = Family(
        cardholders=provider.cardholders,
        assertions=provider.channel_assertions,
        clock=provider.now,
        max_agents=2,
        request_seconds=3600,
    )
    children = [person(provider, 20 + i) for i in range(3)]
    add(provider, family, children[0], father, channel.client_id)
    add(provider, family, children[1], father, channel.client_id)
    try:
        add(provider, family, children[2], father, channel.client_id)
    except Exception as exc:
        assert getattr(exc, "slug", None) == "too-many-agents"
    else:
        raise AssertionError("a third agent was admitted")
    assert live_count(provider, children[2]) == (0, 0)  # nothing half-written


def test_one_live_relationship_per_pair(
    app: Any, web: Any, channel: Channel, father: Person, daughter: Person
) -> None:
    own = channel.token(app, daughter)
    assert ask(web, own, father).status_code == 201
    again = ask(web, own, father, relationship="other")
    assert again.status_code == 409 and again.json["type"].endswith("/relationship-exists")


def test_unknown_principal_or_wrong_name_or_self(
    app: Any, web: Any, channel: Channel, father: Person, daughter: Person
) -> None:
    own = channel.token(app, daughter)
    stranger = Person("李建国", "110105195003010024", "X", "")
    assert ask(web, own, stranger).status_code == 404
    misnamed = Person("李建军", father.id_number, "X", "")
    assert ask(web, own, misnamed).json["type"].endswith("/principal-not-found")
    assert ask(web, own, daughter).status_code == 422


def test_a_minor_is_added_by_a_guardian_without_consent(
    app: Any, web: Any, provider: Provider, channel: Channel, daughter: Person
) -> None:
    son = person(provider, 30, born="20150101", name="李小明")
    own = channel.token(app, daughter)
    refused = ask(web, own, son, relationship="spouse")
    assert refused.status_code == 422 and refused.json["field"] == "relationship"
    added = ask(web, own, son, relationship="child")
    assert added.status_code == 201, added.get_data(as_text=True)
    assert added.json["state"] == "active" and added.json["minor"] is True
    assert added.json["consent_method"] == "guardian"
    exchanged = channel.exchange(web, own, added.json["principal_ref"])
    assert exchanged.status_code == 200
    assert "essc.family.pay" not in exchanged.json["scope"].split()


def test_a_minor_turning_16_needs_their_own_consent(
    app: Any, web: Any, provider: Provider, clock: FakeClock, channel: Channel, daughter: Person
) -> None:
    nearly = person(provider, 31, born="20110301", name="李小华")  # 16 on 2027-03-01
    own = channel.token(app, daughter)
    added = ask(web, own, nearly, relationship="child").json
    assert added["state"] == "active"
    assert added["expires_at"] < provider.now() + 60 * 24 * 3600
    clock.advance(added["expires_at"] - provider.now())
    fresh = channel.token(app, daughter)
    assert channel.exchange(web, fresh, added["principal_ref"]).status_code == 400
    again = ask(web, fresh, nearly, relationship="child")
    assert again.status_code == 201 and again.json["state"] == "requested"
