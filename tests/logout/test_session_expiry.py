"""A session that times out ends as a logout does (idp.logout.expiry, Back-Channel Logout 1.0
2.5): its grants end and each portal it touched gets a logout token, once, even with two
sweepers at once (SQLite and PostgreSQL when configured)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from idp.logout.expiry import end_timed_out_sessions
from idp.provider import Provider
from idp.store.ecards import OutboxMessage
from idp.store.grants import BrowserSession
from idp.store.security import AuditEvent
from tests.store.test_races import all_at_once
from tests.support import basic
from tests.support import exchange
from tests.support import obtain_code
from tests.support import register


def _count(provider: Provider, query: Any) -> int:
    with provider.db.read() as s:
        return int(s.scalar(query) or 0)


def _signed_into_two_portals(web: Any, provider: Provider) -> tuple[Any, dict[str, Any]]:
    listening = register(provider, backchannel_logout_uri="https://rp1.example/bcl")
    silent = register(provider)
    tokens = {}
    for rp in (listening, silent):
        code, verifier = obtain_code(web, rp)
        tokens = exchange(web, rp, code, verifier).json
    return silent, tokens


def _sweep(provider: Provider) -> int:
    with provider.db.transaction() as s:
        return end_timed_out_sessions(s, provider.now())


def test_a_timed_out_session_sends_its_logout_token_and_ends_its_grants(
    web: Any, provider: Provider, cardholder: Any, clock: Any
) -> None:
    silent, tokens = _signed_into_two_portals(web, provider)
    assert _sweep(provider) == 0, "a live session is left alone"
    clock.advance(provider.settings.session_ttl + 1)
    assert _sweep(provider) == 1
    assert _sweep(provider) == 0, "once"
    messages = _count(provider, select(func.count()).select_from(OutboxMessage))
    assert messages == 1, "one token, to the portal with a back-channel logout URI"
    introspected = web.post(
        "/introspect",
        data={"token": tokens["refresh_token"]},
        headers=basic(silent.client_id, silent.client_secret),
    )
    assert introspected.json == {"active": False}
    expired = select(func.count()).where(AuditEvent.event == "session.expired")
    assert _count(provider, expired) == 1
    with provider.db.read() as s:
        row = s.scalars(select(BrowserSession)).one()
        assert row.ended_at == row.expires_at


def test_two_sweepers_at_once_end_each_session_once(
    app: Any, web: Any, provider: Provider, cardholder: Any, clock: Any
) -> None:
    _signed_into_two_portals(web, provider)
    clock.advance(provider.settings.session_ttl + 1)
    ended = all_at_once(app, [lambda _: _sweep(provider)] * 6)
    assert sum(ended) == 1
    assert _count(provider, select(func.count()).select_from(OutboxMessage)) == 1
    expired = select(func.count()).where(AuditEvent.event == "session.expired")
    assert _count(provider, expired) == 1
