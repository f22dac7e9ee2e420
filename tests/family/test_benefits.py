"""The ``query_benefits`` power (issue 11 item 2): with a delegated token carrying it, a relative
reads the principal's pension certification and payments, masked; without it, or once the
relationship ends, the API refuses with RFC 7807 problems; every query is audited naming both
people and shows in the principal's history."""

from __future__ import annotations

from typing import Any

import pytest

from idp.provider import Provider
from idp.store.security import AuditEvent
from tests.family.helpers import PREFIX
from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.helpers import ask
from tests.family.helpers import bearer
from tests.family.helpers import consent
from tests.payments.helpers import add_merchant
from tests.payments.helpers import authorize
from tests.payments.helpers import merchant_headers
from tests.payments.helpers import pay_body
from tests.payments.helpers import payer

PATH = PREFIX + "/acting/benefits"
PROBLEM = "application/problem+json"


@pytest.fixture
def father(provider: Provider, cardholder: dict[str, str]) -> Person:
    """The contract's cardholder 张三: ``tests.payments.helpers.payer`` pays with his card."""
    return Person(
        cardholder["name"],
        cardholder["id_number"],
        cardholder["card_number"],
        cardholder["person_id"],
    )


def relationship(
    app: Any, web: Any, channel: Channel, agent: Person, principal: Person, powers: list[str]
) -> tuple[str, str, str, str]:
    """(agent's own token, relationship id, principal_ref, the principal's e-card here) once
    consented with ``powers``."""
    own = channel.token(app, agent)
    asked = ask(web, own, principal, powers=powers)
    assert asked.status_code == 201, asked.get_data(as_text=True)
    sign_no = channel.ecard(principal)
    given = consent(web, channel, asked.json["id"], sign_no, powers)
    assert given.status_code == 200, given.get_data(as_text=True)
    return own, asked.json["id"], asked.json["principal_ref"], sign_no


def delegated(web: Any, channel: Channel, own: str, ref: str, scope: str) -> str:
    answer = channel.exchange(web, own, ref, scope=scope)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    token: str = answer.json["access_token"]
    return token


def queries(s: Any) -> int:
    found: int = s.query(AuditEvent).filter(AuditEvent.event == "family.benefits_queried").count()
    return found


def problem(answer: Any, status: int, slug: str) -> None:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == PROBLEM
    assert answer.json["type"].endswith("/problems/" + slug)


def test_a_relative_with_the_power_reads_benefits_and_payments_masked(
    app: Any,
    web: Any,
    provider: Provider,
    channel: Channel,
    father: Person,
    daughter: Person,
    cardholder: dict[str, str],
) -> None:
    holder = payer(provider, web, cardholder)
    shop = add_merchant(provider)
    paid = authorize(web, merchant_headers(web, shop), pay_body(holder.code(), 1_234))
    assert paid.status_code == 201, paid.get_data(as_text=True)
    own, rel_id, ref, _ = relationship(
        app, web, channel, daughter, father, ["view_card", "query_benefits"]
    )
    token = delegated(web, channel, own, ref, "essc.family.query_benefits")

    answer = web.get(PATH, headers=bearer(token))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.json
    assert body["acting_for"] == ref
    assert body["pension_certification"] == {"state": "uncertified"}
    (payment,) = body["payments"]
    assert payment["amount_fen"] == 1_234 and payment["currency"] == "CNY"
    assert payment["state"] == "authorized" and payment["refunded_fen"] == 0
    assert set(payment) == {"at", "amount_fen", "currency", "state", "refunded_fen", "merchant"}
    shown = answer.get_data(as_text=True)
    for secret in (paid.json["payment_id"], holder.sign_no, "order-0001", father.id_number):
        assert secret not in shown
    assert father.card_number not in shown

    with provider.db.read() as s:
        (event,) = s.query(AuditEvent).filter(AuditEvent.event == "family.benefits_queried")
        assert event.person_id == father.person_id and event.detail["agent"] == daughter.person_id
        assert event.detail["relationship_id"] == rel_id and event.client_id == channel.client_id
    lines = web.get(PREFIX + "/history", headers=bearer(channel.token(app, father))).json
    assert lines["events"][0]["text"] == "李**（子女）代你查询了待遇和缴费记录"


def test_the_pensioners_own_certification_shows(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    own, _, ref, sign_no = relationship(app, web, channel, daughter, father, ["query_benefits"])
    certified = web.post(
        "/api/v1/pension/certifications",
        json={"assertion": channel.assertion(sign_no)},
        headers=bearer(channel.token(app, father)),
    )
    assert certified.status_code == 201, certified.get_data(as_text=True)
    token = delegated(web, channel, own, ref, "essc.family.query_benefits")
    seen = web.get(PATH, headers=bearer(token)).json["pension_certification"]
    assert seen == {
        "state": "certified",
        "certified_at": certified.json["certified_at"],
        "valid_until": certified.json["valid_until"],
        "method": "self",
    }
    assert seen.get("id") is None


def test_without_the_power_or_a_delegated_token_it_refuses(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    own, _, ref, _ = relationship(app, web, channel, daughter, father, ["view_card"])
    narrow = delegated(web, channel, own, ref, "essc.family.view_card")
    problem(web.get(PATH, headers=bearer(narrow)), 403, "no-power")
    problem(web.get(PATH, headers=bearer(own)), 403, "not-delegated")
    unauthenticated = web.get(PATH)
    assert unauthenticated.status_code == 401 and "WWW-Authenticate" in unauthenticated.headers
    widened = channel.exchange(web, own, ref, scope="essc.family.query_benefits")
    assert widened.status_code == 400 and widened.json["error"] == "invalid_scope"
    with provider.db.read() as s:
        assert queries(s) == 0


def test_once_ended_the_token_reads_nothing(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    own, rel_id, ref, _ = relationship(app, web, channel, daughter, father, ["query_benefits"])
    token = delegated(web, channel, own, ref, "essc.family.query_benefits")
    assert web.get(PATH, headers=bearer(token)).status_code == 200
    ended = web.post(
        f"{PREFIX}/relationships/{rel_id}/end", headers=bearer(channel.token(app, father))
    )
    assert ended.status_code == 200
    problem(web.get(PATH, headers=bearer(token)), 403, "relationship-ended")
    with provider.db.read() as s:
        assert queries(s) == 1
