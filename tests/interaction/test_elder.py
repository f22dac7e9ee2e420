"""长辈版 (elderly mode) as one page-level flag (idp.interaction.elder; docs/pages.md): how it
is turned on (the switch, a CSRF-checked POST, and ``ui=elder`` from a channel, which saves
nothing), remembered in the browser and for the cardholder, where the switch goes back to (never
a 405), every HTML page of the url_map having its elder form, and what it changes beyond the
stylesheet (the scan-to-sign-in QR's time, the form_post page)."""

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


SWITCH = re.compile(
    r'<form method="post" action="/ui" class="ui-switch-form">'
    r'<input type="hidden" name="csrf_token" value="([^"]+)">'
    r'<input type="hidden" name="ui" value="([^"]+)">'
    r'<input type="hidden" name="next" value="([^"]*)">'
    r'<button type="submit" class="ui-switch" id="ui-switch">([^<]+)</button></form>'
)


def _switch_of(page: str) -> dict[str, str]:
    found = SWITCH.search(page)
    assert found, "no switch on the page"
    token, ui, target, words = found.groups()
    return {"csrf_token": token, "ui": ui, "next": target, "words": words}


def _tap_switch(web: Any, url: str) -> Any:
    """The citizen's own tap: the switch form of the page at ``url``, posted as drawn."""
    form = _switch_of(_page(web.get(url)))
    return web.post("/ui", data={k: form[k] for k in ("csrf_token", "ui", "next")})


def test_standard_pages_offer_the_switch_and_no_elder_stylesheet(web: Any) -> None:
    page = _page(web.get("/interaction/none/signin"))
    assert not _is_elder(page)
    switch = _switch_of(page)
    assert switch["words"] == "长辈版" and switch["ui"] == "elder"
    assert switch["next"] == "/interaction/none/signin"
    assert web.get_cookie("essc_ui") is None


def test_the_switch_turns_it_on_and_the_cookie_keeps_it(web: Any) -> None:
    tapped = _tap_switch(web, "/my/signin")
    assert tapped.status_code == 303 and tapped.headers["Location"] == "/my/signin"
    assert web.get_cookie("essc_ui").value == "elder"
    again = _page(web.get("/my/signin"))
    assert _is_elder(again), "remembered in the browser"
    assert _switch_of(again)["words"] == "标准版"
    _tap_switch(web, "/my/signin")
    assert web.get_cookie("essc_ui").value == "standard"
    assert not _is_elder(_page(web.get("/my/signin")))


def test_the_switch_keeps_the_rest_of_the_query(web: Any) -> None:
    page = _page(web.get("/my/signin?ui_locales=en&ui=elder"))
    assert _switch_of(page)["next"] == "/my/signin?ui_locales=en"
    assert "Standard" in page and '<html lang="en" class="elder">' in page


def test_a_switch_without_its_csrf_token_changes_nothing(web: Any) -> None:
    form = _switch_of(_page(web.get("/my/signin")))
    for token in ("", "forged"):
        refused = web.post("/ui", data={"csrf_token": token, "ui": "elder", "next": form["next"]})
        assert refused.status_code == 400 and "Location" not in refused.headers
        assert web.get_cookie("essc_ui") is None


def test_the_switch_goes_back_only_to_a_page_of_ours(web: Any) -> None:
    token = _switch_of(_page(web.get("/my/signin")))["csrf_token"]
    hostile = [
        "https://evil.example/",
        "//evil.example/my/signin",
        "/\\evil.example",
        "javascript:alert(1)",
        "my/signin",
        "",
        "/my/signin\n",
        "/" + "a" * 3000,
        "/ui",  # POST only, and no page of its own
    ]
    for target in hostile:
        refused = web.post("/ui", data={"csrf_token": token, "ui": "elder", "next": target})
        assert refused.status_code == 400, target
        assert "Location" not in refused.headers, target
    wrong = web.post("/ui", data={"csrf_token": token, "ui": "large", "next": "/my/signin"})
    assert wrong.status_code == 400
    assert web.get_cookie("essc_ui") is None


def test_a_form_answer_s_switch_goes_back_to_the_form_s_page(web: Any) -> None:
    """A page drawn by a POST to a path without GET (here /my/family/end signed out: its
    sign-in redirect; /logout/confirm's refusal) switches back to a GET page, never a 405."""
    refused = web.post("/logout/confirm", data={})
    assert refused.status_code == 400
    assert _switch_of(_page(refused))["next"] == "/logout"
    token = _switch_of(_page(refused))["csrf_token"]
    tapped = web.post("/ui", data={"csrf_token": token, "ui": "elder", "next": "/my/family/end"})
    assert tapped.status_code == 303 and tapped.headers["Location"] == "/my/family"
    assert web.get(tapped.headers["Location"]).status_code in (200, 303)


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


def test_ui_elder_from_a_channel_carries_it_through_the_flow_and_keeps_nothing(
    web: Any, portal: Any
) -> None:
    location = _signin_location(web, portal, ui="elder")
    assert _is_elder(_page(web.get(location))), "the flow's next page, without the parameter"
    assert web.get_cookie("essc_ui") is None, "a link anyone can send is not the citizen's choice"
    assert _is_elder(_page(web.get("/my/signin")))
    assert not _is_elder(_page(web.get("/my/signin?ui=standard")))


def test_the_choice_is_saved_at_sign_in_and_follows_the_cardholder(
    app: Any, web: Any, provider: Any, portal: Any, cardholder: dict[str, str]
) -> None:
    from tests.support import sign_in

    location = _signin_location(web, portal)
    _tap_switch(web, location)
    assert _saved(provider, cardholder["person_id"]) is None, "not signed in: the browser keeps it"
    assert sign_in(web, location).status_code == 303
    assert _saved(provider, cardholder["person_id"]) == "elder"

    other = app.test_client()  # another browser, which never chose
    signed = sign_in(other, _signin_location(other, portal))
    assert signed.status_code == 303
    assert other.get_cookie("essc_ui").value == "elder"
    assert _is_elder(_page(other.get(signed.headers["Location"])))


def test_a_channel_s_ui_is_not_saved_at_sign_in(
    web: Any, provider: Any, portal: Any, cardholder: dict[str, str]
) -> None:
    from tests.support import sign_in

    location = _signin_location(web, portal, ui="elder")
    assert sign_in(web, location).status_code == 303
    assert _saved(provider, cardholder["person_id"]) is None
    assert web.get_cookie("essc_ui") is None


def test_switching_while_signed_in_saves_it_for_the_cardholder(
    web: Any, provider: Any, portal: Any, cardholder: dict[str, str]
) -> None:
    from tests.support import sign_in

    sign_in(web, _signin_location(web, portal))
    assert _saved(provider, cardholder["person_id"]) is None, "never chose: nothing saved"
    tapped = _tap_switch(web, "/my/authorizations")
    assert tapped.headers["Location"] == "/my/authorizations"
    assert _saved(provider, cardholder["person_id"]) == "elder"
    _tap_switch(web, "/my/authorizations")
    assert _saved(provider, cardholder["person_id"]) == "standard"


def test_a_cross_site_ui_link_does_not_flip_the_saved_choice(
    web: Any, provider: Any, portal: Any, cardholder: dict[str, str]
) -> None:
    """A link to ``?ui=`` from anywhere (an img, a top-level navigation) while signed in
    shows that page in that form, and saves nothing: not the cookie, not the preference."""
    from tests.support import sign_in

    sign_in(web, _signin_location(web, portal))
    _tap_switch(web, "/my/authorizations")
    assert _saved(provider, cardholder["person_id"]) == "elder"
    page = web.get("/my/authorizations?ui=standard", headers={"Sec-Fetch-Site": "cross-site"})
    assert page.status_code == 200 and not _is_elder(_page(page))
    assert _saved(provider, cardholder["person_id"]) == "elder"
    assert web.get_cookie("essc_ui").value == "elder"
    # Its own tap on that page turns the flow's standard back into its choice.
    _tap_switch(web, "/my/authorizations?ui=standard")
    assert _is_elder(_page(web.get("/my/authorizations")))


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


def test_every_post_only_page_s_switch_leads_to_a_get_page(provider: Any) -> None:
    """Every path that answers POST and not GET (its answer may be a page: a form's result or
    its refusal) has a page the switch goes back to, and that page answers GET: the switch
    never leads to a 405 (idp.interaction.elder_return.BACK)."""
    from werkzeug.exceptions import HTTPException

    from idp.app import create_app
    from idp.interaction.elder_return import BACK
    from idp.interaction.elder_return import page_of

    app = create_app(provider.settings.with_overrides(demo=True), provider=provider)
    adapter = app.url_map.bind("localhost")
    browser = ("/authorize", "/interaction/", "/demo", "/logout", "/my/", "/ui")
    post_only: set[str] = set()
    for rule in app.url_map.iter_rules():
        built = rule.build({a: "abc-123" for a in rule.arguments}, append_unknown=False)
        assert built is not None
        path = built[1]
        if "POST" not in (rule.methods or set()) or not path.startswith(browser):
            continue
        try:
            adapter.match(path, method="GET")
        except HTTPException:
            post_only.add(rule.endpoint)
            with app.test_request_context(path, method="POST"):
                target = page_of(path, [])
                assert (target is None) == (rule.endpoint == "elder.switch"), rule.endpoint
                if target is not None:
                    adapter.match(target.split("?", 1)[0], method="GET")
    assert post_only - {"elder.switch"} == set(BACK), "every POST-only page is in BACK"


def test_every_html_page_of_the_url_map_has_its_elder_form(
    provider: Any, portal: Any, cardholder: dict[str, str]
) -> None:
    """Every GET route of the app (the demo's too, seeded as ``essc demo`` does) that answers
    HTML, walked from its ``url_map`` as tests/http/test_web_hardening.py walks it, comes in
    the elder form with ``ui=elder`` and in the standard form without it."""
    from idp.app import create_app
    from idp.demo.family import seed_family
    from idp.demo.scan_app import seed_scan_app
    from idp.demo.wallet import seed_wallet
    from tests.my_authorizations.helpers import my_sign_in
    from tests.support import authorize_params
    from tests.support import pkce_pair

    with provider.unit_of_work() as uow:
        provider.demo_data.seed(uow)
    for seed in (seed_wallet, seed_scan_app, seed_family):
        with provider.unit_of_work() as uow:
            seed(provider, uow)
    app = create_app(provider.settings.with_overrides(demo=True), provider=provider)
    web = app.test_client()
    started = web.get("/authorize", query_string=authorize_params(portal, pkce_pair()[1]))
    interaction_id = started.headers["Location"].split("/interaction/", 1)[1].split("/", 1)[0]
    values = {"interaction_id": interaction_id, "client_id": portal.client_id}
    values |= {"who": "daughter", "purpose": "medical"}
    my_sign_in(web)  # 我的授权 and 我的亲情服务 are drawn for a signed-in citizen
    pages = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.endpoint == "static":
            continue
        if not set(rule.arguments) <= set(values):
            continue
        built = rule.build({a: values[a] for a in rule.arguments}, append_unknown=False)
        assert built is not None
        elder = web.get(built[1], query_string={"ui": "elder"})
        if 300 <= elder.status_code < 400:  # on to another page, walked itself
            continue
        if elder.mimetype != "text/html" or elder.status_code >= 500:
            assert elder.status_code < 500, (rule.rule, elder.status_code)
            continue
        assert _is_elder(_page(elder)), rule.rule
        standard = web.get(built[1], query_string={"ui": "standard"})
        assert not _is_elder(_page(standard)), rule.rule
        pages.add(rule.endpoint)
    expected = {"authorize.signin", "scan_signin_pc.page", "logout.logout", "my_family.page"}
    expected |= {"my_authorizations.page"}
    expected |= {"my_authorizations.signin", "demo.home", "demo_phone.phone", "demo_phone.ride"}
    expected |= {"demo_phone.code", "demo_family.phone", "demo_scan_phone.start"}
    expected |= {"demo.callback", "demo_family.callback"}  # a reloaded callback: an error page
    assert expected <= pages, expected - pages
