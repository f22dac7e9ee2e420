"""A newcomer's first sign-in, in a real browser: Debian's Chromium driven by Playwright.

Starts the server the way ``make run`` does (``essc init``, ``essc demo``, ``essc serve``) over a
fresh instance directory, opens the demo portal, signs in with the demo card and PIN, approves
consent, and checks that the portal greets the cardholder and shows the UserInfo it fetched.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.live]

CHROMIUM = Path("/usr/bin/chromium")
ESSC = Path(sys.executable).parent / "essc"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
START_TIMEOUT = 30.0
STEP_TIMEOUT_MS = 20_000


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run(env: dict[str, str], cwd: Path, *args: str) -> str:
    result = subprocess.run(
        [str(ESSC), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"essc {args[0]}: {result.stdout}\n{result.stderr}"
    return result.stdout


def _wait_until_ready(proc: subprocess.Popen[bytes], issuer: str, log: Path) -> None:
    url = f"{issuer}/.well-known/openid-configuration"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"essc serve exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)  # waiting for a process to bind its port, not for protocol time
    pytest.fail(f"{url} did not answer in {START_TIMEOUT:.0f}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``make run`` in a temporary directory: the issuer URL of a running server."""
    tmp = tmp_path_factory.mktemp("browser")
    issuer = f"http://127.0.0.1:{_free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESSC_")}
    env.update(ESSC_INSTANCE_DIR=str(tmp / "instance"), ESSC_ISSUER=issuer)
    _run(env, tmp, "init")
    _run(env, tmp, "demo")
    log = tmp / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(ESSC), "serve", "--port", issuer.rsplit(":", 1)[1]],
            env=env,
            cwd=tmp,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped below, and only it
        )
    try:
        _wait_until_ready(proc, issuer, log)
        yield issuer
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make system-deps` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


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
        page.click("form button[type=submit]")

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
