"""Token exchange refusals: powers not granted, chaining, channels not allowed, tokens of other
clients, and a relationship that expired or whose card stopped."""

from __future__ import annotations

from typing import Any

from idp.provider import Provider
from idp.store.token_store import SqlTokenStore
from tests.family.helpers import PREFIX
from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.helpers import ask
from tests.family.helpers import bearer
from tests.family.helpers import consent
from tests.family.test_flow import active_relationship
from tests.family.test_flow import claims_of
from tests.family.test_flow import introspect
from tests.support import FakeClock


def test_a_scope_not_granted_is_refused(
    app: Any, web: Any, channel: Channel, father: Person, daughter: Person
) -> None:
    own, _, ref = active_relationship(app, web, channel, daughter, father)
    for scope in ("essc.family.pay", "essc.family.pension_certification", "essc.ecard openid"):
        refused = channel.exchange(web, own, ref, scope=scope)
        assert refused.status_code == 400 and refused.json["error"] == "invalid_scope", scope
    narrow = channel.exchange(web, own, ref, scope="essc.family.show_medical_code")
    assert narrow.json["scope"] == "essc.family.show_medical_code"
    card = web.get(PREFIX + "/acting/card", headers=bearer(narrow.json["access_token"]))
    assert card.status_code == 403 and "insufficient_scope" in card.headers["WWW-Authenticate"]


def test_pay_is_off_unless_asked_and_granted(
    app: Any, web: Any, channel: Channel, father: Person, daughter: Person
) -> None:
    own = channel.token(app, daughter)
    asked = ask(web, own, father)
    assert "pay" not in asked.json["requested_powers"]
    refused = consent(web, channel, asked.json["id"], channel.ecard(father), ["view_card", "pay"])
    assert refused.status_code == 422 and refused.json["field"] == "powers"


def test_chaining_is_refused(
    app: Any, web: Any, channel: Channel, father: Person, daughter: Person
) -> None:
    own, _, ref = active_relationship(app, web, channel, daughter, father)
    delegated = channel.exchange(web, own, ref).json["access_token"]
    chained = channel.exchange(web, delegated, ref)
    assert chained.status_code == 400 and chained.json["error"] == "invalid_request"
    assert "delegated" in chained.json["error_description"]
    with_actor = channel.exchange(web, own, ref, actor_token=delegated, actor_token_type="x")
    assert with_actor.status_code == 400
    # Nor can a delegated token manage relationships (no gid: not the principal's own token).
    listing = web.get(PREFIX + "/relationships", headers=bearer(delegated))
    assert listing.status_code == 403  # its scopes are powers, never essc.ecard


def test_only_channels_allowed_token_exchange(
    app: Any, web: Any, provider: Provider, father: Person, daughter: Person
) -> None:
    plain = Channel(provider, exchange=False)
    own, _, ref = active_relationship(app, web, plain, daughter, father)
    refused = plain.exchange(web, own, ref)
    assert refused.status_code == 400 and refused.json["error"] == "unauthorized_client"


def test_another_clients_token_or_principal(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    own, _, ref = active_relationship(app, web, channel, daughter, father)
    other = Channel(provider)
    assert other.exchange(web, own, ref).json["error"] == "invalid_request"
    assert channel.exchange(web, own, "someone-else").json["error"] == "invalid_request"
    fathers = channel.token(app, father)
    own_ref = channel.exchange(web, fathers, ref)  # the father has no relationship as agent
    assert own_ref.status_code == 400
    wrong_type = channel.exchange(web, own, ref, subject_token_type="urn:x")
    assert wrong_type.json["error"] == "invalid_request"
    assert channel.exchange(web, "not.a.jwt", ref).json["error"] == "invalid_request"


def test_expiry_ends_it_by_itself(
    app: Any, web: Any, clock: FakeClock, channel: Channel, father: Person, daughter: Person
) -> None:
    own = channel.token(app, daughter)
    rel_id = ask(web, own, father).json["id"]
    given = consent(web, channel, rel_id, channel.ecard(father), ["view_card"], valid_days=1)
    ref = web.get(PREFIX + "/relationships", headers=bearer(own)).json["as_agent"][0]
    delegated = channel.exchange(web, own, ref["principal_ref"]).json["access_token"]
    assert given.json["expires_at"] == given.json["consented_at"] + 24 * 3600
    clock.advance(24 * 3600)
    assert introspect(web, channel, delegated) == {"active": False}
    fresh = channel.token(app, daughter)
    assert channel.exchange(web, fresh, ref["principal_ref"]).status_code == 400
    listed = web.get(PREFIX + "/relationships", headers=bearer(fresh)).json
    assert listed["as_agent"] == []


def test_a_delegated_token_never_outlives_the_consent(
    app: Any, web: Any, clock: FakeClock, channel: Channel, father: Person, daughter: Person
) -> None:
    own = channel.token(app, daughter)
    rel_id = ask(web, own, father).json["id"]
    consent(web, channel, rel_id, channel.ecard(father), ["view_card"], valid_days=1)
    clock.advance(24 * 3600 - 60)
    fresh = channel.token(app, daughter)
    ref = web.get(PREFIX + "/relationships", headers=bearer(fresh)).json["as_agent"][0]
    answer = channel.exchange(web, fresh, ref["principal_ref"])
    assert answer.json["expires_in"] == 60


def test_revoking_the_agents_own_grant_stops_the_delegated_token(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    own, _, ref = active_relationship(app, web, channel, daughter, father)
    delegated = channel.exchange(web, own, ref).json["access_token"]
    claims = claims_of(delegated)
    assert claims["agid"] == claims_of(own)["gid"]
    with provider.db.transaction() as s:
        SqlTokenStore(s, now=provider.now()).revoke_grant(claims["agid"], "logout", provider.now())
    assert introspect(web, channel, delegated) == {"active": False}
    assert web.get(PREFIX + "/acting/card", headers=bearer(delegated)).status_code == 401
