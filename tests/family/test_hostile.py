"""Hostile input for every family endpoint and the token exchange: a clear error (problem JSON,
or RFC 6749/6750 for tokens), never a 500, and nothing written. The body parsers are also run
on bounded hypothesis input: a parse either succeeds or raises a 422 problem."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlalchemy import select

from channels.client import TOKEN_EXCHANGE
from idp.errors import Problem
from idp.family.formats import parse_add
from idp.family.formats import parse_consent
from idp.provider import Provider
from idp.store.family import FamilyRelationship
from idp.store.family import FamilySlots
from idp.store.security import AuditEvent
from tests.family.helpers import ACCESS
from tests.family.helpers import PIN
from tests.family.helpers import PREFIX
from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.helpers import ask
from tests.family.helpers import bearer
from tests.family.helpers import consent

GOOD_ID = "110105195003010016"
ADD_BODIES: list[Any] = [
    [],
    "x",
    None,
    {},
    {"principal": "x", "relationship": "parent"},
    {"principal": {}, "relationship": "parent"},
    {"principal": {"id_number": GOOD_ID}, "relationship": "parent"},
    {"principal": {"id_number": GOOD_ID, "name": ""}, "relationship": "parent"},
    {"principal": {"id_number": GOOD_ID, "name": "x" * 65}, "relationship": "parent"},
    {"principal": {"id_number": GOOD_ID, "name": 7}, "relationship": "parent"},
    {"principal": {"id_number": "110105195003010017", "name": "李"}, "relationship": "parent"},
    {"principal": {"id_number": "１１0105195003010016", "name": "李"}, "relationship": "parent"},
    {"principal": {"id_number": GOOD_ID, "name": "李", "x": 1}, "relationship": "parent"},
    {"principal": {"id_number": GOOD_ID, "name": "李"}, "relationship": "boss"},
    {"principal": {"id_number": GOOD_ID, "name": "李"}, "relationship": ["parent"]},
    {"principal": {"id_number": GOOD_ID, "name": "李"}, "relationship": "parent", "powers": []},
    {"principal": {"id_number": GOOD_ID, "name": "李"}, "relationship": "parent", "powers": "pay"},
    {"principal": {"id_number": GOOD_ID, "name": "李"}, "relationship": "parent", "powers": [1]},
    {
        "principal": {"id_number": GOOD_ID, "name": "李"},
        "relationship": "parent",
        "powers": ["view_card", "view_card"],
    },
    {"principal": {"id_number": GOOD_ID, "name": "李"}, "relationship": "parent", "extra": 1},
]
CONSENT_BODIES: list[Any] = [
    [],
    {},
    {"assertion": "a.b.c"},
    {"assertion": "a.b.c", "pin": PIN},
    {"assertion": "a.b.c", "pin": 802413, "powers": ["view_card"]},
    {"assertion": "", "pin": PIN, "powers": ["view_card"]},
    {"assertion": "x" * 5000, "pin": PIN, "powers": ["view_card"]},
    {"assertion": "a.b.c", "pin": PIN, "powers": ["view_card"], "valid_days": 0},
    {"assertion": "a.b.c", "pin": PIN, "powers": ["view_card"], "valid_days": 1.5},
    {"assertion": "a.b.c", "pin": PIN, "powers": ["view_card"], "valid_days": True},
    {"assertion": "a.b.c", "pin": PIN, "powers": ["view_card"], "valid_days": 10**9},
    {"assertion": "a.b.c", "pin": PIN, "powers": ["view_card"], "other": 1},
    {"assertion": "a.b.c", "pin": "1" * 33, "powers": ["view_card"]},
]


def footprint(provider: Provider) -> tuple[int, int, int]:
    with provider.db.read() as s:
        rows = s.scalar(select(func.count()).select_from(FamilyRelationship))
        slots = s.scalar(select(func.coalesce(func.sum(FamilySlots.as_agent), 0)))
        events = s.scalar(select(func.count()).where(AuditEvent.event.like("family.%")))
        return int(rows or 0), int(slots or 0), int(events or 0)


def check(response: Any, status: int | None = None) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.status_code >= 400
    if status is not None:
        assert response.status_code == status, response.get_data(as_text=True)


@pytest.fixture
def own(app: Any, channel: Channel, daughter: Person) -> str:
    return channel.token(app, daughter)


def test_hostile_requests(web: Any, provider: Provider, own: str) -> None:
    before = footprint(provider)
    for body in ADD_BODIES:
        response = web.post(PREFIX + "/relationships", json=body, headers=bearer(own))
        check(response, 422 if isinstance(body, dict | list) or body else None)
        assert response.content_type == "application/problem+json"
    for data, kind in [
        (b"{", "application/json"),
        (b'{"a":1,"a":2}', "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"[" * 5000, "application/json"),
        (b"{}", "text/plain"),
        (b"x" * 9000, "application/json"),
    ]:
        response = web.post(
            PREFIX + "/relationships", data=data, content_type=kind, headers=bearer(own)
        )
        check(response)
        assert response.status_code in (400, 413, 415)
    assert footprint(provider) == before


def test_hostile_tokens(web: Any, provider: Provider, father: Person) -> None:
    before = footprint(provider)
    body = {
        "principal": {"id_number": father.id_number, "name": father.name},
        "relationship": "parent",
    }
    for headers in [
        {},
        {"Authorization": "Bearer"},
        bearer("x.y.z"),
        {"Authorization": "Basic eA=="},
    ]:
        for method, path in [
            ("post", "/relationships"),
            ("get", "/relationships"),
            ("get", "/history"),
            ("get", "/acting/card"),
            ("post", "/acting/qr-codes"),
            ("post", f"/relationships/{uuid.uuid4()}/end"),
        ]:
            response = getattr(web, method)(PREFIX + path, json=body, headers=headers)
            check(response)
            assert response.status_code in (400, 401)
    assert footprint(provider) == before


def test_hostile_consents(
    web: Any, provider: Provider, channel: Channel, own: str, father: Person
) -> None:
    rel_id = ask(web, own, father).json["id"]
    before = footprint(provider)
    for body in CONSENT_BODIES:
        response = web.post(f"{PREFIX}/relationships/{rel_id}/consent", json=body)
        check(response, 422)
    for path_id in ["x", "../../etc", str(uuid.uuid4()), rel_id.upper(), "%00", "9" * 300]:
        response = web.post(
            f"{PREFIX}/relationships/{path_id}/consent",
            json={"assertion": "a.b.c", "pin": PIN, "powers": ["view_card"]},
        )
        check(response, 404)
        response = web.post(f"{PREFIX}/relationships/{path_id}/end", headers=bearer(own))
        check(response, 404)
    assert footprint(provider) == before


def test_hostile_token_exchanges(
    app: Any, web: Any, provider: Provider, channel: Channel, own: str
) -> None:
    before = footprint(provider)
    cases: list[dict[str, str | None]] = [
        {"subject_token": None},
        {"subject_token_type": None},
        {"principal": None},
        {"subject_token": "x" * 5000},
        {"principal": "é"},
        {"principal": '"'},
        {"scope": "essc.family.view_card\x00"},
        {"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
        {"resource": "https://rs.example"},
        {"audience": "rs"},
    ]
    for over in cases:
        data: dict[str, str | None] = {
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": own,
            "subject_token_type": ACCESS,
            "principal": "p",
            **channel.client_auth(),
            **over,
        }
        form = {k: v for k, v in data.items() if v is not None}
        response = web.post("/token", data=form, headers=channel.headers())
        check(response, 400)
        assert response.json["error"] == "invalid_request"
    assert footprint(provider) == before


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
KEYS = st.sampled_from(["principal", "relationship", "powers", "id_number", "name", "pin"])
NEAR = st.dictionaries(KEYS | st.sampled_from(["assertion", "valid_days"]), JSON, max_size=5)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON | NEAR)
def test_parsers_accept_or_refuse_with_a_problem(body: Any) -> None:
    for parse in (parse_add, parse_consent):
        try:
            parse(body)
        except Problem as exc:
            assert exc.status == 422 and exc.extensions["field"]


def test_hostile_code_requests_and_delegated_tokens_elsewhere(
    app: Any, web: Any, provider: Provider, channel: Channel, own: str, father: Person
) -> None:
    rel_id = ask(web, own, father).json["id"]
    consent(web, channel, rel_id, channel.ecard(father), ["show_medical_code"])
    ref = web.get(PREFIX + "/relationships", headers=bearer(own)).json["as_agent"][0]
    delegated = channel.exchange(web, own, ref["principal_ref"]).json["access_token"]
    before = footprint(provider)
    for body in [
        [],
        {},
        {"purpose": "transit"},
        {"purpose": "medical", "count": 0},
        {"purpose": "medical", "count": 99},
        {"purpose": 1},
        {"purpose": "medical", "x": 1},
    ]:
        response = web.post(PREFIX + "/acting/qr-codes", json=body, headers=bearer(delegated))
        check(response, 422)
    # A delegated token is no cardholder's own: userinfo and /me refuse it, without a 500.
    check(web.get("/userinfo", headers=bearer(delegated)), 403)
    me = web.post("/api/v1/me/qr-codes", json={"purpose": "medical"}, headers=bearer(delegated))
    check(me, 403)
    assert footprint(provider) == before
