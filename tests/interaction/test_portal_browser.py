"""Issue 10's browser journey across two government portals, in Debian's Chromium: PIN sign-in
(with a wrong PIN first), consent, step-up, single sign-on into a second portal and logout
everywhere (RP-initiated, then ``prompt=none`` hears ``login_required`` and each portal gets
a logout token through the outbox), against one live ``essc serve`` and two portals
registered with ``essc clients add --kind portal`` (``tests/interaction/portal_rp.py`` plays
their back ends).

Every page of essc-idp seen is screenshotted under ``artifacts/screenshots/`` as
``portal-<page>-<locale>.png``, once in zh-CN and once in English (``ui_locales=en``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from tests.e2e.test_browser import ARTIFACTS
from tests.interaction.portal_rp import Portal
from tests.interaction.portal_rp import portals
from tests.live import essc
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import serving
from tests.logout.relying_party import token_of
from tests.logout.relying_party import validate

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage
    from playwright.sync_api import Frame
    from playwright.sync_api import Page
    from playwright.sync_api import Response

pytestmark = [pytest.mark.browser, pytest.mark.live]

STEP_MS = 20_000
PIN = "802413"
#: One cardholder per language, so each run starts with five PIN tries and no consent.
CARDS = {"zh-CN": ("A00000011", "11010519491231002X"), "en": ("A00000012", "110105198001010016")}
WORDS = {
    "zh-CN": {"tries": "还可以再试 4 次", "app": "电子社保卡", "bye": "退出",
              "asks": "City portal 请求获取您的以下信息", "done": "您已退出登录",
              "again": "重新输入密码", "phish": "请不要在这里输入密码"},
    "en": {"tries": "You can try 4 more times", "app": "e-card app", "bye": "Sign out",
           "asks": "City portal asks for:", "done": "You are signed out",
           "again": "asks for your PIN again", "phish": "Do not enter your PIN here"},
}  # fmt: skip
FACE = json.dumps({"id_token": {"acr": {"essential": True, "values": ["urn:essc:acr:face"]}}})


def _register(env: dict[str, str], cwd: Path, portal: Portal, label: str) -> None:
    out = essc(
        env, cwd, "clients", "add", "--name", label, "--kind", "portal",
        "--grant-type", "authorization_code", "--grant-type", "refresh_token",
        "--auth-method", "client_secret_basic", "--redirect-uri", portal.redirect_uri,
        "--post-logout-redirect-uri", portal.bye_uri, "--backchannel-logout-uri", portal.bcl_uri,
        "--scope", "openid profile essc.card",
    )  # fmt: skip
    registered = json.loads(out)
    portal.client_id, portal.client_secret = registered["client_id"], registered["client_secret"]


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, dict[str, Portal], dict[str, str], Path]]:
    tmp = tmp_path_factory.mktemp("portals")
    issuer = f"http://127.0.0.1:{free_port()}"
    env = hermetic_env(tmp, issuer)
    essc(env, tmp, "init")
    for card, id_number in CARDS.values():
        essc(env, tmp, "cardholders", "add", "--name", "张三", "--id-number", id_number,
             "--region-code", "110105", "--card-number", card, "--pin", PIN)  # fmt: skip
    with portals(issuer, "a", "b") as rps:
        _register(env, tmp, rps["a"], "某市政务服务网 City portal")
        _register(env, tmp, rps["b"], "某省社保服务网 Provincial portal")
        port = int(issuer.rsplit(":", 1)[1])
        with serving(env, tmp, port, tmp / "serve.log"):
            yield issuer, rps, env, tmp


def _logout_tokens(env: dict[str, str], cwd: Path, portal: Portal) -> int:
    """How many logout tokens the outbox holds for the portal (``essc notifications list``)."""
    out = essc(env, cwd, "notifications", "list", "--client-id", portal.client_id)
    messages: list[dict[str, Any]] = json.loads(out)
    return sum(m["event"] == "session.logout" for m in messages)


class Journey:
    """One browser context in one language: the page, what it navigated to, what went wrong."""

    def __init__(self, page: Page, issuer: str, locale: str) -> None:
        self.page, self.issuer, self.locale = page, issuer, locale
        self.card = CARDS[locale][0]
        self.problems: list[str] = []
        self.seen: list[str] = []
        page.set_default_timeout(STEP_MS)
        page.on("console", self._console)
        page.on("response", self._response)
        page.on("framenavigated", self._navigated)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security" in message.text:
            self.problems.append(message.text)

    def _response(self, answer: Response) -> None:
        if answer.status >= 400:
            self.problems.append(f"{answer.status} {answer.url}")

    def _navigated(self, frame: Frame) -> None:
        if frame == self.page.main_frame:
            self.seen.append(frame.url)

    def shot(self, name: str) -> None:
        path = ARTIFACTS / f"portal-{name}-{self.locale}.png"
        self.page.screenshot(path=str(path), full_page=True)

    def go(self, portal: Portal, state: str, **extra: str) -> None:
        """The portal sends the browser to /authorize; ``seen`` starts afresh."""
        self.seen.clear()
        url = portal.authorize_url(f"{self.locale}-{state}", ui_locales=self.locale, **extra)
        self.page.goto(url)

    def back_at(self, portal: Portal, state: str) -> dict[str, Any]:
        """What the portal's callback got for the request ``state``."""
        self.page.wait_for_url(f"{portal.redirect_uri}**")
        return portal.results[f"{self.locale}-{state}"]

    def pin(self, pin: str) -> None:
        self.page.fill("#credential", self.card)
        self.page.fill("#pin", pin)
        self.page.click("main form button[type=submit]")

    def words(self, key: str) -> str:
        return WORDS[self.locale][key]


def _pin_sign_in(j: Journey, a: Portal) -> dict[str, Any]:
    """Portal A: a wrong PIN first (the card number stays, the tries are said), then consent."""
    from playwright.sync_api import expect

    j.go(a, "pin")
    j.page.wait_for_url("**/interaction/**/signin")
    expect(j.page.locator("html")).to_have_attribute("lang", j.locale)
    expect(j.page.locator("main")).to_contain_text("City portal")
    expect(j.page.locator("[role=status]")).to_have_count(0)  # no session: nothing "again"
    j.shot("signin")
    j.pin("999999")
    expect(j.page.locator("[role=alert]")).to_contain_text(j.words("tries"))
    expect(j.page.locator("#credential")).to_have_value(j.card)
    j.shot("signin-wrong-pin")
    j.pin(PIN)
    j.page.wait_for_url("**/interaction/**/consent")
    # The portal's name and the words after it read as one sentence.
    expect(j.page.locator(".lead")).to_contain_text(j.words("asks"))
    j.shot("consent")
    j.page.click("button[name=decision][value=approve]")
    first = j.back_at(a, "pin")
    assert first["acr"] == "urn:essc:acr:card-pin" and first["amr"] == ["pin"]
    return first


def _step_up(j: Journey, a: Portal, b: Portal, first: dict[str, Any]) -> dict[str, Any]:
    """Portal B needs a fresh face verification, which only the e-card app gives; then
    ``max_age=0`` at portal A asks for the PIN again, in the same session, without consent."""
    from playwright.sync_api import expect

    j.go(b, "face", claims=FACE)
    j.page.wait_for_url("**/interaction/**/signin")
    expect(j.page.locator("[role=alert]")).to_contain_text(j.words("app"))
    assert j.page.locator("#pin").count() == 0  # no PIN form that could never be enough
    j.shot("step-up-app")
    j.page.click("#cancel")  # no dead end: back to portal B, which hears access_denied
    assert j.back_at(b, "face") == {"error": "access_denied"}

    j.go(a, "max-age", max_age="0")
    j.page.wait_for_url("**/interaction/**/signin")
    expect(j.page.locator("[role=status]")).to_contain_text(j.words("again"))
    j.shot("signin-max-age")
    j.pin(PIN)
    again = j.back_at(a, "max-age")
    assert again["sid"] == first["sid"] and again["auth_time"] >= first["auth_time"]
    assert not any("/consent" in u for u in j.seen), j.seen
    return again


def _sso(j: Journey, b: Portal, first: dict[str, Any]) -> None:
    """Portal B: no sign-in page, only B's own consent; the same session and cardholder."""
    from playwright.sync_api import expect

    j.go(b, "sso")
    j.page.wait_for_url("**/interaction/**/consent")
    expect(j.page.locator("main")).to_contain_text("Provincial portal")
    j.shot("consent-second-portal")
    j.page.click("button[name=decision][value=approve]")
    second = j.back_at(b, "sso")
    assert second["sid"] == first["sid"] and second["sub"] == first["sub"]
    assert not any(u.endswith("/signin") for u in j.seen), j.seen


def _logout_everywhere(j: Journey, a: Portal, b: Portal, id_token: str) -> None:
    """The confirmation page (no hint), then A's RP-initiated logout with its ID token, after
    which B's ``prompt=none`` hears ``login_required`` without any page being shown."""
    from playwright.sync_api import expect

    j.page.goto(f"{j.issuer}/logout?client_id={b.client_id}&ui_locales={j.locale}")
    expect(j.page.locator("h1")).to_contain_text(j.words("bye"))
    expect(j.page.locator("main")).to_contain_text("Provincial portal")
    j.shot("logout-confirm")  # not confirmed: the hinted logout below ends the session

    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": a.bye_uri,
                       "state": f"bye-{j.locale}", "ui_locales": j.locale})  # fmt: skip
    j.page.goto(f"{j.issuer}/logout?{query}")
    j.page.wait_for_url(f"{a.bye_uri}?state=bye-{j.locale}")

    j.go(b, "none", prompt="none")
    assert j.back_at(b, "none") == {"error": "login_required"}
    assert not any(u.startswith(f"{j.issuer}/interaction") for u in j.seen), j.seen

    # With no session left, /logout asks nothing and says the citizen is signed out.
    j.page.goto(f"{j.issuer}/logout?ui_locales={j.locale}")
    expect(j.page.locator("main")).to_contain_text(j.words("done"))
    j.shot("logged-out")


def _phishing_link(j: Journey, a: Portal) -> None:
    """A look-alike portal's link: a return address essc-idp does not know. The page says so
    in plain words and warns against the PIN, in the request's language; no PIN form."""
    from playwright.sync_api import expect

    j.page.goto(
        a.authorize_url(
            f"{j.locale}-phish", ui_locales=j.locale, redirect_uri="https://phish.example/cb"
        )
    )
    expect(j.page.locator("#next-step")).to_contain_text(j.words("phish"))
    assert j.page.locator("#pin").count() == 0
    j.shot("error-unknown-return")


def _received(portal: Portal, since: int, first: dict[str, Any]) -> None:
    """The portal got one logout token since the ``since``-th; it passes section 2.6's checks
    (``tests/logout/relying_party.py``) and names the session."""
    [body] = portal.logout_bodies[since:]
    jwks = requests.get(f"{portal.issuer}/jwks.json", timeout=10).json()
    claims = validate(token_of(body), jwks=jwks, issuer=portal.issuer,
                      client_id=portal.client_id, seen=set(), now=int(time.time()))  # fmt: skip
    assert (claims["sid"], claims["sub"]) == (first["sid"], first["sub"])


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_two_portals_sign_in_step_up_sso_and_logout_everywhere(
    browser: object, world: tuple[str, dict[str, Portal], dict[str, str], Path], locale: str
) -> None:
    from playwright.sync_api import Browser

    issuer, rps, env, cwd = world
    a, b = rps["a"], rps["b"]
    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale=locale, viewport={"width": 390, "height": 844})
    j = Journey(context.new_page(), issuer, locale)
    try:
        first = _pin_sign_in(j, a)
        again = _step_up(j, a, b, first)
        _sso(j, b, first)
        queued = {p.name: _logout_tokens(env, cwd, p) for p in (a, b)}
        got = {p.name: len(p.logout_bodies) for p in (a, b)}
        _logout_everywhere(j, a, b, again["raw_id_token"])
        _phishing_link(j, a)
        # The wrong PIN (401, its page shown) and the phishing link's page (400) are the only
        # answers that are not a success.
        assert len(j.problems) == 2 and re.fullmatch(r"401 .*/signin", j.problems[0]), j.problems
        assert re.fullmatch(r"400 .*/authorize\?.*", j.problems[1]), j.problems
    finally:
        context.close()
    # Each portal the session touched has one more logout token queued (docs/api.md), and
    # gets it once the outbox is delivered (`essc notifications deliver --once`).
    assert {p.name: _logout_tokens(env, cwd, p) for p in (a, b)} == {
        name: n + 1 for name, n in queued.items()
    }
    essc(env, cwd, "notifications", "deliver", "--once")
    for portal in (a, b):
        _received(portal, got[portal.name], first)
