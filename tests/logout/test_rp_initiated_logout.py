"""OpenID Connect RP-Initiated Logout 1.0 at ``/logout`` (idp.logout)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from idp.provider import Provider
from tests.support import authorize_params
from tests.support import basic
from tests.support import exchange
from tests.support import obtain_code
from tests.support import pkce_pair
from tests.support import query_of
from tests.support import register

BACK = "https://rp.example/signed-out"


@pytest.fixture
def rp(provider: Provider) -> Any:
    return register(provider, post_logout_redirect_uris=[BACK])


def _sign_in(web: Any, rp: Any) -> dict[str, Any]:
    code, verifier = obtain_code(web, rp)
    tokens = exchange(web, rp, code, verifier)
    assert tokens.status_code == 200, tokens.json
    body: dict[str, Any] = tokens.json
    return body


def _session_over(web: Any, rp: Any, tokens: dict[str, Any]) -> None:
    _, challenge = pkce_pair()
    query = authorize_params(rp, challenge, prompt="none")
    answer = query_of(web.get("/authorize", query_string=query).headers["Location"])
    assert answer["error"] == "login_required"
    introspected = web.post(
        "/introspect",
        data={"token": tokens["refresh_token"]},
        headers=basic(rp.client_id, rp.client_secret),
    )
    assert introspected.json == {"active": False}


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def test_discovery_names_the_end_session_endpoint(web: Any) -> None:
    metadata = web.get("/.well-known/openid-configuration").json
    assert metadata["end_session_endpoint"] == "http://localhost/logout"


def test_a_hint_logs_out_and_returns_with_state(
    web: Any, cardholder: Any, rp: Any, provider: Provider
) -> None:
    tokens = _sign_in(web, rp)
    params = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": BACK, "state": "s1"}
    response = web.get("/logout", query_string=params)
    assert response.status_code == 303
    assert response.headers["Location"] == f"{BACK}?state=s1"
    assert "essc_session=;" in response.headers.get("Set-Cookie", "")
    _session_over(web, rp, tokens)


def test_an_expired_hint_still_counts(web: Any, cardholder: Any, rp: Any, clock: Any) -> None:
    tokens = _sign_in(web, rp)
    clock.advance(7200)  # past the ID token's exp, within the session
    params = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": BACK}
    response = web.post("/logout", data=params)
    assert response.status_code == 303 and response.headers["Location"] == BACK


def test_without_a_hint_the_citizen_confirms(web: Any, cardholder: Any, rp: Any) -> None:
    tokens = _sign_in(web, rp)
    params = {"client_id": rp.client_id, "post_logout_redirect_uri": BACK, "state": "s2"}
    page = web.get("/logout", query_string=params, headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "退出登录" in page.get_data(as_text=True)
    # Nothing ended yet: the session still signs in silently.
    obtain_code(web, rp, prompt="none")
    form = {**params, "csrf_token": _csrf(page.get_data(as_text=True))}
    response = web.post("/logout/confirm", data=form)
    assert response.status_code == 303 and response.headers["Location"] == f"{BACK}?state=s2"
    _session_over(web, rp, tokens)


def test_the_confirmation_in_english_and_without_csrf_refused(
    web: Any, cardholder: Any, rp: Any
) -> None:
    _sign_in(web, rp)
    page = web.get("/logout", query_string={"ui_locales": "en"}).get_data(as_text=True)
    assert "Sign out of the e-SSC?" in page
    refused = web.post("/logout/confirm", data={"csrf_token": "forged"})
    assert refused.status_code == 400
    obtain_code(web, rp, prompt="none")  # still signed in


def test_a_hint_for_another_session_asks(web: Any, app: Any, cardholder: Any, rp: Any) -> None:
    other = _sign_in(app.test_client(), rp)
    _sign_in(web, rp)
    page = web.get("/logout", query_string={"id_token_hint": other["id_token"]})
    assert page.status_code == 200 and "csrf_token" in page.get_data(as_text=True)


def test_an_unregistered_uri_is_a_page_not_a_redirect(web: Any, cardholder: Any, rp: Any) -> None:
    tokens = _sign_in(web, rp)
    for uri in ("https://evil.example/", BACK + "/", rp.redirect_uri):
        params = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": uri}
        response = web.get("/logout", query_string=params)
        assert response.status_code == 400 and "Location" not in response.headers
        assert "未登记" in response.get_data(as_text=True)
    obtain_code(web, rp, prompt="none")  # nothing ended


@pytest.mark.parametrize(
    "hint",
    ["not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.eyJhdWQiOiJ4In0.", "x" * 5000],
)
def test_a_forged_hint_is_an_error_page(web: Any, cardholder: Any, rp: Any, hint: str) -> None:
    _sign_in(web, rp)
    params = {"id_token_hint": hint, "post_logout_redirect_uri": BACK}
    response = web.get("/logout", query_string=params)
    assert response.status_code == 400 and "Location" not in response.headers
    obtain_code(web, rp, prompt="none")


def test_a_tampered_hint_is_an_error_page(web: Any, cardholder: Any, rp: Any) -> None:
    token = _sign_in(web, rp)["id_token"]
    head, body, sig = token.split(".")
    forged = f"{head}.{body}.{sig[:-4]}AAAA"
    response = web.get("/logout", query_string={"id_token_hint": forged})
    assert response.status_code == 400 and "Location" not in response.headers


def test_a_client_id_that_is_not_the_hints_audience(
    web: Any, cardholder: Any, rp: Any, portal: Any
) -> None:
    tokens = _sign_in(web, rp)
    params = {"id_token_hint": tokens["id_token"], "client_id": portal.client_id}
    assert web.get("/logout", query_string=params).status_code == 400


def test_no_session_and_no_uri_shows_signed_out(web: Any) -> None:
    response = web.get("/logout")
    assert response.status_code == 200 and "已退出" in response.get_data(as_text=True)


def test_a_second_logout_of_the_same_session_changes_nothing(
    web: Any, cardholder: Any, rp: Any, provider: Provider
) -> None:
    from sqlalchemy import func
    from sqlalchemy import select

    from idp.logout.service import end_session
    from idp.store.grants import BrowserSession
    from idp.store.security import AuditEvent

    _sign_in(web, rp)
    with provider.db.transaction() as s:
        row = s.scalars(select(BrowserSession)).one()
        assert end_session(s, row, now=provider.now(), client_id=None)
        assert not end_session(s, row, now=provider.now(), client_id=None)
    # Audit records are chained and inserted when the transaction commits (idp.events.audit).
    with provider.db.read() as s:
        logouts = select(func.count()).where(AuditEvent.event == "session.logout")
        assert s.scalar(logouts) == 1


@pytest.mark.parametrize("uri", ["http://rp.example/out", "https://rp.example/out#x", "/out"])
def test_post_logout_uris_are_checked_at_registration(provider: Provider, uri: str) -> None:
    from channels.registration import InvalidClientMetadata

    with pytest.raises(InvalidClientMetadata):
        register(provider, post_logout_redirect_uris=[uri])
