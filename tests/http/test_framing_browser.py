"""``frame-ancestors`` per embedding channel in Debian's Chromium (issue 13 item 7): a portal
registered with ``essc clients add --embed-origin`` frames the sign-in page from that origin
and a citizen signs in, consents and lands on its callback inside the frame; a page on another
origin cannot frame it, nor can the embedding origin frame another client's sign-in page.

Every origin is on 127.0.0.1 (ports differ, so origins differ, while the site is the same and
the frame keeps its SameSite=Lax cookies: docs/security.md "Framing" says why a cross-site
embedder needs more).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.live import essc
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import serving

pytestmark = [pytest.mark.browser, pytest.mark.live]

PIN = "802413"
CARD = "A00000001"
STEP_MS = 20_000


class Site:
    """A page on its own origin that frames ``src`` (set per test), and a callback page."""

    def __init__(self) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.src = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/cb"):
                    body = "<!doctype html><title>cb</title><p id=back>back at the portal</p>"
                else:
                    body = (
                        "<!doctype html><title>embedder</title>"
                        f'<iframe id=essc name=essc src="{site.src}" width=800 height=900>'
                        "</iframe>"
                    )
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _authorize_url(issuer: str, client: dict[str, Any]) -> str:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    query = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": client["redirect_uris"][0],
        "scope": "openid",
        "state": "st-embed",
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{issuer}/authorize?{urlencode(query)}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("framing")
    issuer = f"http://127.0.0.1:{free_port()}"
    env = hermetic_env(tmp, issuer)
    essc(env, tmp, "init")
    essc(env, tmp, "cardholders", "add", "--name", "张三", "--id-number", "11010519491231002X",
         "--region-code", "110105", "--card-number", CARD, "--pin", PIN)  # fmt: skip
    allowed, other = Site(), Site()
    try:

        def add(name: str, *extra: str) -> dict[str, Any]:
            out = essc(
                env, tmp, "clients", "add", "--name", name, "--kind", "portal",
                "--grant-type", "authorization_code", "--auth-method", "client_secret_basic",
                "--redirect-uri", f"{allowed.origin}/cb", "--scope", "openid", *extra,
            )  # fmt: skip
            client: dict[str, Any] = json.loads(out)
            return client

        embedding = add("嵌入门户 Embedding portal", "--embed-origin", allowed.origin)
        assert embedding["essc_embed_origins"] == [allowed.origin]
        plain = add("普通门户 Plain portal")
        port = int(issuer.rsplit(":", 1)[1])
        with serving(env, tmp, port, tmp / "serve.log"):
            yield {
                "issuer": issuer,
                "allowed": allowed,
                "other": other,
                "embedding": embedding,
                "plain": plain,
            }
    finally:
        allowed.close()
        other.close()


class Framed:
    """One browser context on one embedder page; what the frame got and what was refused."""

    def __init__(self, browser: Any, site: Site, src: str) -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.page.set_default_timeout(STEP_MS)
        self.refusals: list[str] = []
        self.answers: list[tuple[str, str]] = []
        self.page.on("console", self._console)
        self.page.on("response", self._response)
        site.src = src
        self.page.goto(f"{site.origin}/")

    def _console(self, message: Any) -> None:
        if "frame-ancestors" in message.text or "Refused to display" in message.text:
            self.refusals.append(message.text)

    def _response(self, answer: Any) -> None:
        if "/interaction/" in answer.url and answer.url.endswith("/signin"):
            self.answers.append((answer.url, answer.headers.get("content-security-policy", "")))

    def frame(self) -> Any:
        return self.page.frame(name="essc")

    def close(self) -> None:
        self.context.close()


def _wait_for_signin_answer(framed: Framed) -> None:
    """Until the sign-in page has been answered (the frame's load or refusal follows)."""
    for _ in range(STEP_MS // 100):
        if framed.answers:
            break
        framed.page.wait_for_timeout(100)
    assert framed.answers, "the sign-in page was never answered"
    framed.page.wait_for_timeout(500)


def test_the_registered_origin_frames_the_sign_in_and_the_flow_completes(
    browser: Any, world: dict[str, Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    allowed: Site = world["allowed"]
    framed = Framed(browser, allowed, _authorize_url(world["issuer"], world["embedding"]))
    try:
        frame = framed.page.frame_locator("#essc")
        expect(frame.locator("#credential")).to_be_visible()
        assert framed.refusals == []
        policy = framed.answers[0][1]
        assert f"frame-ancestors {allowed.origin};" in policy, policy
        framed.page.screenshot(path=str(tmp_path / "embedded-signin.png"))
        frame.locator("#credential").fill(CARD)
        frame.locator("#pin").fill(PIN)
        frame.locator("form:has(#pin) button[type=submit]").click()
        frame.locator("button[name=decision][value=approve]").click()
        expect(frame.locator("#back")).to_be_visible()
        landed = framed.frame().url
        assert landed.startswith(f"{allowed.origin}/cb?code="), landed
        assert "state=st-embed" in landed and framed.refusals == []
    finally:
        framed.close()


def test_another_origin_cannot_frame_it(browser: Any, world: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    framed = Framed(browser, world["other"], _authorize_url(world["issuer"], world["embedding"]))
    try:
        _wait_for_signin_answer(framed)
        expect(framed.page.frame_locator("#essc").locator("#credential")).to_have_count(0)
        assert any("frame-ancestors" in r for r in framed.refusals), framed.refusals
    finally:
        framed.close()


def test_the_embedding_origin_cannot_frame_another_clients_sign_in(
    browser: Any, world: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    framed = Framed(browser, world["allowed"], _authorize_url(world["issuer"], world["plain"]))
    try:
        _wait_for_signin_answer(framed)
        expect(framed.page.frame_locator("#essc").locator("#credential")).to_have_count(0)
        assert any("frame-ancestors 'none'" in r for r in framed.refusals), framed.refusals
        assert "frame-ancestors 'none'" in framed.answers[0][1]
    finally:
        framed.close()
