"""The pension tests' steps: a relationship with chosen powers, its delegated token, and a
certification request with a face assertion."""

from __future__ import annotations

from typing import Any

from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.helpers import ask
from tests.family.helpers import bearer
from tests.family.helpers import consent

CERTIFY = "/api/v1/pension/certifications"
STATE = "/api/v1/pension/certification"
STATUS = "/api/v1/pension/status"


def delegated(
    app: Any, web: Any, channel: Channel, agent: Person, principal: Person, powers: list[str]
) -> tuple[str, str, str, str]:
    """(the agent's delegated token, the relationship id, the agent's own token, and the
    principal's e-card at the channel)."""
    own = channel.token(app, agent)
    asked = ask(web, own, principal, powers=powers)
    assert asked.status_code == 201, asked.get_data(as_text=True)
    sign_no = channel.ecard(principal)
    given = consent(web, channel, asked.json["id"], sign_no, powers)
    assert given.status_code == 200, given.get_data(as_text=True)
    exchanged = channel.exchange(web, own, asked.json["principal_ref"])
    assert exchanged.status_code == 200, exchanged.get_data(as_text=True)
    return exchanged.json["access_token"], asked.json["id"], own, sign_no


def certify(web: Any, token: str, assertion: str) -> Any:
    return web.post(CERTIFY, json={"assertion": assertion}, headers=bearer(token))
