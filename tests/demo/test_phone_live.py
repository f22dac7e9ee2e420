"""The scan-to-pay tour of README.md ("Try scan-to-pay", issue 9 item 7), as written, against one
``essc serve`` (``essc init; essc demo``), with the phone page in a real browser."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from subprocess import Popen

import pytest
import zxingcpp

from tests.live import ROOT
from tests.live import essc
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import serving
from tests.qr.png import read_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.live]
MERCHANT = ROOT / "docs" / "examples" / "merchant.py"
GATE = ROOT / "docs" / "examples" / "gate.py"
#: The server rebuilds its status list this often here (ESSC_QR_STATUS_LIST_TTL; 60 by default),
#: so the gate's refusal comes within seconds instead of two minutes.
LIST_TTL = 3
PIN = "802413"
STEP_MS = 20_000


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Path]]:
    tmp = tmp_path_factory.mktemp("phone")
    port = free_port()
    env = hermetic_env(tmp, f"http://127.0.0.1:{port}")
    env["PYTHONPATH"] = str(ROOT)
    env["ESSC_QR_STATUS_LIST_TTL"] = str(LIST_TTL)
    essc(env, tmp, "init")
    essc(env, tmp, "demo")
    with serving(env, tmp, port, tmp / "serve.log") as issuer:
        yield issuer, env, tmp


def merchant(env: dict[str, str], cwd: Path, *args: str, script: Path = MERCHANT) -> Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out


def test_tour_pays_with_the_pin_on_the_phone_then_suspension_stops_codes(
    browser: object, tour: tuple[str, dict[str, str], Path]
) -> None:
    from playwright.sync_api import Browser
    from playwright.sync_api import expect

    issuer, env, cwd = tour
    assert isinstance(browser, Browser)
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))  # the script runs, CSP or not
    page.on(
        "response",
        lambda r: errors.append(r.url) if r.status >= 400 and "favicon" not in r.url else None,
    )
    try:
        page.goto(f"{issuer}/demo/phone")
        expect(page.locator("h1")).to_contain_text("付款码")
        svg = page.locator("#code svg")
        box = svg.bounding_box()
        assert box is not None and box["width"] >= 300  # large enough to scan from a phone
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # whole, quiet zone included
        first = page.locator("#code").get_attribute("data-code")
        shot = page.screenshot(path=str(cwd / "phone.png"), full_page=True)
        after = page.locator("#code").get_attribute("data-code")
        pixels, width, height = read_screenshot(shot)
        (seen,) = zxingcpp.read_barcodes(memoryview(pixels).cast("B", (height, width)))
        # A scanner reads the shown code off the screen (the page may have renewed it meanwhile).
        assert seen.text in {first, after}
        # The static script reloads the page: a new code appears without anyone touching it.
        page.wait_for_function(
            "c => document.getElementById('code').getAttribute('data-code') !== c", arg=first
        )

        paying = merchant(env, cwd, "pay", "--amount", "88800")
        page.wait_for_selector("form.confirm", timeout=STEP_MS)
        page.fill("form.confirm input[name=pin]", PIN)
        page.click("form.confirm button[type=submit]")
        expect(page.locator("#message")).to_have_text("支付已确认")
        page.screenshot(path=str(cwd / "phone-confirmed.png"), full_page=True)
        code, out = finished(paying)
        assert code == 0, out
        assert re.search(r"^offline: valid payment code", out, re.M), out
        assert "pending_confirmation" in out and "state: authorized" in out, out
        assert "capture: captured 88800 fen" in out and '"state": "refunded"' in out, out

        shown = finished(merchant(env, cwd, "code"))[1].strip()
        essc(
            env,
            cwd,
            "cards",
            "suspend",
            "--card-number",
            "A00000001",
            "--actor",
            "op-0001",
            "--factor",
            "counter",
        )
        code, out = finished(merchant(env, cwd, "pay", "--code", shown, "--amount", "100"))
        assert code == 1 and "problems/code-revoked" in out, out
        page.goto(f"{issuer}/demo/phone")
        expect(page.locator("#refused")).to_contain_text("card-not-usable")
        assert page.locator("#code").count() == 0
        essc(
            env,
            cwd,
            "cards",
            "resume",
            "--card-number",
            "A00000001",
            "--actor",
            "op-0001",
            "--factor",
            "counter",
        )
        page.goto(f"{issuer}/demo/phone")
        expect(page.locator("#code svg")).to_be_visible()
    finally:
        context.close()
    assert errors == []


def suspension(env: dict[str, str], cwd: Path, command: str) -> None:
    essc(env, cwd, "cards", command, "--card-number", "A00000001", "--actor", "op-0001",
         "--factor", "counter")  # fmt: skip


def test_tour_gate_refuses_offline_ride_codes_once_the_status_list_refreshes(
    browser: object, tour: tuple[str, dict[str, str], Path]
) -> None:
    from playwright.sync_api import Browser
    from playwright.sync_api import expect

    issuer, env, cwd = tour
    assert isinstance(browser, Browser)
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(f"{issuer}/demo/phone/ride")
        codes = page.locator("#ride li")
        assert codes.count() == 5
        expect(page.locator("#ride li:visible")).to_have_count(1)
        pixels, width, height = read_screenshot(page.screenshot(path=str(cwd / "ride.png")))
        seen = zxingcpp.read_barcodes(memoryview(pixels).cast("B", (height, width)))
        # One symbol on screen: the decoder may report it more than once, never another code.
        assert {s.text for s in seen} == {codes.first.get_attribute("data-code")}
    finally:
        context.close()

    code, batch = finished(merchant(env, cwd, "batch", script=GATE))
    assert code == 0 and len(batch.split("\n")) == 6, batch  # five codes, one per line
    (cwd / "ride-codes.txt").write_text(batch)
    gate = merchant(env, cwd, "watch", "ride-codes.txt", "--every", "1", "--for", "60", script=GATE)
    assert gate.stdout is not None
    first = gate.stdout.readline()
    assert re.fullmatch(r"\d\d:\d\d:\d\d ride code 1/5 valid \(status list of .*\)\n", first)
    suspension(env, cwd, "suspend")
    try:
        code, out = finished(gate)
        lines = out.strip().split("\n")
        assert code == 0 and lines[-1].split(" ", 1)[1].startswith("ride code"), out
        assert "refused: revoked" in lines[-1], out
        # Within the server's list interval plus the gate's, after a few scans still "valid".
        assert len(lines) <= 2 * LIST_TTL + 3, out
    finally:
        suspension(env, cwd, "resume")
