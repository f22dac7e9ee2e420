"""长辈版 (elderly mode) as one page-level flag (idp.interaction.elder; docs/pages.md): how it
is turned on (``ui=elder``, the switch, the cookie), remembered for the cardholder, and what it
changes beyond the stylesheet (the scan-to-sign-in QR's time, the form_post page)."""

from __future__ import annotations

import html
import re
from typing import Any

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import select

from idp.scan_signin.service import REQUEST_TTL
from idp.store.preferences import CardholderPreference


def _page(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _is_elder(page: str) -> bool:
    return 'class="elder"' in page and "/static/elder.css" in page


def _signin_location(web: Any, portal: Any, **extra: str) -> str:
    from tests.support import authorize_params
    from tests.support import pkce_pair

    response = web.get("/authorize", query_string=authorize_params(portal, pkce_pair()[1], **extra))
    assert response.status_code == 303
    location: str = response.headers["Location"]
    return location


def _saved(provider: Any, person_id: str) -> str | None:
    with provider.db.transaction() as s:
        found: str | None = s.scalar(
            select(CardholderPreference.ui).where(CardholderPreference.person_id == person_id)
        )
        return found


def test_standard_pages_offer_the_switch_and_no_elder_stylesheet(web: Any) -> None:
    page = _page(web.get("/interaction/none/signin"))
    assert not _is_elder(page)
    switch = re.search(r'<a class="ui-switch" id="ui-switch" href="([^"]+)">([^<]+)</a>', page)
    assert switch and switch.group(2) == "长辈版"
    assert switch.group(1) == "/interaction/none/signin?ui=elder"
    assert web.get_cookie("essc_ui") is None


def test_ui_elder_turns_it_on_and_the_cookie_keeps_it(web: Any) -> None:
    first = web.get("/interaction/none/signin?ui=elder")
    assert _is_elder(_page(first))
    assert web.get_cookie("essc_ui").value == "elder"
    again = _page(web.get("/interaction/none/signin"))
    assert _is_elder(again), "remembered without the parameter"
    assert 'href="/interaction/none/signin?ui=standard">标准版</a>' in again
    web.get("/interaction/none/signin?ui=standard")
    assert not _is_elder(_page(web.get("/interaction/none/signin")))


def test_the_switch_keeps_the_rest_of_the_query(web: Any) -> None:
    page = _page(web.get("/my/signin?ui_locales=en&ui=elder"))
    assert 'href="/my/signin?ui_locales=en&ui=standard"' in page
    assert "Standard" in page and '<html lang="en" class="elder">' in page


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.text(max_size=40))
def test_any_other_ui_value_is_ignored(web: Any, value: str) -> None:
    if value in ("elder", "standard"):
        return
    web.delete_cookie("essc_ui")
    response = web.get("/interaction/none/signin", query_string={"ui": value})
    assert response.status_code == 400  # the unknown interaction's page, not a 500
    assert not _is_elder(_page(response))
    assert web.get_cookie("essc_ui") is None


def test_authorize_with_ui_elder_carries_it_to_the_sign_in_page(web: Any, portal: Any) -> None:
    location = _signin_location(web, portal, ui="elder")
    assert web.get_cookie("essc_ui").value == "elder"
    assert _is_elder(_page(web.get(location)))


def test_the_choice_is_saved_at_sign_in_and_follows_the_cardholder(
    app: Any, web: Any, provider: Any, portal: Any, cardholder: dict[str, str]
) -> None:
    from tests.support import sign_in

    location = _signin_location(web, portal, ui="elder")
    assert sign_in(web, location).status_code == 303
    assert _saved(provider, cardholder["person_id"]) == "elder"

    other = app.test_client()  # another browser, which never chose
    signed = sign_in(other, _signin_location(other, portal))
    assert signed.status_code == 303
    assert other.get_cookie("essc_ui").value == "elder"
    assert _is_elder(_page(other.get(signed.headers["Location"])))


def test_switching_while_signed_in_saves_it_for_the_cardholder(
    web: Any, provider: Any, portal: Any, cardholder: dict[str, str]
) -> None:
    from tests.support import sign_in

    sign_in(web, _signin_location(web, portal))
    assert _saved(provider, cardholder["person_id"]) is None, "never chose: nothing saved"
    assert _is_elder(_page(web.get("/my/authorizations?ui=elder")))
    assert _saved(provider, cardholder["person_id"]) == "elder"
    web.get("/my/authorizations?ui=standard")
    assert _saved(provider, cardholder["person_id"]) == "standard"


def test_an_elder_gets_the_scan_to_sign_in_qr_for_twice_as_long_and_is_told(
    web: Any, portal: Any
) -> None:
    location = _signin_location(web, portal)
    scan = location.rsplit("/", 1)[0] + "/scan"
    standard = _page(web.get(scan))
    assert f'data-refresh-in="{REQUEST_TTL - 15}"' in standard
    assert "more-time" not in standard
    elder = _page(web.get(scan + "?ui=elder"))
    assert f'data-refresh-in="{2 * REQUEST_TTL - 15}"' in elder
    minutes = 2 * REQUEST_TTL // 60
    assert f"这个二维码 {minutes} 分钟内有效" in elder
    assert "这是登录用的二维码" in elder and 'id="more-time"' in elder


def test_the_form_post_page_in_elder_form(
    web: Any, portal: Any, cardholder: dict[str, str]
) -> None:
    from tests.support import approve
    from tests.support import sign_in

    location = _signin_location(web, portal, ui="elder", response_mode="form_post")
    consent = sign_in(web, location).headers["Location"]
    page = _page(approve(web, consent))
    assert _is_elder(page) and "正在返回应用" in page
    assert 'action="https://rp.example/cb"' in page
