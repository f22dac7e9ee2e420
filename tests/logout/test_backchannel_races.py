"""Back-channel logout exactly once under real concurrency (SQLite and PostgreSQL when configured):
N logouts of one session at once queue one logout token per portal and audit one logout; N codes
for one portal in one session at once leave one ``session_clients`` row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from idp.interaction.browser import SESSION_COOKIE
from idp.provider import Provider
from idp.store.ecards import OutboxMessage
from idp.store.grants import SessionClient
from idp.store.security import AuditEvent
from tests.store.test_races import all_at_once
from tests.support import authorize_params
from tests.support import exchange
from tests.support import obtain_code
from tests.support import pkce_pair
from tests.support import query_of
from tests.support import register

N = 12


def _as_browser(web: Any, cookie: str) -> Any:
    web.set_cookie(SESSION_COOKIE, cookie)
    return web


def _count(provider: Provider, query: Any) -> int:
    with provider.db.read() as s:
        return int(s.scalar(query) or 0)


def test_n_logouts_of_one_session_queue_each_token_once(
    app: Any, web: Any, provider: Provider, cardholder: Any
) -> None:
    portals = [
        register(provider, backchannel_logout_uri=f"https://rp{i}.example/bcl") for i in (1, 2)
    ]
    hint = ""
    for rp in portals:
        code, verifier = obtain_code(web, rp)
        hint = exchange(web, rp, code, verifier).json["id_token"]
    cookie = web.get_cookie(SESSION_COOKIE).value

    def logout(client: Any) -> int:
        response = _as_browser(client, cookie).get("/logout", query_string={"id_token_hint": hint})
        return int(response.status_code)

    assert set(all_at_once(app, [logout] * N)) == {200}
    assert _count(provider, select(func.count()).select_from(OutboxMessage)) == 2
    logouts = select(func.count()).where(AuditEvent.event == "session.logout")
    assert _count(provider, logouts) == 1


def test_n_codes_at_once_leave_one_session_client_row(
    app: Any, web: Any, provider: Provider, cardholder: Any, portal: Any
) -> None:
    obtain_code(web, portal)  # signed in and consented: the next ones need no page
    cookie = web.get_cookie(SESSION_COOKIE).value

    def authorize(client: Any) -> str:
        _, challenge = pkce_pair()
        query = authorize_params(portal, challenge, prompt="none")
        response = _as_browser(client, cookie).get("/authorize", query_string=query)
        return query_of(response.headers["Location"]).get("code", "none")

    codes = all_at_once(app, [authorize] * N)
    assert "none" not in codes and len(set(codes)) == N
    assert _count(provider, select(func.count()).select_from(SessionClient)) == 1
