"""One unit of work per browser request (issue 7, item 3): each of /authorize, the sign-in and the
consent pages uses one database transaction, and what it wrote stands or falls as a whole."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from idp.interaction import views
from tests.hostile.common import counts
from tests.support import authorize_params
from tests.support import csrf_of
from tests.support import pkce_pair
from tests.support import query_of
from tests.support import sign_in


class Connections:
    """Counts the connections the requests take from the pool: one per transaction."""

    def __init__(self, provider: Any) -> None:
        self.taken = 0
        event.listen(provider.db.engine.pool, "checkout", self._taken)

    def _taken(self, *_: Any) -> None:
        self.taken += 1

    def during(self, send: Any) -> tuple[Any, int]:
        before = self.taken
        response = send()
        return response, self.taken - before


def test_every_step_of_the_browser_flow_is_one_transaction(
    provider: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    provider.clients.get(portal.client_id)  # the client cache's own read, before counting
    pool = Connections(provider)
    _, challenge = pkce_pair()
    query = authorize_params(portal, challenge)

    start, used = pool.during(lambda: web.get("/authorize", query_string=query))
    assert (start.status_code, used) == (303, 1)
    page, used = pool.during(lambda: web.get(start.headers["Location"]))
    assert (page.status_code, used) == (200, 1)
    signed_in, used = pool.during(lambda: sign_in(web, start.headers["Location"]))
    # The sign-in page and the POST; the POST syncs the browser's 长辈版 choice with the
    # cardholder's in its own transaction (idp.interaction.elder.follow_into_session).
    assert (signed_in.status_code, used) == (303, 2)
    consent_at = signed_in.headers["Location"]
    form = csrf_of(web.get(consent_at).get_data(as_text=True))
    approved, used = pool.during(
        lambda: web.post(consent_at, data={"csrf_token": form, "decision": "approve"})
    )
    assert (approved.status_code, used) == (303, 1)
    again, used = pool.during(lambda: web.get("/authorize", query_string=query))
    assert "code" in query_of(again.headers["Location"]) and used == 1


def test_the_elder_choice_is_saved_in_the_sign_in_s_transaction(
    provider: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    from idp.store.preferences import saved_ui

    provider.clients.get(portal.client_id)
    _, challenge = pkce_pair()
    location = web.get("/authorize", query_string=authorize_params(portal, challenge)).headers[
        "Location"
    ]
    page = web.get(location).get_data(as_text=True)
    pool = Connections(provider)
    switched, used = pool.during(
        lambda: web.post("/ui", data={"csrf_token": csrf_of(page), "ui": "elder", "next": location})
    )
    assert switched.status_code == 303 and used <= 1  # signed out: not even a query
    signed_in, used = pool.during(lambda: sign_in(web, location))
    assert (signed_in.status_code, used) == (303, 2)  # the page, and the POST with the choice
    with provider.db.transaction() as s:
        assert saved_ui(s, cardholder["person_id"]) == "elder"


def test_a_consent_is_not_kept_when_its_code_cannot_be_issued(
    provider: Any, web: Any, cardholder: Any, portal: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, challenge = pkce_pair()
    start = web.get("/authorize", query_string=authorize_params(portal, challenge))
    consent_at = sign_in(web, start.headers["Location"]).headers["Location"]
    form = csrf_of(web.get(consent_at).get_data(as_text=True))
    before = counts(provider)

    def broken(*_: Any, **__: Any) -> str:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(views, "issue_code", broken)
    response = web.post(consent_at, data={"csrf_token": form, "decision": "approve"})
    assert response.status_code == 500
    assert counts(provider) == before  # no consent, no grant, the interaction still open
    monkeypatch.undo()
    approved = web.post(consent_at, data={"csrf_token": form, "decision": "approve"})
    assert "code" in query_of(approved.headers["Location"])
