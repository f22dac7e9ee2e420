"""``idp.oauth.rfc6750.presented_token``: the one reading of ``Authorization: Bearer``."""

from __future__ import annotations

import pytest

from idp.errors import InvalidToken
from idp.oauth.rfc6750 import MAX_TOKEN_LENGTH
from idp.oauth.rfc6750 import PresentedToken
from idp.oauth.rfc6750 import presented_token

JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (f"Bearer {JWT}", JWT),
        (f"bearer {JWT}", JWT),  # RFC 9110 11.1: the scheme is case-insensitive
        (f"BEARER  {JWT} ", JWT),
        ("Bearer abc-._~+/==", "abc-._~+/=="),  # every b64token character
    ],
)
def test_a_bearer_token_with_its_scheme(header: str, token: str) -> None:
    assert presented_token(header) == PresentedToken("bearer", token)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Basic Y2xpZW50OnNlY3JldA==",
        'WECHATPAY2-SHA256-RSA2048 mchid="1900000001",nonce_str="n"',
        "ALIPAY-SHA256withRSA app_id=2021,nonce=n",
        "BearerX abc",
    ],
)
def test_no_token_scheme_is_no_token(header: str | None) -> None:
    assert presented_token(header) is None


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer a b",
        'Bearer "abc"',
        "Bearer abc=d",
        "Bearer 令牌",
        "Bearer " + "a" * (MAX_TOKEN_LENGTH + 1),
    ],
)
def test_a_malformed_bearer_token_is_invalid(header: str) -> None:
    with pytest.raises(InvalidToken):
        presented_token(header)
