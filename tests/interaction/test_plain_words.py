"""The ways out of a sign-in a citizen is given (issue 10, item 7): plain-words error pages
that say what to do next, a way back to the portal from every sign-in page (the step-up page
included), the language switch, staying signed in at logout, and the form_post fallback."""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import text as sql

from idp.interaction.assurance import ACR_FACE
from idp.interaction.i18n import NEXT_STEP
from idp.provider import Provider
from tests.support import authorize_params
from tests.support import basic
from tests.support import csrf_of
from tests.support import obtain_code
from tests.support import pkce_pair
from tests.support import query_of
from tests.support import register

ESSENTIAL_FACE = json.dumps({"id_token": {"acr": {"essential": True, "values": [ACR_FACE]}}})
PHISHING_WARNING = "请不要在这里输入密码"


def _page(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _signin_location(web: Any, client: Any, **extra: str) -> str:
    _, challenge = pkce_pair()
    response = web.get("/authorize", query_string=authorize_params(client, challenge, **extra))
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    location: str = response.headers["Location"]
    assert location.endswith("/signin"), location
    return location


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"client_id": "no-such-portal"}, "没有在电子社保卡登记，不能用电子社保卡登录"),
        ({"redirect_uri": "https://phish.example/cb"}, "登录后要返回的网址没有在电子社保卡登记"),
    ],
)
def test_an_unknown_portal_or_return_address_warns_against_typing_the_pin(
    web: Any, portal: Any, change: dict[str, str], words: str
) -> None:
    _, challenge = pkce_pair()
    response = web.get("/authorize", query_string={**authorize_params(portal, challenge), **change})
    page = _page(response)
    assert response.status_code == 400 and "Location" not in response.headers
    assert words in page and PHISHING_WARNING in page
    assert "invalid_request" not in page and "phish.example" not in page


def test_the_error_page_follows_the_requests_ui_locales(web: Any, portal: Any) -> None:
    _, challenge = pkce_pair()
    params = {**authorize_params(portal, challenge), "client_id": "nobody", "ui_locales": "en"}
    page = _page(web.get("/authorize", query_string=params))
    assert '<html lang="en">' in page and "Do not enter your PIN here." in page


def test_a_used_pushed_request_says_to_start_again(web: Any, portal: Any) -> None:
    _, challenge = pkce_pair()
    pushed = web.post(
        "/par",
        data=authorize_params(portal, challenge),
        headers=basic(portal.client_id, portal.client_secret),
    )
    query = {"client_id": portal.client_id, "request_uri": pushed.get_json()["request_uri"]}
    assert web.get("/authorize", query_string=query).status_code == 303
    again = web.get("/authorize", query_string=query)
    assert again.status_code == 400 and "这个登录链接已经用过或已经过期" in _page(again)


def test_every_error_page_with_a_next_step_shows_it(web: Any) -> None:
    page = _page(web.get("/interaction/no-such-thing/signin"))
    assert NEXT_STEP["expired"] in page and "您可以这样做" in page


def test_cancel_goes_back_to_the_portal_once_as_access_denied(
    web: Any, cardholder: Any, portal: Any, provider: Provider
) -> None:
    location = _signin_location(web, portal, state="st-9")
    page = _page(web.get(location))
    cancel = location.replace("/signin", "/cancel")
    assert f'action="{cancel}"' in page and "取消，返回网站" in page
    refused = web.post(cancel, data={"csrf_token": "forged"})
    assert refused.status_code == 400
    answer = web.post(cancel, data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 303
    query = query_of(answer.headers["Location"])
    assert query["error"] == "access_denied" and query["state"] == "st-9"
    again = web.post(cancel, data={"csrf_token": csrf_of(page)})
    assert again.status_code == 400, "the interaction ended: a second tap changes nothing"
    assert web.get(location).status_code == 400
    with provider.db.engine.connect() as conn:
        events = conn.execute(
            sql("SELECT count(*) FROM audit_events WHERE event = 'signin.cancelled'")
        )
        assert events.scalar_one() == 1


def test_the_step_up_page_is_no_dead_end(web: Any, cardholder: Any, portal: Any) -> None:
    location = _signin_location(web, portal, claims=ESSENTIAL_FACE)
    page = _page(web.get(location))
    assert 'name="pin"' not in page
    assert 'id="scan"' in page and 'id="cancel"' in page
    answer = web.post(location.replace("/signin", "/cancel"), data={"csrf_token": csrf_of(page)})
    assert query_of(answer.headers["Location"])["error"] == "access_denied"


def test_the_language_switch_is_remembered_by_the_browser(
    web: Any, cardholder: Any, portal: Any
) -> None:
    location = _signin_location(web, portal)
    chinese = _page(web.get(location))
    assert f'href="{location}?lang=en"' in chinese and ">English</a>" in chinese
    english = _page(web.get(location + "?lang=en"))
    assert '<html lang="en">' in english and ">中文</a>" in english
    later = _signin_location(web, portal)  # a new request, no ui_locales: the choice stands
    assert '<html lang="en">' in _page(web.get(later))
    back = _page(web.get(later + "?lang=zh-CN"))
    assert '<html lang="zh-CN">' in back
    ignored = _page(web.get(later + "?lang=xx"))
    assert '<html lang="zh-CN">' in ignored, "an unknown switch value changes nothing"


def test_logout_can_stay_signed_in(web: Any, cardholder: Any, provider: Provider) -> None:
    back = "https://rp.example/signed-out"
    rp = register(provider, post_logout_redirect_uris=[back])
    obtain_code(web, rp)
    params = {"client_id": rp.client_id, "post_logout_redirect_uri": back, "state": "s3"}
    page = _page(web.get("/logout", query_string=params))
    assert 'value="stay"' in page and "不退出，保持登录" in page
    form = {**params, "csrf_token": csrf_of(page), "decision": "stay"}
    response = web.post("/logout/confirm", data=form)
    assert response.status_code == 303 and response.headers["Location"] == f"{back}?state=s3"
    assert "essc_session=;" not in response.headers.get("Set-Cookie", "")
    obtain_code(web, rp, prompt="none")  # still signed in


def test_staying_without_a_return_address_says_so(web: Any, cardholder: Any, portal: Any) -> None:
    obtain_code(web, portal)
    page = _page(web.get("/logout"))
    stayed = web.post("/logout/confirm", data={"csrf_token": csrf_of(page), "decision": "stay"})
    assert stayed.status_code == 200 and "您仍处于登录状态" in _page(stayed)
    obtain_code(web, portal, prompt="none")


def test_the_form_post_fallback_speaks_the_page_language(web: Any, portal: Any) -> None:
    _, challenge = pkce_pair()
    params = {
        **authorize_params(portal, challenge),
        "response_mode": "form_post",
        "ui_locales": "en",
        "prompt": "none",
    }
    page = _page(web.get("/authorize?" + urlencode(params)))
    assert '<html lang="en">' in page
    assert "<noscript>" in page and ">Continue</button>" in page
