"""``max_age`` (OIDC Core 3.1.2.1): 0 forces a new sign-in, even within the same second."""

from __future__ import annotations

from typing import Any

from tests.support import authorize_params
from tests.support import obtain_code
from tests.support import pkce_pair
from tests.support import query_of


def _authorize(web: Any, portal: Any, **extra: str) -> Any:
    _, challenge = pkce_pair()
    return web.get("/authorize", query_string=authorize_params(portal, challenge, **extra))


def test_max_age_zero_asks_again_right_after_a_sign_in(
    web: Any, clock: Any, cardholder: Any, portal: Any
) -> None:
    obtain_code(web, portal)
    for _ in range(5):
        response = _authorize(web, portal, max_age="0")
        assert response.status_code == 303
        assert response.headers["Location"].endswith("/signin"), response.headers["Location"]
        clock.advance(0.3)


def test_max_age_zero_with_prompt_none_is_login_required(
    web: Any, cardholder: Any, portal: Any
) -> None:
    obtain_code(web, portal)
    query = query_of(_authorize(web, portal, max_age="0", prompt="none").headers["Location"])
    assert query["error"] == "login_required" and query["state"] == "st-123"


def test_max_age_is_met_until_more_than_its_seconds_have_passed(
    web: Any, clock: Any, cardholder: Any, portal: Any
) -> None:
    obtain_code(web, portal)
    clock.advance(60)
    assert "code" in query_of(_authorize(web, portal, max_age="60").headers["Location"])
    clock.advance(1)
    assert _authorize(web, portal, max_age="60").headers["Location"].endswith("/signin")


def test_a_fresh_sign_in_satisfies_max_age_zero(web: Any, cardholder: Any, portal: Any) -> None:
    obtain_code(web, portal)
    code, _ = obtain_code(web, portal, max_age="0")
    assert code
