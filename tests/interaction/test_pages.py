"""What the sign-in and error pages tell the citizen, in both languages (issue 10, item 7)."""

from __future__ import annotations

import html
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any
from urllib.parse import urlsplit

from tests.support import CARD


def _signin_location(web: Any, portal: Any, **extra: str) -> str:
    from tests.support import authorize_params
    from tests.support import pkce_pair

    _, challenge = pkce_pair()
    params = {**authorize_params(portal, challenge), **extra}
    location: str = web.get("/authorize", query_string=params).headers["Location"]
    return location


def _text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_wrong_pin_counts_down_keeps_the_card_number_and_says_until_when(
    web: Any, clock: Any, cardholder: Any, portal: Any
) -> None:
    from tests.support import sign_in

    location = _signin_location(web, portal)
    pages = [_text(sign_in(web, location, pin="999999")) for _ in range(5)]
    for page, tries in zip(pages[:3], (4, 3, 2), strict=True):
        assert f"还可以再试 {tries} 次" in page
        assert f'value="{CARD["card_number"]}"' in page, "the typed card number is kept"
    assert "最后一次机会" in pages[3]
    until = datetime.fromtimestamp(clock.now + 15 * 60, timezone(timedelta(hours=8)))
    assert "已被锁定" in pages[4] and until.strftime("%Y-%m-%d %H:%M") in pages[4]
    refused = _text(sign_in(web, location))
    assert until.strftime("%Y-%m-%d %H:%M") in refused, "a refused right PIN says until when"


def test_wrong_pin_in_english(web: Any, cardholder: Any, portal: Any) -> None:
    from tests.support import sign_in

    location = _signin_location(web, portal, ui_locales="en")
    page = _text(sign_in(web, location, pin="999999"))
    assert "You can try 4 more times before the PIN is locked." in page
    assert '<html lang="en">' in page


def test_an_unknown_interaction_says_what_to_do_next(web: Any) -> None:
    response = web.get("/interaction/no-such-thing/signin")
    page = _text(response)
    assert response.status_code == 400
    assert "请返回应用重新发起" in page
    assert "invalid_request" not in page and "Traceback" not in page
    assert response.headers["X-Request-Id"] in page, "the request id, for support"


def test_pages_carry_a_strict_content_security_policy(web: Any, portal: Any) -> None:
    response = web.get(_signin_location(web, portal))
    policy = response.headers["Content-Security-Policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"):
        assert directive in policy
    assert "unsafe-inline" not in policy
    target = "{0.scheme}://{0.netloc}{0.path}".format(urlsplit(portal.redirect_uri))
    assert policy.endswith(f"form-action 'self' {target}")
