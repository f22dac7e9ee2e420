"""A PC browser and a channel app for scan-to-sign-in tests (docs/scan-signin.md)."""

from __future__ import annotations

import re
from typing import Any

from idp.provider import Provider
from tests.channel_signin.test_in_channel_signin import Channel
from tests.channel_signin.test_in_channel_signin import _ecard
from tests.support import authorize_params
from tests.support import pkce_pair

API = "/api/v1/scan-signin"


class Phone:
    """A channel app holding one e-card of the cardholder; every call signs a fresh assertion."""

    def __init__(self, provider: Provider, person_id: str) -> None:
        self.channel = Channel(provider)
        self.sign_no = _ecard(provider, person_id, self.channel.client_id)

    def call(self, web: Any, step: str, request: object, **extra: Any) -> Any:
        body = {"request": request, "assertion": self.channel.hint(self.sign_no), **extra}
        return web.post(f"{API}/{step}", json=body)


def open_scan_page(web: Any, portal: Any) -> tuple[str, str, str]:
    """(interaction base path, QR text, PKCE verifier) of a fresh PC scan page."""
    verifier, challenge = pkce_pair()
    response = web.get("/authorize", query_string=authorize_params(portal, challenge))
    assert response.status_code == 303
    base = response.headers["Location"].rsplit("/", 1)[0]
    page = web.get(f"{base}/scan")
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    found = re.search(r'data-request="([^"]+)"', page.get_data(as_text=True))
    assert found
    return base, found.group(1), verifier
