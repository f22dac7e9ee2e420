"""我的授权 in a real browser (Debian's Chromium, Playwright), in Chinese and in English: sign
in, give two portals consent (SSO from one session), see both, revoke one from the keyboard.
Screenshots: ``artifacts/screenshots/my-*-<locale>.png``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from tests.e2e.test_browser import ARTIFACTS
from tests.live import essc
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import serving
from tests.support import pkce_pair

pytestmark = [pytest.mark.browser, pytest.mark.live]
STEP_MS = 20_000
SECOND = "市民服务网 City services"
#: One demo cardholder per language, so each run starts with nothing held.
CARDS = {"zh-CN": ("A00000001", "802413"), "en": ("B00000002", "395170")}
WORDS = {
    "zh-CN": {"heading": "我的授权", "done": "已撤销"},
    "en": {"heading": "My authorizations", "done": "Revoked."},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``make run`` plus a second portal whose redirect URI is the demo home page: the issuer
    and that portal's client_id."""
    tmp = tmp_path_factory.mktemp("my")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = hermetic_env(tmp, issuer)
    essc(env, tmp, "init")
    essc(env, tmp, "demo")
    added = essc(
        env, tmp, "clients", "add", "--name", SECOND, "--kind", "portal",
        "--grant-type", "authorization_code", "--auth-method", "client_secret_basic",
        "--redirect-uri", f"{issuer}/demo", "--scope", "openid profile essc.card",
    )  # fmt: skip
    with serving(env, tmp, port, tmp / "serve.log") as running:
        yield running, json.loads(added)["client_id"]


def _second_portal(issuer: str, client_id: str, locale: str) -> str:
    _, challenge = pkce_pair()
    query = {
        "response_type": "code", "client_id": client_id, "redirect_uri": f"{issuer}/demo",
        "scope": "openid profile essc.card", "state": "s", "nonce": "n",
        "code_challenge": challenge, "code_challenge_method": "S256", "ui_locales": locale,
    }  # fmt: skip
    return f"{issuer}/authorize?{urlencode(query)}"


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_sign_in_see_two_portals_revoke_one(
    browser: object, server: tuple[str, str], locale: str
) -> None:
    from playwright.sync_api import Browser
    from playwright.sync_api import expect

    assert isinstance(browser, Browser)
    issuer, second = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale=locale, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else 0)

    def shot(name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}-{locale}.png"), full_page=True)

    try:
        page.goto(f"{issuer}/my/authorizations?ui_locales={locale}")
        page.wait_for_url("**/my/signin**")
        expect(page.locator("html")).to_have_attribute("lang", locale)
        shot("my-signin")
        card, pin = CARDS[locale]
        page.fill("#credential", card)
        page.fill("#pin", pin)
        page.keyboard.press("Enter")
        page.wait_for_url("**/my/authorizations**")

        page.goto(f"{issuer}/demo/login?ui_locales={locale}")  # SSO: straight to consent
        page.wait_for_url("**/interaction/**/consent")
        page.click("button[name=decision][value=approve]")
        page.wait_for_url(f"{issuer}/demo/callback**")
        page.goto(_second_portal(issuer, second, locale))
        page.wait_for_url("**/interaction/**/consent")
        page.click("button[name=decision][value=approve]")
        page.wait_for_url(f"{issuer}/demo?code=**")

        page.goto(f"{issuer}/my/authorizations?ui_locales={locale}")
        expect(page.locator("h1")).to_have_text(WORDS[locale]["heading"])
        portals = page.locator("li.portal h3")
        expect(portals).to_have_count(2)
        expect(portals).to_contain_text([SECOND, "示例政务门户"])
        shot("my-authorizations")

        page.locator("li.portal", has_text=SECOND).locator("button").focus()
        page.keyboard.press("Enter")  # keyboard use
        expect(page.locator("[role=status]")).to_contain_text(WORDS[locale]["done"])
        expect(portals).to_have_count(1)
        expect(portals).not_to_contain_text([SECOND])
        expect(page.locator("li.session")).not_to_contain_text(SECOND)
        shot("my-authorizations-revoked")
        assert violations == []
    finally:
        context.close()
