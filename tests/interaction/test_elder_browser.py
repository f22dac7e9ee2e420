"""长辈版 (elderly mode) in Debian's Chromium: every page a citizen sees, in its elder form,
measured in the page against MIIT's elderly design rules (工信厅信管函〔2021〕67号; docs/pages.md
"长辈版 (elderly mode)"), against one live ``essc serve`` (``essc init``, ``essc demo``) and a
portal registered with ``essc clients add`` (``tests/interaction/portal_rp.py``).

For each page, JavaScript in the page (``getComputedStyle``, ``getBoundingClientRect``) reads
every visible text element's size, line height and colour on its effective background
(composited up the ancestors; WCAG 2.1 relative luminance and contrast ratio), and every
interactive element's box. The page passes with text >= 18 px everywhere and the largest >= 30
px, line height >= 1.3, contrast >= 7:1 (WCAG AAA; MIIT's floor is 4.5:1), targets >= 60x60 px
and no pop-up. Screenshots go to ``artifacts/screenshots/elder-<page>-zh-CN.png``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Any

import pytest

from tests.e2e.test_browser import ARTIFACTS
from tests.interaction.portal_rp import Portal
from tests.interaction.portal_rp import portals
from tests.live import essc
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import serving

if TYPE_CHECKING:
    from playwright.sync_api import Browser
    from playwright.sync_api import Page
    from playwright.sync_api import ViewportSize

pytestmark = [pytest.mark.browser, pytest.mark.live]

STEP_MS = 20_000
CARD, PIN = "A00000001", "802413"  # the demo's 张三 (idp/demo/data.py), also the demo apps' holder
PHONE: ViewportSize = {"width": 390, "height": 844}
FACE = json.dumps({"id_token": {"acr": {"essential": True, "values": ["urn:essc:acr:face"]}}})
MIN_TEXT_PX, MIN_LARGEST_PX, MIN_LINE, MIN_CONTRAST, MIN_TARGET_PX = 18, 30, 1.3, 7.0, 60
#: MIIT Annex 1: a code that expires within 3 minutes must say so and offer more time.
MIN_UNANNOUNCED_S = 180

#: Runs in the page; returns what the checks below compare with the rules.
MEASURE = r"""() => {
  const rgba = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) { return null; }
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat([1]);
  };
  const background = (el) => {
    const layers = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) { break; } }
    }
    let colour = [255, 255, 255, 1];  // the canvas
    for (let i = layers.length - 1; i >= 0; i--) { colour = over(layers[i], colour); }
    return colour;
  };
  const luminance = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      v = v / 255;
      return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const contrast = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && cs.visibility !== "hidden" && cs.display !== "none"
      && Number(cs.opacity) > 0;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.className && typeof el.className === "string" ? "." + el.className.split(" ")[0] : "");
  const texts = [];
  for (const el of document.body.querySelectorAll("*")) {
    const own = Array.from(el.childNodes).filter((n) => n.nodeType === 3)
      .map((n) => n.textContent.trim()).join("");
    const field = el.matches("input:not([type=hidden]), textarea") && el.value;
    if ((!own && !field) || !visible(el)) { continue; }
    const cs = getComputedStyle(el), size = parseFloat(cs.fontSize);
    const line = cs.lineHeight === "normal" ? null : parseFloat(cs.lineHeight) / size;
    const ink = rgba(cs.color), paper = background(el);
    texts.push({ el: name(el), text: (own || "").slice(0, 24), size: size, line: line,
                 contrast: contrast(over(ink, paper), paper) });
  }
  const targets = [];
  const interactive = "a[href], button, input:not([type=hidden]), select, textarea, summary,"
    + " [role=button], [tabindex]:not([tabindex='-1'])";
  for (const el of document.querySelectorAll(interactive)) {
    if (!visible(el)) { continue; }
    // A checkbox's tap target is its label (tapping the words ticks it).
    const hit = el.matches("input[type=checkbox], input[type=radio]") && el.closest("label");
    const r = (hit || el).getBoundingClientRect();
    targets.push({ el: name(el), text: el.textContent.trim().slice(0, 24),
                   width: r.width, height: r.height });
  }
  const popups = Array.from(document.querySelectorAll("body *")).filter((el) => {
    const cs = getComputedStyle(el);
    return visible(el) && (cs.position === "fixed" || cs.position === "sticky"
      || el.matches("dialog, [role=dialog], [role=alertdialog], [aria-modal]"));
  }).map(name);
  const now = Date.now() / 1000;
  const expiring = Array.from(document.querySelectorAll("[data-expires-at]")).filter(visible)
    .map((el) => Number(el.getAttribute("data-expires-at")) - now);
  const renews = !!document.querySelector("script[src$='/phone.js'], script[src$='/ride.js'],"
    + " script[src$='/scan.js'], #renew, #more-time");
  const bare = Array.from(document.querySelectorAll("a[href]")).filter(visible).filter((el) => {
    const cs = getComputedStyle(el);
    return !cs.textDecorationLine.includes("underline") && parseFloat(cs.borderTopWidth) === 0;
  }).map(name);
  const unmarked = Array.from(document.querySelectorAll(".error, .ok")).filter(visible)
    .filter((el) => parseFloat(getComputedStyle(el).borderLeftWidth) < 4).map(name);
  const qr = document.querySelector(".qr svg");
  const box = qr && visible(qr) ? qr.getBoundingClientRect() : null;
  return { elder: document.documentElement.classList.contains("elder"), texts: texts,
           targets: targets, popups: popups, qr: box ? box.width : null,
           expiring: expiring, renews: renews, bare: bare, unmarked: unmarked,
           words: document.body.innerText,
           scrollWidth: document.documentElement.scrollWidth,
           innerWidth: window.innerWidth };
}"""


def measure(page: Page) -> dict[str, Any]:
    """MEASURE once the page has settled; again if a self-renewing page reloaded meanwhile."""
    from playwright.sync_api import Error

    for _ in range(3):
        page.wait_for_load_state("load")
        try:
            found: dict[str, Any] = page.evaluate(MEASURE)
            return found
        except Error as exc:  # the demo phone pages reload themselves
            if "context was destroyed" not in str(exc):
                raise
    raise AssertionError("the page kept reloading")


def audit(page: Page, name: str) -> dict[str, Any]:
    """The rules, measured; the screenshot first, so a failure can be looked at."""
    page.screenshot(path=str(ARTIFACTS / f"elder-{name}-zh-CN.png"), full_page=True)
    m = measure(page)
    assert m["elder"], f"{name}: not in elder form"
    texts, targets = m["texts"], m["targets"]
    assert texts, f"{name}: no text measured"
    small = [t for t in texts if t["size"] < MIN_TEXT_PX]
    assert not small, f"{name}: text under {MIN_TEXT_PX} px: {small}"
    largest = max(t["size"] for t in texts)
    assert largest >= MIN_LARGEST_PX, f"{name}: largest text {largest} px"
    tight = [t for t in texts if t["line"] is None or t["line"] < MIN_LINE]
    assert not tight, f"{name}: line spacing under {MIN_LINE}: {tight}"
    faint = [t for t in texts if t["contrast"] < MIN_CONTRAST]
    assert not faint, f"{name}: contrast under {MIN_CONTRAST}:1: {faint}"
    tiny = [t for t in targets if t["width"] < MIN_TARGET_PX or t["height"] < MIN_TARGET_PX]
    assert not tiny, f"{name}: targets under {MIN_TARGET_PX}x{MIN_TARGET_PX} px: {tiny}"
    assert not m["popups"], f"{name}: pop-ups or fixed layers: {m['popups']}"
    assert m["scrollWidth"] <= m["innerWidth"], f"{name}: wider than the screen"
    # Colour never the only cue: links underlined, errors and successes with their bar.
    assert not m["bare"], f"{name}: links told apart by colour alone: {m['bare']}"
    assert not m["unmarked"], f"{name}: an error or success marked by colour alone"
    # Nothing expiring within 3 minutes unless the page says so and gives more time.
    if m["expiring"] and min(m["expiring"]) < MIN_UNANNOUNCED_S:
        assert "分钟" in m["words"], f"{name}: expires in {min(m['expiring'])} s, unannounced"
        assert m["renews"], f"{name}: expires in {min(m['expiring'])} s and offers no more time"
    switch = [t for t in targets if t["el"].startswith("button#ui-switch")]
    assert name == "form-post" or (switch and switch[0]["text"] == "标准版"), name
    return m


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Portal]]:
    tmp = tmp_path_factory.mktemp("elder")
    issuer = f"http://127.0.0.1:{free_port()}"
    env = hermetic_env(tmp, issuer)
    essc(env, tmp, "init")
    essc(env, tmp, "demo")
    with portals(issuer, "a") as rps:
        portal = rps["a"]
        out = essc(
            env, tmp, "clients", "add", "--name", "某市政务服务网", "--kind", "portal",
            "--grant-type", "authorization_code", "--auth-method", "client_secret_basic",
            "--redirect-uri", portal.redirect_uri, "--scope", "openid profile essc.card",
        )  # fmt: skip
        registered = json.loads(out)
        portal.client_id, portal.client_secret = (
            registered["client_id"],
            registered["client_secret"],
        )
        with serving(env, tmp, int(issuer.rsplit(":", 1)[1]), tmp / "serve.log"):
            yield issuer, portal


def _new_page(browser: Browser, **options: Any) -> Page:
    context = browser.new_context(locale="zh-CN", viewport=PHONE, **options)
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    return page


def _sign_in_with_pin(page: Page, pin: str) -> None:
    page.fill("#credential", CARD)
    page.fill("#pin", pin)
    page.click("main form button[type=submit]")


def test_every_citizen_page_in_elder_form(browser: object, world: tuple[str, Portal]) -> None:
    from playwright.sync_api import Browser
    from playwright.sync_api import expect

    issuer, portal = world
    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pc, phone = _new_page(browser), _new_page(browser)
    try:
        # A channel that knows: ui=elder on /authorize. The portal wants a face: step-up notice.
        pc.goto(portal.authorize_url("face", ui="elder", claims=FACE))
        pc.wait_for_url("**/interaction/**/signin")
        expect(pc.locator("[role=alert]")).to_contain_text("电子社保卡")
        audit(pc, "step-up")

        pc.goto(portal.authorize_url("pin", ui="elder"))
        pc.wait_for_url("**/interaction/**/signin")
        audit(pc, "signin")
        _sign_in_with_pin(pc, "999999")
        expect(pc.locator("[role=alert]")).to_contain_text("还可以再试 4 次")
        audit(pc, "signin-wrong-pin")

        # Scan to sign in: the PC's QR, twice as long for an elder and saying so.
        pc.click("#scan")
        pc.wait_for_url("**/interaction/**/scan")
        expect(pc.locator("#qr-purpose")).to_contain_text("这是登录用的二维码")
        expect(pc.locator("#time-limit")).to_contain_text("4 分钟内有效")
        audit(pc, "scan-pc")
        qr_text = pc.locator("#qr").get_attribute("data-request") or ""

        phone.goto(f"{issuer}/demo/phone/scan?ui=elder")
        audit(phone, "phone-scan")
        phone.fill("#request", qr_text)
        phone.click("main form button[type=submit]")
        expect(phone.locator("#portal")).to_contain_text("某市政务服务网")
        expect(pc.locator("#number")).not_to_be_empty()
        expect(pc.locator("#more-time")).to_be_hidden()  # scanned: no reload offered now
        audit(pc, "scan-pc-scanned")
        audit(phone, "phone-scan-confirm")
        # The switch on the confirmation (a POST's answer) comes back to this same step.
        _tap_switch(phone)
        expect(phone.locator("#portal")).to_contain_text("某市政务服务网")
        _tap_switch(phone)
        expect(phone.locator("#portal")).to_contain_text("某市政务服务网")
        phone.click(f"button.choice[value='{pc.locator('#number').inner_text().strip()}']")
        expect(phone.locator("#result")).to_contain_text("已确认登录")
        audit(phone, "phone-scan-approved")

        pc.wait_for_url("**/interaction/**/consent")
        audit(pc, "consent")
        pc.click("button[name=decision][value=approve]")
        pc.wait_for_url(f"{portal.redirect_uri}**")
        assert "sid" in portal.results["pin"]

        pc.goto(f"{issuer}/interaction/no-such-thing/signin")
        audit(pc, "error")
        pc.goto(f"{issuer}/my/authorizations")
        expect(pc.locator("h3").first).to_contain_text("某市政务服务网")
        audit(pc, "my-authorizations")
        phone.goto(f"{issuer}/my/signin")
        audit(phone, "my-signin")

        pc.goto(f"{issuer}/logout?client_id={portal.client_id}")
        audit(pc, "logout-confirm")
        pc.click("main form button[type=submit]")
        expect(pc.locator("[role=status]")).to_contain_text("您已退出登录")
        audit(pc, "logged-out")

        # The wallet's QR pages: larger than the standard form and saying what they are for.
        phone.goto(f"{issuer}/demo/phone?ui=standard")
        standard = measure(phone)["qr"]
        phone.goto(f"{issuer}/demo/phone?ui=elder")
        expect(phone.locator("#qr-purpose")).to_have_text("这是您的付款码，请给收银员扫。")
        paying = audit(phone, "phone-payment")
        assert paying["qr"] > standard, (paying["qr"], standard)
        phone.goto(f"{issuer}/demo/phone/ride")
        expect(phone.locator("#qr-purpose")).to_contain_text("这是您的乘车码")
        audit(phone, "phone-ride")
    finally:
        pc.context.close()
        phone.context.close()


def test_the_form_post_page_in_elder_form(browser: object, world: tuple[str, Portal]) -> None:
    """Without JavaScript the form_post page stays, with its one button (OAuth 2.0 Form Post
    Response Mode, section 2)."""
    from playwright.sync_api import Browser
    from playwright.sync_api import expect

    _, portal = world
    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = _new_page(browser, java_script_enabled=False)
    try:
        page.goto(portal.authorize_url("form-post", ui="elder", response_mode="form_post"))
        page.wait_for_url("**/interaction/**/signin")
        _sign_in_with_pin(page, PIN)
        page.wait_for_selector("#form_post, button[name=decision]", state="attached")
        if page.locator("button[name=decision]").count():  # consent not given before
            page.click("button[name=decision][value=approve]")
        expect(page.locator("#form_post [role=status]")).to_have_text("正在返回应用，请稍候。")
        audit(page, "form-post")
    finally:
        page.context.close()


def _app_sign_in(page: Page, card: str) -> None:
    """The demo family app's sign-in (the code flow with prompt=login): the PIN, then consent
    when this browser has not given it yet."""
    page.click("#signin")
    page.wait_for_url("**/interaction/**/signin")
    audit(page, f"app-signin-{card}")
    page.fill("#credential", card)
    page.fill("#pin", PIN)
    page.click("main form button[type=submit]")
    page.wait_for_url(lambda url: "/consent" in url or url.endswith(("/daughter", "/father")))
    if "/consent" in page.url:
        page.click("button[name=decision][value=approve]")
    page.wait_for_url(lambda url: url.endswith(("/daughter", "/father")))


def _tap_switch(page: Page) -> None:
    before = measure(page)["elder"]
    page.click("#ui-switch")
    page.wait_for_load_state("load")
    assert measure(page)["elder"] is not before, "the switch changed the page's form"


def test_the_family_pages_in_elder_form(browser: object, world: tuple[str, Portal]) -> None:
    """issue 11 "Done when": the father turns 长辈版 on himself with the switch, and every page
    of the family story is then in it, on both phones; /my/family in all its states; the QR
    display larger than the standard one and saying whose code it is and for what."""
    from playwright.sync_api import Browser
    from playwright.sync_api import expect

    issuer, _ = world
    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    daughter, father = _new_page(browser), _new_page(browser)
    try:
        father.goto(f"{issuer}/demo/family/father")
        assert not measure(father)["elder"]
        _tap_switch(father)  # his own tap: kept in his browser, then for him at sign-in
        audit(father, "family-father-signed-out")
        daughter.goto(f"{issuer}/demo/family/daughter?ui=elder")  # her app knows: ui=elder
        audit(daughter, "family-daughter-signed-out")

        _app_sign_in(daughter, "A00000004")
        audit(daughter, "family-daughter")
        daughter.click("#ask button[type=submit]")
        expect(daughter.locator("#message")).to_contain_text("已发出申请")
        audit(daughter, "family-daughter-asked")

        _app_sign_in(father, "A00000001")
        audit(father, "family-father-consent")
        father.fill("form.confirm input[name=pin]", PIN)
        father.click("form.confirm button[type=submit]")
        expect(father.locator("#message")).to_contain_text("您已同意")
        audit(father, "family-father-consented")

        daughter.goto(f"{issuer}/demo/family/daughter")
        audit(daughter, "family-daughter-active")
        daughter.click("#show-code")
        expect(daughter.locator("#qr-purpose")).to_contain_text("的医保码，由您代为出示")
        expect(daughter.locator("#time-limit")).to_contain_text("1 分钟内有效")
        elder_code = audit(daughter, "family-code")["qr"]
        # The code page is a POST's answer: its switch goes back to her phone's page, as a GET.
        _tap_switch(daughter)
        assert daughter.url == f"{issuer}/demo/family/daughter"
        daughter.click("#show-code")
        standard_code = measure(daughter)["qr"]
        assert elder_code > standard_code, (elder_code, standard_code)
        _tap_switch(daughter)
        assert daughter.url == f"{issuer}/demo/family/daughter"
        daughter.click("#show-code")
        daughter.click("#renew button")  # one more minute: a new code
        expect(daughter.locator("#qr-purpose")).to_be_visible()
        audit(daughter, "family-code-renewed")

        daughter.goto(f"{issuer}/demo/family/daughter")
        daughter.click("#start-pension")
        expect(daughter.locator("#pension-waiting")).to_be_visible()
        audit(daughter, "family-daughter-pension-waiting")
        father.goto(f"{issuer}/demo/family/father")
        audit(father, "family-father-pension")
        father.click("#confirm-pension")
        expect(father.locator("#message")).to_contain_text("已刷脸确认")
        audit(father, "family-father-pension-confirmed")
        daughter.goto(f"{issuer}/demo/family/daughter")
        daughter.click("#finish-pension")
        expect(daughter.locator("#message")).to_have_text("养老待遇资格认证已完成。")
        audit(daughter, "family-daughter-certified")

        daughter.goto(f"{issuer}/my/family")
        expect(daughter.locator("#principals")).to_be_visible()
        audit(daughter, "my-family-agent")

        father.goto(f"{issuer}/demo/family/father")
        father.click("#my-family")
        expect(father.locator(".relative h3")).to_have_text("女儿 张小红")
        expect(father.locator("#history-lines")).to_contain_text("出示了您的医保码")
        expect(father.locator("#history-lines")).to_contain_text("养老待遇资格认证")
        audit(father, "my-family")
        # A relationship that is not there (a stale page): the message page, in plain words.
        father.locator(".relative input[name=id]").evaluate("(el) => { el.value = 'x'; }")
        father.click(".relative button[type=submit]")
        expect(father.locator("[role=alert]")).to_contain_text("没有找到这段亲情关系")
        audit(father, "my-family-not-found")
        father.click("main a")
        father.click(".relative button[type=submit]")
        expect(father.locator("#notice")).to_contain_text("已结束")
        audit(father, "my-family-ended")

        daughter.goto(f"{issuer}/demo/family/daughter?m=relationship-not-found")
        expect(daughter.locator("#message")).to_contain_text("没有找到这段亲情关系")
        audit(daughter, "family-daughter-refused")
    finally:
        daughter.context.close()
        father.context.close()

    # His own choice was saved for him at sign-in: another browser that never chose shows it.
    other = _new_page(browser)
    try:
        other.goto(f"{issuer}/my/signin")
        assert not measure(other)["elder"]
        _sign_in_with_pin(other, PIN)
        other.wait_for_url("**/my/authorizations*")
        assert measure(other)["elder"], "the father's 长辈版 followed him to another browser"
    finally:
        other.context.close()


def test_the_wallet_codes_in_elder_form(browser: object, world: tuple[str, Portal]) -> None:
    """The demo wallet's medical and identity codes: larger, what each is for in words, and
    renewed by the page before the minute is out (said on the page)."""
    from playwright.sync_api import Browser
    from playwright.sync_api import expect

    issuer, _ = world
    assert isinstance(browser, Browser)
    page = _new_page(browser)
    try:
        for purpose, words in (("medical", "医保码，请给医生"), ("identity", "身份码，请给办事")):
            page.goto(f"{issuer}/demo/phone/code/{purpose}?ui=standard")
            standard = measure(page)["qr"]
            page.goto(f"{issuer}/demo/phone/code/{purpose}?ui=elder")
            expect(page.locator("#qr-purpose")).to_contain_text(words)
            shown = audit(page, f"phone-{purpose}")
            assert shown["qr"] > standard, (purpose, shown["qr"], standard)
    finally:
        page.context.close()


def test_every_error_page_in_elder_form(browser: object, world: tuple[str, Portal]) -> None:
    """Each kind of error page a citizen can reach (docs/pages.md "Error pages"), in the
    elder form the citizen chose; a 405's switch leads to a page, not another 405."""
    from playwright.sync_api import Browser
    from playwright.sync_api import expect

    issuer, portal = world
    assert isinstance(browser, Browser)
    page = _new_page(browser)
    evil = "https://evil.example/cb"
    try:
        page.goto(f"{issuer}/demo")
        _tap_switch(page)
        audit(page, "demo-portal")
        cases = {
            "error-unknown-app": (
                f"{issuer}/authorize?client_id=nope&response_type=code&scope=openid"
                f"&redirect_uri={evil}",
                400,
            ),
            "error-unknown-return": (portal.authorize_url("evil", redirect_uri=evil), 400),
            "error-request-used": (
                f"{issuer}/authorize?client_id={portal.client_id}"
                "&request_uri=urn:ietf:params:oauth:request_uri:gone",
                400,
            ),
            "error-bad-request": (f"{issuer}/authorize", 400),
            "error-logout-bad-uri": (
                f"{issuer}/logout?client_id={portal.client_id}&post_logout_redirect_uri={evil}",
                400,
            ),
            "error-not-found": (f"{issuer}/demo/family/nobody", 404),
            "error-method": (f"{issuer}/my/family/end", 405),
        }
        for name, (url, status) in cases.items():
            answer = page.goto(url)
            assert answer is not None and answer.status == status, (name, answer and answer.status)
            expect(page.locator("[role=alert]")).to_be_visible()
            audit(page, name)
        # The 405 page's switch: back to the page its form belongs to, as a GET.
        with page.expect_navigation():
            page.click("#ui-switch")
        assert page.url.startswith((f"{issuer}/my/family", f"{issuer}/my/signin")), page.url
        _tap_switch(page)
        # A form posted without its CSRF token (e.g. from another site).
        page.goto(f"{issuer}/my/signin")
        page.evaluate(
            """() => { const f = document.createElement("form");
                       f.method = "post"; f.action = "/logout/confirm";
                       document.body.appendChild(f); f.submit(); }"""
        )
        page.wait_for_url(f"{issuer}/logout/confirm")
        expect(page.locator("[role=alert]")).to_be_visible()
        audit(page, "error-bad-form")
    finally:
        page.context.close()
