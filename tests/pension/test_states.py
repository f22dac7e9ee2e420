"""The certification's calendar with injected time: certified, due (the reminder state), then
lapsed; certifying while due starts the next cycle; and the pension service reads the state
by ID number with a client credentials token granting ``essc.pension.read``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from channels.kinds import DEFAULT_SCOPES
from channels.kinds import PENSION_READ_SCOPE
from channels.kinds import ChannelKind
from channels.registration import InvalidClientMetadata
from idp.family import pension_rules as rules
from idp.family.rules import CST
from idp.family.rules import DAY
from idp.provider import Provider
from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.helpers import bearer
from tests.family.helpers import id_number
from tests.pension.helpers import STATE
from tests.pension.helpers import STATUS
from tests.pension.helpers import certify
from tests.support import FakeClock
from tests.support import basic
from tests.support import register


def at(*ymd_hms: int) -> int:
    return int(dt.datetime(*ymd_hms, tzinfo=CST).timestamp())


def test_twelve_calendar_months_in_china_standard_time() -> None:
    assert rules.valid_until(at(2026, 3, 15, 9, 30)) == at(2027, 3, 15, 9, 30)
    assert rules.valid_until(at(2028, 2, 29, 23, 0)) == at(2029, 2, 28, 23, 0)
    assert rules.valid_until(at(2026, 12, 31, 0, 0)) == at(2027, 12, 31, 0, 0)


def test_the_states_at_their_edges() -> None:
    until = at(2027, 3, 15)
    assert rules.state_at(None, until, 30) == rules.State.UNCERTIFIED
    assert rules.state_at(until, until - 30 * DAY - 1, 30) == rules.State.CERTIFIED
    assert rules.state_at(until, until - 30 * DAY, 30) == rules.State.DUE
    assert rules.state_at(until, until - 1, 30) == rules.State.DUE
    assert rules.state_at(until, until, 30) == rules.State.LAPSED


class Service:
    """The pension service's server: a portal-kind client granted ``scope``."""

    def __init__(self, web: Any, provider: Provider, scope: str = "essc.pension.read") -> None:
        self.web = web
        self.client = register(
            provider,
            kind="portal",
            grant_types=("client_credentials",),
            redirect_uris=(),
            scope=scope,
        )

    def token(self) -> str:
        return service_token(self.web, self.client)


def service_token(web: Any, client: Any) -> str:
    answer = web.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers=basic(client.client_id, client.client_secret),
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    token: str = answer.json["access_token"]
    return token


def status(web: Any, token: str | Service, who: Person) -> Any:
    bearer_token = token.token() if isinstance(token, Service) else token
    return web.post(STATUS, json={"id_number": who.id_number}, headers=bearer(bearer_token))


def test_due_then_lapsed_then_certified_again(
    app: Any,
    web: Any,
    provider: Provider,
    clock: FakeClock,
    channel: Channel,
    father: Person,
) -> None:
    service = Service(web, provider)
    assert status(web, service, father).json == {"state": "uncertified"}
    sign_no = channel.ecard(father)
    first = certify(web, channel.token(app, father), channel.assertion(sign_no)).json
    seen = status(web, service, father)
    assert seen.status_code == 200 and seen.json == first and first["state"] == "certified"
    assert father.id_number not in seen.get_data(as_text=True)

    clock.advance(first["valid_until"] - provider.now() - 30 * DAY)
    assert status(web, service, father).json["state"] == "due"
    clock.advance(30 * DAY)
    assert status(web, service, father).json["state"] == "lapsed"
    own = channel.token(app, father)  # the old one expired long ago
    assert web.get(STATE, headers=bearer(own)).json["state"] == "lapsed"

    second = certify(web, own, channel.assertion(sign_no))
    assert second.status_code == 201 and second.json["id"] != first["id"]
    assert status(web, service, father).json["state"] == "certified"


def test_certifying_while_due_starts_the_next_cycle(
    app: Any, web: Any, provider: Provider, clock: FakeClock, channel: Channel, father: Person
) -> None:
    sign_no = channel.ecard(father)
    first = certify(web, channel.token(app, father), channel.assertion(sign_no)).json
    clock.advance(first["valid_until"] - provider.now() - DAY)
    again = certify(web, channel.token(app, father), channel.assertion(sign_no))
    assert again.status_code == 201
    assert again.json["valid_until"] == rules.valid_until(provider.now())


def test_the_service_api_refuses_without_the_scope_or_a_person(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person
) -> None:
    assert web.post(STATUS, json={"id_number": father.id_number}).status_code == 401
    cardholder = channel.token(app, father)
    assert status(web, cardholder, father).status_code == 401  # not a service's token
    refused = status(web, Service(web, provider, scope="openid profile"), father)
    assert refused.status_code == 403 and refused.content_type == "application/problem+json"
    service = Service(web, provider)
    unknown = Person("无此人", id_number("19490101", "099"), "", "")
    missing = status(web, service, unknown)
    assert missing.status_code == 404 and missing.json["type"].endswith("/person-not-found")


def test_only_a_portal_granted_it_holds_the_pension_scope(provider: Provider) -> None:
    assert PENSION_READ_SCOPE not in DEFAULT_SCOPES[ChannelKind.PORTAL]
    with pytest.raises(InvalidClientMetadata):
        register(
            provider, kind="app", grant_types=("client_credentials",), scope="essc.pension.read"
        )
