"""Web hardening (issue 13 item 7): every HTML page of the app, walked from its ``url_map``,
carries a strict Content-Security-Policy (no inline script, ``form-action`` only the issuer and
the client's redirect URI in play, ``frame-ancestors 'none'``), ``no-store`` and the other
headers; a production https instance adds HSTS and ``__Host-`` cookies; and every form of ours,
the demo phones' too, refuses a POST without its CSRF token (while the same POST with it passes
that check).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from idp.app import create_app
from idp.interaction.i18n import text
from idp.provider import Provider
from tests.my_authorizations.helpers import my_sign_in
from tests.support import approve
from tests.support import authorize_params
from tests.support import obtain_code
from tests.support import pkce_pair
from tests.support import sign_in

BAD_FORM = text("zh-CN")["bad_form"]
HTTPS_ISSUER = "https://127.0.0.1:8443"


class Forms(HTMLParser):
    """Each ``<form method=post>`` of a page: its action and its named inputs' values; also
    whether the page holds an inline script or inline event handler or style."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "script" and "src" not in found:
            self.inline.append("<script> without src")
        self.inline += [f"{tag} {k}" for k in found if k.startswith("on") or k == "style"]
        if tag == "form" and found.get("method", "get").lower() == "post":
            self.forms.append((found.get("action", ""), {}))
        if tag in ("input", "button") and self.forms and found.get("name"):
            self.forms[-1][1].setdefault(found["name"], found.get("value", ""))


def parse(page: str) -> Forms:
    forms = Forms()
    forms.feed(page)
    return forms


def directives(policy: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            assert words[0] not in out, f"{words[0]} twice"
            out[words[0]] = words[1:]
    return out


def check_page(label: str, response: Any, allowed_targets: set[str]) -> None:
    """The headers every HTML answer must have; ``allowed_targets``: the redirect URIs
    (without query) of the client in play, the only places besides ourselves a form may go."""
    headers = response.headers
    csp = directives(headers.get("Content-Security-Policy", ""))
    assert csp.get("default-src") == ["'none'"], label
    assert csp.get("script-src") == ["'self'"] and csp.get("style-src") == ["'self'"], label
    assert csp.get("frame-ancestors") == ["'none'"] and csp.get("base-uri") == ["'none'"], label
    sources = csp.get("form-action", [])
    assert sources and sources[0] == "'self'", label
    assert set(sources[1:]) <= allowed_targets, (label, sources)
    for values in csp.values():
        assert not {"*", "'unsafe-inline'", "'unsafe-eval'", "data:"} & set(values) or (
            values == ["'self'", "data:"]  # img-src: the QR code drawn as a data: URI
        ), (label, values)
    assert headers.get("X-Frame-Options") == "DENY", label
    assert headers.get("X-Content-Type-Options") == "nosniff", label
    assert headers.get("Referrer-Policy") == "no-referrer", label
    assert "no-store" in headers.get("Cache-Control", ""), label
    assert parse(response.get_data(as_text=True)).inline == [], label


def placeholder_args(rule: Any, interaction_id: str, client_id: str) -> dict[str, str] | None:
    values = {"interaction_id": interaction_id, "client_id": client_id}
    if not set(rule.arguments) <= set(values):
        return None
    return {name: values[name] for name in rule.arguments}


@pytest.fixture
def demo_app(provider: Provider) -> Flask:
    """Every blueprint, the demo's too (development only: production refuses ESSC_DEMO)."""
    return create_app(provider.settings.with_overrides(demo=True), provider=provider)


def test_every_html_route_carries_the_headers(
    demo_app: Flask, portal: Any, cardholder: Any
) -> None:
    web = demo_app.test_client()
    _, challenge = pkce_pair()
    started = web.get("/authorize", query_string=authorize_params(portal, challenge))
    signin = started.headers["Location"]
    interaction_id = signin.split("/interaction/", 1)[1].split("/", 1)[0]
    targets = {portal.redirect_uri}
    checked: set[str] = set()
    for rule in demo_app.url_map.iter_rules():
        args = placeholder_args(rule, interaction_id, portal.client_id)
        if "GET" not in rule.methods or args is None or rule.endpoint == "static":
            continue
        response = web.get(rule.build(args, append_unknown=False)[1])
        if response.mimetype == "text/html":
            check_page(rule.rule, response, targets)
            checked.add(rule.endpoint)
    # The pages a flow reaches with state: consent, the form_post answer, logout, 我的授权.
    consent = sign_in(web, signin)
    check_page("sign-in answer", consent, targets)
    check_page("consent", web.get(consent.headers["Location"]), targets)
    _, challenge = pkce_pair()
    form_post = web.get(
        "/authorize",
        query_string=authorize_params(portal, challenge, response_mode="form_post", prompt="none"),
    )
    assert form_post.mimetype == "text/html" and 'method="post"' in form_post.get_data(as_text=True)
    check_page("form_post", form_post, targets)
    assert directives(form_post.headers["Content-Security-Policy"])["form-action"] == [
        "'self'",
        portal.redirect_uri,
    ], "the form_post page may post to the redirect URI, and only there"
    check_page("logout", web.get("/logout"), targets)
    my_sign_in(web)
    check_page("my authorizations", web.get("/my/authorizations"), targets)
    pages = {"authorize.signin", "authorize.consent", "scan_signin_pc.page", "logout.logout"}
    pages |= {"my_authorizations.signin", "demo.home", "demo_phone.phone"}
    assert pages <= checked, pages - checked


def test_form_action_names_the_redirect_uri_not_its_whole_site() -> None:
    from idp.interaction.pages import policy

    assert policy("https://rp.example/cb?x=1").endswith("form-action 'self' https://rp.example/cb")
    assert policy("http://[::1]:8080/cb").endswith("form-action 'self' http://[::1]:8080/cb")
    for hostile in ("https://rp.example/cb;script-src *", "https://a@rp.example/", "javascript:x"):
        assert policy(hostile).endswith("form-action 'self'"), hostile
    assert "*" not in policy("https://*.example/cb")


# -- a production https instance -------------------------------------------------------------
def production_web(provider: Provider) -> Any:
    """The app of a production https instance. Its settings are set on the provider after it
    was built: the test database's key ring opens with the development passphrase, which a
    production start refuses (tests/test_production_start.py)."""
    provider.settings = provider.settings.with_overrides(env="production", issuer=HTTPS_ISSUER)
    provider.issuer = HTTPS_ISSUER
    return create_app(provider.settings, provider=provider).test_client()


def host_cookie(response: Any, name: str) -> str:
    found = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"__Host-{name}=")]
    assert len(found) == 1, response.headers.getlist("Set-Cookie")
    cookie = found[0]
    attributes = {a.strip().split("=", 1)[0].lower() for a in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path"} <= attributes and "domain" not in attributes, cookie
    assert re.search(r";\s*Path=/(;|$)", cookie) and "SameSite=Lax" in cookie, cookie
    return cookie


def test_production_pages_have_hsts_and_host_prefixed_cookies(
    provider: Provider, portal: Any, cardholder: Any
) -> None:
    web = production_web(provider)
    _, challenge = pkce_pair()
    started = web.get(
        "/authorize", query_string=authorize_params(portal, challenge), base_url=HTTPS_ISSUER
    )
    location = started.headers["Location"]
    page = web.get(location, base_url=HTTPS_ISSUER)
    assert page.status_code == 200
    assert "max-age=" in page.headers["Strict-Transport-Security"]
    host_cookie(page, "essc_flow")
    signed_in = sign_in(web, location if location.startswith("https") else HTTPS_ISSUER + location)
    assert signed_in.status_code == 303, signed_in.get_data(as_text=True)[:300]
    host_cookie(signed_in, "essc_session")
    for cookie in signed_in.headers.getlist("Set-Cookie"):
        assert cookie.startswith("__Host-"), cookie


def test_development_cookies_keep_their_plain_names(web: Any, portal: Any) -> None:
    _, challenge = pkce_pair()
    started = web.get("/authorize", query_string=authorize_params(portal, challenge))
    page = web.get(started.headers["Location"])
    assert "Strict-Transport-Security" not in page.headers
    assert any(c.startswith("essc_flow=") for c in page.headers.getlist("Set-Cookie"))


# -- CSRF: every form of ours ------------------------------------------------------------------
def _signin_form(web: Any, portal: Any) -> str:
    _, challenge = pkce_pair()
    return str(
        web.get("/authorize", query_string=authorize_params(portal, challenge)).headers["Location"]
    )


def _consent_form(web: Any, portal: Any) -> str:
    return str(sign_in(web, _signin_form(web, portal)).headers["Location"])


def _scan_form(web: Any, portal: Any) -> str:
    return _signin_form(web, portal).rsplit("/", 1)[0] + "/scan"


def _logout_form(web: Any, portal: Any) -> str:
    obtain_code(web, portal)
    return "/logout"


def _my_signin_form(web: Any, portal: Any) -> str:
    return "/my/signin"


def _revoke_form(web: Any, portal: Any) -> str:
    obtain_code(web, portal)
    my_sign_in(web)
    return "/my/authorizations"


def _ui_switch_form(web: Any, portal: Any) -> str:
    return "/my/signin"  # the 长辈版 switch is on every page


#: Endpoint -> how a browser reaches the page holding its form.
FORMS = {
    "elder.switch": _ui_switch_form,
    "authorize.signin": _signin_form,
    "authorize.consent": _consent_form,
    "scan_signin_pc.complete": _scan_form,
    "logout.confirm": _logout_form,
    "my_authorizations.signin": _my_signin_form,
    "my_authorizations.revoke_one": _revoke_form,
}
#: POSTs that are not our forms: a relying party's request, which no token of ours can guard
#: (RFC 6749 3.1 and OIDC RP-Initiated Logout 2 allow POST); what it asks is checked itself.
NOT_OUR_FORMS = {"authorize.authorize", "logout.logout"}
BROWSER_BLUEPRINTS = {"authorize", "elder", "logout", "my_authorizations", "scan_signin_pc"}


def test_every_browser_form_is_in_the_table(app: Flask) -> None:
    posts = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and rule.endpoint.split(".")[0] in BROWSER_BLUEPRINTS
    }
    assert posts == set(FORMS) | NOT_OUR_FORMS


@pytest.mark.parametrize("endpoint", sorted(FORMS))
def test_a_post_without_the_csrf_token_is_refused(
    app: Flask, portal: Any, cardholder: Any, endpoint: str
) -> None:
    web = app.test_client()
    page_url = FORMS[endpoint](web, portal)
    page = web.get(page_url)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    path = app.url_map.bind("localhost")
    forms = [
        (action, fields)
        for action, fields in parse(page.get_data(as_text=True)).forms
        if path.match(urlsplit(action).path, method="POST")[0] == endpoint
    ]
    assert forms, f"no form for {endpoint} on {page_url}"
    action, fields = forms[0]
    assert fields.get("csrf_token"), "the form carries its token"
    data = {**fields, "credential": "A00000001", "pin": "802413", "decision": "approve"}
    without = {k: v for k, v in data.items() if k != "csrf_token"}
    for forged in (without, {**without, "csrf_token": "forged"}, {**without, "csrf_token": ""}):
        refused = web.post(action, data=forged)
        assert refused.status_code == 400, (endpoint, refused.status_code)
        assert BAD_FORM in refused.get_data(as_text=True), endpoint
        assert "Set-Cookie" not in refused.headers or "essc_session=" not in str(
            refused.headers.getlist("Set-Cookie")
        ), "no sign-in for a forged form"
    # The same POST with its token is not refused for CSRF: the check is what refused it.
    passed = web.post(action, data=data)
    assert BAD_FORM not in passed.get_data(as_text=True), endpoint


# -- CSRF: the demo's forms (idp/demo/csrf.py) ------------------------------------------------
#: Every POST of the demo phones, and a form value each one reads (a POST with its token passes
#: the CSRF check and reaches its view, which refuses the made-up value in its own words).
DEMO_POSTS = {
    "demo_phone.confirm": {"payment_id": "P-none", "pin": "000000"},
    "demo_scan_phone.scan": {"request": "ESSC-SCAN:none"},
    "demo_scan_phone.decide": {"request": "ESSC-SCAN:none", "number": "1"},
    "demo_family.ask": {"id_number": "11010519491231002X", "name": "张三"},
    "demo_family.show_code": {"relationship_id": "none"},
    "demo_family.start_pension": {"relationship_id": "none"},
    "demo_family.confirm_pension": {"relationship_id": "none"},
    "demo_family.finish_pension": {"relationship_id": "none"},
    "demo_family.consent": {"relationship_id": "none"},
}
DEMO_BLUEPRINTS = {"demo", "demo_phone", "demo_scan_phone", "demo_family"}
DEMO_TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "demo"


def _demo_post_paths(app: Flask) -> dict[str, str]:
    return {
        rule.endpoint: rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and rule.endpoint.split(".")[0] in DEMO_BLUEPRINTS
    }


def test_every_demo_form_is_in_the_table(demo_app: Flask) -> None:
    assert set(_demo_post_paths(demo_app)) == set(DEMO_POSTS)


def test_every_demo_template_form_carries_the_token() -> None:
    """Each POST form of each demo template names ``csrf_token`` (its value is rendered)."""
    counted = 0
    for template in sorted(DEMO_TEMPLATES.glob("*.html")):
        for action, fields in parse(template.read_text(encoding="utf-8")).forms:
            assert fields.get("csrf_token") == "{{ csrf_token() }}", (template.name, action)
            counted += 1
    assert counted >= 10


@pytest.mark.parametrize("endpoint", sorted(DEMO_POSTS))
def test_a_demo_post_without_the_token_is_refused(demo_app: Flask, endpoint: str) -> None:
    web = demo_app.test_client()
    page = web.get("/demo/phone/scan")  # any demo page: it gives this browser its token
    forms = parse(page.get_data(as_text=True)).forms
    token = forms[0][1]["csrf_token"]
    assert token and token != "{{ csrf_token() }}"
    path = _demo_post_paths(demo_app)[endpoint]
    data = DEMO_POSTS[endpoint]
    for forged in (data, {**data, "csrf_token": "forged"}, {**data, "csrf_token": ""}):
        refused = web.post(path, data=forged)
        assert refused.status_code == 400, (endpoint, refused.status_code)
        assert BAD_FORM in refused.get_data(as_text=True), endpoint
    other = demo_app.test_client()
    other.get("/demo/phone/scan")
    stolen = other.post(path, data={**data, "csrf_token": token})  # another browser's token
    assert stolen.status_code == 400 and BAD_FORM in stolen.get_data(as_text=True), endpoint


def test_a_demo_post_with_its_token_reaches_its_view(demo_app: Flask) -> None:
    """The check is what refused the forged POSTs: with the token, the scan phone's own page
    answers (the made-up request is its refusal, not the bad-form page)."""
    web = demo_app.test_client()
    token = parse(web.get("/demo/phone/scan").get_data(as_text=True)).forms[0][1]["csrf_token"]
    answer = web.post("/demo/phone/scan", data={"request": "ESSC-SCAN:none", "csrf_token": token})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and BAD_FORM not in html
    assert parse(html).forms and all(f["csrf_token"] == token for _, f in parse(html).forms)


def test_a_token_from_another_browser_is_refused(app: Flask, portal: Any, cardholder: Any) -> None:
    victim, attacker = app.test_client(), app.test_client()
    location = _signin_form(victim, portal)
    victim.get(location)
    attacker_page = attacker.get(_signin_form(attacker, portal)).get_data(as_text=True)
    token = parse(attacker_page).forms[0][1]["csrf_token"]
    refused = victim.post(
        location, data={"csrf_token": token, "credential": "A00000001", "pin": "802413"}
    )
    assert refused.status_code == 400 and BAD_FORM in refused.get_data(as_text=True)


def test_consent_needs_its_token_even_after_sign_in(
    app: Flask, portal: Any, cardholder: Any
) -> None:
    web = app.test_client()
    consent = _consent_form(web, portal)
    refused = web.post(consent, data={"decision": "approve"})
    assert refused.status_code == 400 and "Location" not in refused.headers
    assert approve(web, consent).status_code == 303
