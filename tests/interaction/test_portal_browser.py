"""Issue 10's browser journey across two government portals, in Debian's Chromium: PIN sign-in
(with a wrong PIN first), consent, step-up, single sign-on into a second portal and logout
everywhere, against one live ``essc serve`` and two portals registered with
``essc clients add --kind portal`` (``tests/interaction/portal_rp.py`` plays their back ends).

Every page of essc-idp seen is screenshotted under ``artifacts/screenshots/`` as
``portal-<page>-<locale>.png``, once in zh-CN and once in English (``ui_locales=en``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_browser import ARTIFACTS
from tests.e2e.test_browser import CHROMIUM
from tests.e2e.test_browser import CHROMIUM_ARGS
from tests.interaction.portal_rp import Portal
from tests.interaction.portal_rp import portals
from tests.live import essc
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import serving

pytestmark = [pytest.mark.browser, pytest.mark.live]

STEP_MS = 20_000
PIN = "802413"
#: One cardholder per language, so each run starts with five PIN tries and no consent.
CARDS = {"zh-CN": ("A00000011", "11010519491231002X"), "en": ("A00000012", "110105198001010016")}
WORDS = {
    "zh-CN": {"tries": "还可以再试 4 次", "app": "电子社保卡", "bye": "退出",
              "asks": "City portal 请求获取您的以下信息", "done": "您已退出登录"},
    "en": {"tries": "You can try 4 more times", "app": "e-card app", "bye": "Sign out",
           "asks": "City portal asks for:", "done": "You are signed out"},
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


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make system-deps` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _logout_tokens(env: dict[str, str], cwd: Path, portal: Portal) -> int:
    """How many logout tokens the outbox holds for the portal (``essc notifications list``)."""
    out = essc(env, cwd, "notifications", "list", "--client-id", portal.client_id)
    messages: list[dict[str, Any]] = json.loads(out)
    return sum(m["event"] == "session.logout" for m in messages)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_two_portals_sign_in_step_up_sso_and_logout_everywhere(
    browser: object, world: tuple[str, dict[str, Portal], dict[str, str], Path], locale: str
) -> None:
    from playwright.sync_api import Browser
    from playwright.sync_api import ConsoleMessage
    from playwright.sync_api import Frame
    from playwright.sync_api import Response
    from playwright.sync_api import expect

    issuer, rps, env, cwd = world
    a, b = rps["a"], rps["b"]
    card = CARDS[locale][0]
    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale=locale, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    problems: list[str] = []
    seen: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if "Content Security" in message.text:
            problems.append(message.text)

    def response(answer: Response) -> None:
        if answer.status >= 400:
            problems.append(f"{answer.status} {answer.url}")

    def navigated(frame: Frame) -> None:
        if frame == page.main_frame:
            seen.append(frame.url)

    page.on("console", console)
    page.on("response", response)
    page.on("framenavigated", navigated)

    def shot(name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"portal-{name}-{locale}.png"), full_page=True)

    def go(portal: Portal, state: str, **extra: str) -> None:
        seen.clear()
        page.goto(portal.authorize_url(f"{locale}-{state}", ui_locales=locale, **extra))

    def back_at(portal: Portal, state: str) -> dict[str, Any]:
        page.wait_for_url(f"{portal.redirect_uri}**")
        return portal.results[f"{locale}-{state}"]

    try:
        # PIN sign-in at portal A, a wrong PIN first: the card number stays, the tries are said.
        go(a, "pin")
        page.wait_for_url("**/interaction/**/signin")
        expect(page.locator("html")).to_have_attribute("lang", locale)
        expect(page.locator("main")).to_contain_text("City portal")
        shot("signin")
        page.fill("#credential", card)
        page.fill("#pin", "999999")
        page.click("form button[type=submit]")
        expect(page.locator("[role=alert]")).to_contain_text(WORDS[locale]["tries"])
        expect(page.locator("#credential")).to_have_value(card)
        shot("signin-wrong-pin")
        page.fill("#pin", PIN)
        page.click("form button[type=submit]")
        page.wait_for_url("**/interaction/**/consent")
        # The portal's name and the words after it read as one sentence.
        expect(page.locator(".lead")).to_contain_text(WORDS[locale]["asks"])
        shot("consent")
        page.click("button[name=decision][value=approve]")
        first = back_at(a, "pin")
        assert first["acr"] == "urn:essc:acr:card-pin" and first["amr"] == ["pin"]
        sid = first["sid"]

        # Step-up: portal B needs a fresh face verification, which only the e-card app gives.
        go(b, "face", claims=FACE)
        page.wait_for_url("**/interaction/**/signin")
        expect(page.locator("[role=alert]")).to_contain_text(WORDS[locale]["app"])
        assert page.locator("#pin").count() == 0  # no PIN form that could never be enough
        shot("step-up-app")

        # Step-up: max_age=0 at portal A asks for the PIN again; same session, no consent again.
        go(a, "max-age", max_age="0")
        page.wait_for_url("**/interaction/**/signin")
        shot("signin-max-age")
        page.fill("#credential", card)
        page.fill("#pin", PIN)
        page.click("form button[type=submit]")
        again = back_at(a, "max-age")
        assert again["sid"] == sid and again["auth_time"] >= first["auth_time"]
        assert not any("/consent" in u for u in seen)

        # SSO into portal B: no sign-in page, only B's own consent, the same sid.
        go(b, "sso")
        page.wait_for_url("**/interaction/**/consent")
        expect(page.locator("main")).to_contain_text("Provincial portal")
        shot("consent-second-portal")
        page.click("button[name=decision][value=approve]")
        second = back_at(b, "sso")
        assert second["sid"] == sid and second["sub"] == first["sub"]
        assert not any(u.endswith("/signin") for u in seen), seen

        # Logout without a hint: a confirmation page naming the portal (not confirmed here).
        page.goto(f"{issuer}/logout?client_id={b.client_id}&ui_locales={locale}")
        expect(page.locator("h1")).to_contain_text(WORDS[locale]["bye"])
        expect(page.locator("main")).to_contain_text("Provincial portal")
        shot("logout-confirm")

        queued = {p.name: _logout_tokens(env, cwd, p) for p in (a, b)}
        # RP-initiated logout from portal A with its ID token: immediate, back to A's page.
        page.goto(
            f"{issuer}/logout?id_token_hint={again['raw_id_token']}"
            f"&post_logout_redirect_uri={a.bye_uri}&state=bye-{locale}&ui_locales={locale}"
        )
        page.wait_for_url(f"{a.bye_uri}?state=bye-{locale}")

        # Portal B asks silently and hears the session is over: no page, login_required.
        go(b, "none", prompt="none")
        assert back_at(b, "none") == {"error": "login_required"}
        assert not any(u.startswith(issuer + "/interaction") for u in seen), seen

        # With no session left, /logout asks nothing and says the citizen is signed out.
        page.goto(f"{issuer}/logout?ui_locales={locale}")
        expect(page.locator("main")).to_contain_text(WORDS[locale]["done"])
        shot("logged-out")
        # The wrong PIN is the only answer that is not a success (401, its page shown).
        assert len(problems) == 1 and re.fullmatch(r"401 .*/signin", problems[0]), problems
    finally:
        context.close()

    # Each portal the session touched has one more logout token queued (docs/api.md).
    assert {p.name: _logout_tokens(env, cwd, p) for p in (a, b)} == {
        name: n + 1 for name, n in queued.items()
    }
