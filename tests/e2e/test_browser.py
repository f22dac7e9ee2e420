"""A newcomer's first sign-in, in a real browser: Debian's Chromium driven by Playwright.

Starts the server the way ``make run`` does (``essc init``, ``essc demo``, ``essc serve``) over a
fresh instance directory, opens the demo portal, signs in with the demo card and PIN, approves
consent, and checks that the portal greets the cardholder and shows the UserInfo it fetched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import essc
from tests.live import free_port
from tests.live import serving

pytestmark = [pytest.mark.browser, pytest.mark.live]

STEP_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``make run`` in a temporary directory: the issuer URL of a running server."""
    tmp = tmp_path_factory.mktemp("browser")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESSC_")}
    env.update(ESSC_INSTANCE_DIR=str(tmp / "instance"), ESSC_ISSUER=f"http://127.0.0.1:{port}")
    essc(env, tmp, "init")
    essc(env, tmp, "demo")
    with serving(env, tmp, port, tmp / "serve.log") as issuer:
        yield issuer


#: Screenshots of every page this module visits, one set per language; git ignores it.
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

WORDS = {
    "zh-CN": {"tries": "还可以再试 4 次", "error": "请返回应用重新发起"},
    "en": {"tries": "You can try 4 more times", "error": "Go back to the application"},
}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_each_page_in_each_language(browser: object, demo_server: str, locale: str) -> None:
    """Sign-in, a wrong PIN (tries left, card number kept), consent and an error page; every
    page is screenshotted and none breaks its Content-Security-Policy."""
    from playwright.sync_api import Browser
    from playwright.sync_api import expect

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale=locale, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else 0)

    def shot(name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}-{locale}.png"), full_page=True)

    try:
        page.goto(f"{demo_server}/demo/login?ui_locales={locale}")
        page.wait_for_url("**/interaction/**/signin")
        expect(page.locator("html")).to_have_attribute("lang", locale)
        shot("signin")

        page.fill("#credential", "A00000001")
        page.fill("#pin", "999999")
        page.keyboard.press("Enter")  # the form works from the keyboard
        expect(page.locator("[role=alert]")).to_contain_text(WORDS[locale]["tries"])
        expect(page.locator("#credential")).to_have_value("A00000001")
        shot("signin-wrong-pin")

        page.fill("#pin", "802413")
        page.click("main form button[type=submit]")
        page.wait_for_url("**/interaction/**/consent")
        shot("consent")
        # Denied, so the next language (and the test below) is asked for consent again.
        page.click("button[name=decision][value=deny]")
        page.wait_for_url(f"{demo_server}/demo/callback**")

        page.goto(f"{demo_server}/interaction/no-such-interaction/signin")
        expect(page.locator("[role=alert]")).to_contain_text(WORDS["zh-CN"]["error"])
        shot("error")
        assert violations == []
    finally:
        context.close()


def test_demo_sign_in_in_a_real_browser(browser: object, demo_server: str, tmp_path: Path) -> None:
    from playwright.sync_api import Browser
    from playwright.sync_api import expect

    assert isinstance(browser, Browser)
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        page.goto(f"{demo_server}/demo")
        page.click("#signin")

        page.wait_for_url("**/interaction/**/signin")
        page.fill("#credential", "A00000001")
        page.fill("#pin", "802413")
        page.click("main form button[type=submit]")

        page.wait_for_url("**/interaction/**/consent")
        page.click("button[name=decision][value=approve]")

        page.wait_for_url(f"{demo_server}/demo/callback**")
        expect(page.locator("#welcome")).to_contain_text("张三")
        userinfo = json.loads(page.locator("#userinfo").inner_text())
        id_token = json.loads(page.locator("#id_token").inner_text())
        assert userinfo["name"] == "张三"
        assert userinfo["sub"] == id_token["sub"]
        assert userinfo["essc_card_number"] == "A0*****01"
        assert "essc_id_number" not in userinfo
        assert id_token["iss"] == demo_server and id_token["amr"] == ["pin"]

        screenshot = tmp_path / "demo-signed-in.png"
        page.screenshot(path=str(screenshot), full_page=True)
        assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        context.close()
