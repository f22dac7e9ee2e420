"""Hostile input for the certification endpoints: a clear problem (or an RFC 6750 error for a
token that does not verify), never a 500, and nothing written. The body parsers also run on
bounded hypothesis input: a parse succeeds or raises a 422 problem."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlalchemy import select

from idp.errors import Problem
from idp.family.pension_formats import parse_certify
from idp.family.pension_formats import parse_lookup
from idp.provider import Provider
from idp.store.pension import PensionCertification
from idp.store.security import AuditEvent
from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.helpers import bearer
from tests.pension.helpers import CERTIFY
from tests.pension.helpers import STATUS
from tests.pension.test_states import Service

JSON_TYPE = {"Content-Type": "application/json"}
BODIES: list[Any] = [
    None,
    [],
    "x",
    7,
    {},
    {"assertion": ""},
    {"assertion": "   "},
    {"assertion": 7},
    {"assertion": ["a"]},
    {"assertion": "x" * 4097},
    {"assertion": "a.b.c", "extra": 1},
    {"assertion": "a.b.c", "pin": "802413"},
]
LOOKUPS: list[Any] = [
    None,
    {},
    {"id_number": 110105},
    {"id_number": "110105195003010017"},
    {"id_number": "１１0105195003010016"},
    {"id_number": "x" * 33},
    {"id_number": "110105195003010016\x00"},
    {"id_number": "110105195003010016", "name": "李"},
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def written(provider: Provider) -> tuple[int, int]:
    with provider.db.transaction() as s:
        rows = s.scalar(select(func.count()).select_from(PensionCertification))
        events = s.scalar(select(func.count()).where(AuditEvent.event == "pension.certified"))
        return int(rows or 0), int(events or 0)


def test_hostile_certification_bodies(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person
) -> None:
    own = channel.token(app, father)
    channel.ecard(father)
    for body in BODIES:
        answer = web.post(CERTIFY, data=json.dumps(body), headers=JSON_TYPE | bearer(own))
        assert answer.status_code == 422, (body, answer.get_data(as_text=True))
        assert answer.content_type == "application/problem+json"
        assert "field" in answer.json
    for data, kind in [(b"{", "application/json"), (b"\xff\xfe", "application/json")]:
        answer = web.post(CERTIFY, data=data, content_type=kind, headers=bearer(own))
        assert answer.status_code == 400 and answer.json["type"].endswith("/malformed-json")
    form = web.post(CERTIFY, data="assertion=x", headers=bearer(own))
    assert form.status_code == 415
    huge = web.post(CERTIFY, data=b"[" * 9000, content_type="application/json")
    assert huge.status_code in (401, 413)  # no token is checked before the body is read
    assert web.post(CERTIFY, json={"assertion": "a.b.c"}).status_code == 401
    for header in ("Bearer", "Bearer x.y.z", "Basic eA==", "Bearer " + "a" * 5000):
        answer = web.post(CERTIFY, json={"assertion": "a"}, headers={"Authorization": header})
        assert answer.status_code in (400, 401), header
    assert written(provider) == (0, 0)


def test_hostile_status_lookups(app: Any, web: Any, provider: Provider) -> None:
    token = Service(web, provider).token()
    for body in LOOKUPS:
        answer = web.post(STATUS, data=json.dumps(body), headers=JSON_TYPE | bearer(token))
        # A NUL byte is refused by the I-JSON reader (400) before the parser sees it.
        assert answer.status_code in (400, 422), (body, answer.get_data(as_text=True))
        assert answer.content_type == "application/problem+json"
        assert "110105" not in answer.get_data(as_text=True)


@pytest.mark.parametrize("parse", [parse_certify, parse_lookup])
@settings(max_examples=200, deadline=None)
@given(body=JSON)
def test_the_parsers_refuse_with_a_problem(parse: Any, body: Any) -> None:
    try:
        parse(body)
    except Problem as problem:
        assert problem.status == 422 and "field" in problem.extensions
