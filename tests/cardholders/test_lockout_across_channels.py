"""Issue 13 item 6: the e-card PIN lockout holds across channels. The failures are counted on
the cardholder (``idp.cardholders.service.check_pin``: one conditional UPDATE on the person),
not per client, so wrong PINs typed through two channels' sign-in pages and a third channel's
card API add up to one count, and the lock then refuses the right PIN everywhere."""

from __future__ import annotations

from typing import Any

from tests.ecards.test_channel_card_changes import card_path
from tests.ecards.test_channel_card_changes import issued
from tests.ecards.test_ecards_api import assert_problem
from tests.support import CARD
from tests.support import authorize_params
from tests.support import pkce_pair
from tests.support import register
from tests.support import sign_in

WRONG = "000000"


def _signin_location(web: Any, client: Any) -> str:
    _, challenge = pkce_pair()
    response = web.get("/authorize", query_string=authorize_params(client, challenge))
    location: str = response.headers["Location"]
    assert location.endswith("/signin"), location
    return location


def test_wrong_pins_through_different_channels_count_together(
    provider: Any, web: Any, clock: Any, cardholder: Any
) -> None:
    assert provider.settings.pin_max_failures == 5
    wechat = register(provider, kind="wechat", redirect_uris=("https://wx.example/cb",))
    alipay = register(provider, kind="alipay", redirect_uris=("https://ali.example/cb",))
    _, bank_headers, sign_no = issued(provider, web, "unionpay")
    at_wechat, at_alipay = _signin_location(web, wechat), _signin_location(web, alipay)

    assert sign_in(web, at_wechat, pin=WRONG).status_code == 401  # 1
    assert sign_in(web, at_alipay, pin=WRONG).status_code == 401  # 2
    wrong = {"factor": "pin", "pin": WRONG}
    assert_problem(
        web.post(card_path(sign_no, "suspend"), json=wrong, headers=bank_headers),
        403,
        "factor-failed",
    )  # 3, through a third channel's card API
    assert sign_in(web, at_wechat, pin=WRONG).status_code == 401  # 4
    assert sign_in(web, at_alipay, pin=WRONG).status_code == 429  # 5: the lock, at another channel

    # Locked everywhere, the right PIN included, by card number or by ID number.
    assert sign_in(web, at_wechat).status_code == 429
    assert sign_in(web, at_alipay, credential=CARD["id_number"]).status_code == 429
    right = {"factor": "pin", "pin": CARD["pin"]}
    assert_problem(
        web.post(card_path(sign_no, "suspend"), json=right, headers=bank_headers),
        423,
        "pin-locked",
    )

    clock.advance(provider.settings.pin_lockout_seconds + 1)
    assert sign_in(web, _signin_location(web, alipay)).status_code == 303
