"""The family story of README.md ("Try the family story", issue 11 "Done when"), against one
``essc serve`` (``essc init; essc demo``), with both phones in a real browser (one context
each): the daughter adds her father, he consents in his channel, she shows his medical code at
the simulated hospital scanner (``docs/examples/hospital.py``: offline check, then one online
redemption) and completes his pension certification with his face from his phone; he sees both
in his history on /my/family and ends the relationship; her delegated token and the code she
minted are refused at once."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zxingcpp

from tests.live import ROOT
from tests.live import essc
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import serving
from tests.qr.png import read_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.live]
HOSPITAL = ROOT / "docs" / "examples" / "hospital.py"
STEP_MS = 20_000


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Path]]:
    tmp = tmp_path_factory.mktemp("family")
    port = free_port()
    env = hermetic_env(tmp, f"http://127.0.0.1:{port}")
    env["PYTHONPATH"] = str(ROOT)
    env["ESSC_QR_STATUS_LIST_TTL"] = "3"
    essc(env, tmp, "init")
    seeded = essc(env, tmp, "demo")
    assert "/demo/family/daughter" in seeded, seeded
    with serving(env, tmp, port, tmp / "serve.log") as issuer:
        yield issuer, env, tmp


def hospital(env: dict[str, str], cwd: Path, code: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, str(HOSPITAL), "scan", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


def phone(chromium: Any, errors: list[str]) -> Any:
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "response",
        lambda r: errors.append(r.url) if r.status >= 400 and "favicon" not in r.url else None,
    )
    return page


def sign_in(page: Any, card: str, pin: str = "802413") -> None:
    page.click("#signin")
    page.fill("#credential", card)
    page.fill("#pin", pin)
    page.click("main form button[type=submit]")
    page.click("button[name=decision][value=approve]")


def test_the_family_story(browser: Any, story: tuple[str, dict[str, str], Path]) -> None:
    from playwright.sync_api import expect

    issuer, env, cwd = story
    errors: list[str] = []
    daughter, father = phone(browser, errors), phone(browser, errors)
    try:
        # She signs in on her phone and asks to act for her father.
        daughter.goto(f"{issuer}/demo/family/daughter")
        sign_in(daughter, "A00000004")
        expect(daughter.locator("h1")).to_have_text("亲情服务")
        daughter.screenshot(path=str(cwd / "family-daughter.png"), full_page=True)
        daughter.click("#ask button[type=submit]")
        expect(daughter.locator("#message")).to_contain_text("已发出申请")

        # He consents in his own channel: his app's face check, then his PIN.
        father.goto(f"{issuer}/demo/family/father")
        sign_in(father, "A00000001")
        father.screenshot(path=str(cwd / "family-father.png"), full_page=True)
        father.fill("form.confirm input[name=pin]", "802413")
        father.click("form.confirm button[type=submit]")
        expect(father.locator("#message")).to_contain_text("您已同意")

        # She shows his medical code; the hospital reads it off her screen and redeems it.
        daughter.goto(f"{issuer}/demo/family/daughter")
        daughter.click("#show-code")
        first = daughter.locator("#code").get_attribute("data-code")
        shot = daughter.screenshot(path=str(cwd / "family-code.png"), full_page=True)
        pixels, width, height = read_screenshot(shot)
        seen = zxingcpp.read_barcodes(memoryview(pixels).cast("B", (height, width)))
        assert {s.text for s in seen} == {first}
        status, out = hospital(env, cwd, first)
        assert status == 0, out
        assert "shown by a relative (family proxy)" in out, out
        assert re.search(r"^redeem: 张三 A0\*{5}01 ", out, re.M), out

        # Pension certification: she starts, he confirms with his face, she completes.
        daughter.goto(f"{issuer}/demo/family/daughter")
        daughter.click("#start-pension")
        expect(daughter.locator("#pension-waiting")).to_be_visible()
        father.goto(f"{issuer}/demo/family/father")
        father.click("#confirm-pension")
        expect(father.locator("#message")).to_contain_text("已刷脸确认")
        daughter.goto(f"{issuer}/demo/family/daughter")
        daughter.click("#finish-pension")
        expect(daughter.locator("#message")).to_have_text("养老待遇资格认证已完成。")

        # She mints another code, not yet scanned.
        daughter.goto(f"{issuer}/demo/family/daughter")
        relationship = daughter.locator("li.relative").get_attribute("id").removeprefix("rel-")
        daughter.click("#show-code")
        second = daughter.locator("#code").get_attribute("data-code")
        assert second and second != first

        # He reads both in his history, in plain words, and ends the relationship.
        father.goto(f"{issuer}/demo/family/father")
        father.click("#my-family")
        expect(father.locator("h1")).to_have_text("我的亲情服务")
        expect(father.locator(".relative h3")).to_have_text("女儿 张小红")
        history = father.locator("#history-lines").inner_text()
        assert re.search(r"女儿 张小红 于 \d+月\d+日 \d\d:\d\d 出示了您的医保码", history), history
        assert re.search(r"女儿 张小红 于 .* 为您完成了养老待遇资格认证，有效期至 \d{4}年", history)
        assert "11010519491231002X" not in father.content()
        father.screenshot(path=str(cwd / "my-family.png"), full_page=True)
        father.click(".relative button[type=submit]")
        expect(father.locator("#notice")).to_contain_text("已结束")
        expect(father.locator("#history-lines li").first).to_contain_text("您于")

        # Her access stops at once: the delegated token her app kept, and the code she minted.
        # (Her phone page's own form token, as the button she no longer sees would send.)
        daughter.goto(f"{issuer}/demo/family/daughter")
        csrf = daughter.locator("input[name=csrf_token]").first.get_attribute("value") or ""
        form = {"relationship_id": relationship, "csrf_token": csrf}
        refused = daughter.request.post(f"{issuer}/demo/family/daughter/code", form=form)
        assert refused.url.endswith("m=invalid_token"), refused.url
        again = daughter.request.post(f"{issuer}/demo/family/daughter/code", form=form)
        assert again.url.endswith("m=relationship-not-found"), again.url
        status, out = hospital(env, cwd, second)
        assert status == 1, out
        assert re.search(r"refused \(revoked\)|refused 422 code-revoked", out), out
        daughter.goto(f"{issuer}/demo/family/daughter")
        assert daughter.locator("li.relative").count() == 0
    finally:
        daughter.context.close()
        father.context.close()
    assert errors == []
