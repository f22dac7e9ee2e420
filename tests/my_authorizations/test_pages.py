"""The 我的授权 page over HTTP: signed-in only, CSRF, someone else's or malformed ids, a double
revoke, both languages, and a portal's refresh failing after the revoke."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from idp.ecards.requests import parse_issue
from idp.store.grants import BrowserSession
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import channel_of
from tests.ecard_helpers import issue_body
from tests.my_authorizations.helpers import OTHER
from tests.my_authorizations.helpers import audit_count
from tests.my_authorizations.helpers import my_sign_in
from tests.my_authorizations.helpers import page_text
from tests.my_authorizations.helpers import refresh
from tests.my_authorizations.helpers import revoke_form
from tests.my_authorizations.helpers import tokens
from tests.support import add_cardholder
from tests.support import csrf_of
from tests.support import register


def test_not_signed_in_goes_to_the_sign_in_page_and_back(web: Any, cardholder: Any) -> None:
    response = web.get("/my/authorizations?ui_locales=en")
    assert (response.status_code, response.headers["Location"]) == (
        303,
        "/my/signin?ui_locales=en",
    )
    assert web.post("/my/authorizations/revoke", data={}).status_code == 303
    signed_in = my_sign_in(web, locale="en")
    assert signed_in.headers["Location"] == "/my/authorizations?ui_locales=en"
    assert web.get(signed_in.headers["Location"]).status_code == 200


def test_a_wrong_pin_counts_down_as_on_the_portal_sign_in(web: Any, cardholder: Any) -> None:
    wrong = my_sign_in(web, {**OTHER, "card_number": "A00000001", "pin": "000000"})
    assert wrong.status_code == 401
    assert "还可以再试 4 次" in page_text(wrong)


def test_the_page_lists_two_portals_in_plain_words(
    provider: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    second = register(provider, kind="portal", redirect_uris=("https://b.example/cb",))
    my_sign_in(web)
    tokens(web, portal)
    tokens(web, second)
    response = web.get("/my/authorizations")
    page = page_text(response)
    assert page.count('name="kind" value="portal"') == 2
    assert "社保卡卡号（部分隐藏）、卡状态和参保地" in page and "essc.card" not in page
    assert "本设备（当前）" in page and '<html lang="zh-CN">' in page
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    english = page_text(web.get("/my/authorizations?ui_locales=en"))
    assert "Websites and apps you allowed" in english and '<html lang="en">' in english


def test_revoke_needs_the_pages_csrf_token(web: Any, cardholder: Any, portal: Any) -> None:
    my_sign_in(web)
    tokens(web, portal)
    for data in ({}, {"csrf_token": "forged"}):
        response = web.post(
            "/my/authorizations/revoke", data={**data, "kind": "portal", "id": portal.client_id}
        )
        assert response.status_code == 400
        assert "页面已过期" in page_text(response)
    assert 'value="portal"' in page_text(web.get("/my/authorizations")), "still held"


def test_revoke_then_refresh_fails_and_a_second_revoke_says_so(
    provider: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    my_sign_in(web)
    issued = tokens(web, portal)
    first = revoke_form(web, "portal", portal.client_id)
    assert (first.status_code, first.headers["Location"]) == (
        303,
        "/my/authorizations?ui_locales=zh-CN&notice=done",
    )
    assert "已撤销" in page_text(web.get(first.headers["Location"]))
    assert refresh(web, portal, issued["refresh_token"]).json["error"] == "invalid_grant"
    second = revoke_form(web, "portal", portal.client_id)
    assert second.status_code == 200 and "之前已经撤销" in page_text(second)
    assert audit_count(provider, "authorization.revoked") == 1


def test_someone_elses_items_answer_like_no_item(
    provider: Any, app: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    theirs = app.test_client()
    add_cardholder(provider, **OTHER)
    my_sign_in(theirs, OTHER)
    tokens(theirs, portal)
    with provider.db.read() as s:
        their_sid = s.scalar(select(BrowserSession.sid))
    my_sign_in(web)
    answers = [
        revoke_form(web, kind, item)
        for kind, item in (
            ("portal", portal.client_id),
            ("session", str(their_sid)),
            ("session", "no-such-session"),
        )
    ]
    assert {a.status_code for a in answers} == {404}
    bodies = {page_text(a).split("<code>")[0] for a in answers}
    assert len(bodies) == 1, "nothing tells theirs from none"
    assert theirs.get("/my/authorizations").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"kind=portal&id=%ED%A0%80",  # a lone surrogate, UTF-8 encoded
        b"kind=session&id=%00",
        b"kind=ecard&id=" + b"A" * 5000,
        b"kind=%FF&id=x",
        b"kind=portal",
        b"kind=portal&id=%F0%9F%98%80",
    ],
)
def test_malformed_ids_answer_404_never_500(web: Any, cardholder: Any, body: bytes) -> None:
    my_sign_in(web)
    token = csrf_of(web.get("/my/authorizations").get_data(as_text=True))
    response = web.post(
        "/my/authorizations/revoke",
        data=b"csrf_token=" + token.encode() + b"&" + body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 404
    assert "没有找到这一项授权" in page_text(response)


def test_an_ecard_revoke_needs_a_recent_sign_in(
    provider: Any, web: Any, clock: Any, cardholder: Any
) -> None:
    channel = channel_of(provider, add_channel(provider, "wechat").client_id)
    with provider.unit_of_work() as uow:
        issued = provider.ecards.issue(uow, channel, parse_issue(issue_body(provider)))
    my_sign_in(web)
    page = page_text(web.get("/my/authorizations"))
    assert "A0*****01" in page and "A00000001" not in page, "masked card numbers only"
    clock.advance(601)
    stale = revoke_form(web, "ecard", issued.sign_no)
    assert stale.headers["Location"] == "/my/signin?ui_locales=zh-CN&reauth=1"
    assert "解除关联前请再输入一次密码" in page_text(web.get(stale.headers["Location"]))
    my_sign_in(web)
    done = revoke_form(web, "ecard", issued.sign_no)
    assert done.headers["Location"].endswith("notice=ecard")
    assert "A0*****01" not in page_text(web.get("/my/authorizations"))


def test_ending_this_browsers_session_signs_it_out(web: Any, cardholder: Any) -> None:
    my_sign_in(web)
    page = web.get("/my/authorizations").get_data(as_text=True)
    sid = page.split('name="kind" value="session">')[1].split('value="')[1].split('"')[0]
    response = revoke_form(web, "session", sid)
    assert response.status_code == 200 and "您已退出登录" in page_text(response)
    assert web.get("/my/authorizations").status_code == 303
