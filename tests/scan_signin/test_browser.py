"""Scan-to-sign-in in a real browser (Debian's Chromium, Playwright): the PC page of ``make
run``'s demo portal, in zh-CN and English, while an HTTP client plays the phone through the
channel API with the demo e-SSC app's key. Screenshots: artifacts/screenshots/scan-*.png."""

from __future__ import annotations

import json
import os
import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.live import essc
from tests.live import free_port
from tests.live import serving

pytestmark = [pytest.mark.browser, pytest.mark.live]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
STEP_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("scan")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESSC_")}
    env.update(ESSC_INSTANCE_DIR=str(tmp / "instance"), ESSC_ISSUER=f"http://127.0.0.1:{port}")
    essc(env, tmp, "init")
    essc(env, tmp, "demo")
    with serving(env, tmp, port, tmp / "serve.log") as issuer:
        yield issuer, tmp / "instance"


def _phone(issuer: str, instance: Path, step: str, qr: str, **extra: Any) -> dict[str, Any]:
    """The channel app's call: a fresh assertion signed with the demo app's key."""
    app = json.loads((instance / "demo-scan-app.json").read_text())
    key: Any = serialization.load_pem_private_key(app["key"].encode(), password=None)
    now = int(__import__("time").time())
    claims = {
        "iss": app["client_id"],
        "aud": issuer,
        "sub": app["sign_no"],
        "iat": now,
        "exp": now + 120,
        "auth_time": now,
        "verified_by": "realname",
        "jti": secrets.token_urlsafe(16),
    }
    token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "demo-app-1"})
    body = json.dumps({"request": qr, "assertion": token, **extra}).encode()
    req = urllib.request.Request(
        f"{issuer}/api/v1/scan-signin/{step}", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as answer:
        result: dict[str, Any] = json.load(answer)
        return result


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_scan_to_sign_in(browser: Any, demo: tuple[str, Path], locale: str) -> None:
    from playwright.sync_api import expect

    issuer, instance = demo
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale=locale, viewport={"width": 1024, "height": 900})
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else 0)
    try:
        page.goto(f"{issuer}/demo/login?ui_locales={locale}")
        page.wait_for_url("**/interaction/**/signin")
        page.click("#scan")
        page.wait_for_url("**/interaction/**/scan")
        expect(page.locator("html")).to_have_attribute("lang", locale)
        page.screenshot(path=str(ARTIFACTS / f"scan-waiting-{locale}.png"), full_page=True)
        qr = page.locator("#qr").get_attribute("data-request")
        assert qr and qr.startswith("ESSC:SIGNIN:")

        scanned = _phone(issuer, instance, "scan", qr)
        assert scanned["portal"]["name"].startswith("示例政务门户")
        expect(page.locator("#number")).not_to_be_empty()
        number = int(page.locator("#number").inner_text())
        assert number in scanned["choices"]
        page.screenshot(path=str(ARTIFACTS / f"scan-scanned-{locale}.png"), full_page=True)

        assert _phone(issuer, instance, "approve", qr, number=number)["state"] == "approved"
        # Consent the first time only (the other language's run may have given it).
        page.wait_for_url(lambda url: url.endswith("/consent") or "/demo/callback" in url)
        if page.url.endswith("/consent"):
            page.click("button[name=decision][value=approve]")
            page.wait_for_url(f"{issuer}/demo/callback**")
        id_token = json.loads(page.locator("#id_token").inner_text())
        assert id_token["acr"] == "urn:essc:acr:channel-realname" and id_token["amr"] == ["user"]
        assert violations == []
    finally:
        context.close()
