"""Assurance and single sign-on (issue 10 items 3-4): ``acr`` in the ID token (OIDC Core 2),
``acr_values`` and an essential ``claims.id_token.acr`` (3.1.2.1, 5.5.1.1), ``prompt``
(3.1.2.1, errors in 3.1.2.6) and one browser session shared by two portals."""

from __future__ import annotations

import json
from typing import Any

import jwt
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from idp.interaction.assurance import ACR_FACE
from idp.interaction.assurance import ACR_ORDER
from idp.interaction.assurance import ACR_PIN
from idp.interaction.i18n import text
from tests.support import authorize_params
from tests.support import exchange
from tests.support import obtain_code
from tests.support import pkce_pair
from tests.support import query_of
from tests.support import register
from tests.support import sign_in

ESSENTIAL_FACE = json.dumps({"id_token": {"acr": {"essential": True, "values": [ACR_FACE]}}})


def _authorize(web: Any, client: Any, **extra: str) -> Any:
    _, challenge = pkce_pair()
    return web.get("/authorize", query_string=authorize_params(client, challenge, **extra))


def _id_token(web: Any, client: Any, **extra: str) -> dict[str, Any]:
    code, verifier = obtain_code(web, client, **extra)
    response = exchange(web, client, code, verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    claims: dict[str, Any] = jwt.decode(
        response.get_json()["id_token"], options={"verify_signature": False}
    )
    return claims


def test_a_pin_sign_in_puts_the_pin_acr_in_the_id_token(
    web: Any, cardholder: Any, portal: Any
) -> None:
    assert _id_token(web, portal)["acr"] == ACR_PIN


def test_acr_values_the_pin_session_meets_get_a_code(
    web: Any, cardholder: Any, portal: Any
) -> None:
    assert _id_token(web, portal, acr_values=ACR_PIN)["acr"] == ACR_PIN


def test_an_essential_face_acr_shows_the_app_notice_instead_of_the_pin_form(
    web: Any, cardholder: Any, portal: Any
) -> None:
    response = _authorize(web, portal, claims=ESSENTIAL_FACE)
    location = response.headers["Location"]
    assert location.endswith("/signin"), location
    page = web.get(location).get_data(as_text=True)
    assert text("zh-CN")["step_up_app"] in page
    assert 'name="pin"' not in page


def test_an_essential_face_acr_after_a_pin_sign_in_still_needs_the_app(
    web: Any, cardholder: Any, portal: Any
) -> None:
    obtain_code(web, portal)
    response = _authorize(web, portal, claims=ESSENTIAL_FACE)
    location = response.headers["Location"]
    assert location.endswith("/signin"), location
    assert text("zh-CN")["step_up_app"] in web.get(location).get_data(as_text=True)


def test_an_essential_face_acr_with_prompt_none_is_interaction_required(
    web: Any, cardholder: Any, portal: Any
) -> None:
    obtain_code(web, portal)
    location = _authorize(web, portal, claims=ESSENTIAL_FACE, prompt="none").headers["Location"]
    assert location.startswith(portal.redirect_uri)
    query = query_of(location)
    assert query["error"] == "interaction_required" and query["state"] == "st-123"


def test_prompt_none_without_a_session_is_login_required(web: Any, portal: Any) -> None:
    location = _authorize(web, portal, prompt="none").headers["Location"]
    assert location.startswith(portal.redirect_uri)
    assert query_of(location)["error"] == "login_required"


def test_prompt_none_without_consent_is_consent_required(
    web: Any, provider: Any, cardholder: Any, portal: Any
) -> None:
    other = register(provider, redirect_uris=("https://other.example/cb",))
    obtain_code(web, portal)
    location = _authorize(web, other, prompt="none").headers["Location"]
    assert location.startswith(other.redirect_uri)
    assert query_of(location)["error"] == "consent_required"


def test_a_second_portal_skips_the_sign_in_and_shares_the_sid(
    web: Any, provider: Any, cardholder: Any, portal: Any
) -> None:
    first = _id_token(web, portal)
    other = register(provider, redirect_uris=("https://other.example/cb",))
    location = _authorize(web, other).headers["Location"]
    assert location.endswith("/consent"), location
    second = _id_token(web, other)
    assert first["sid"] and first["sid"] == second["sid"]


def test_prompt_login_asks_again_and_keeps_the_sid(web: Any, cardholder: Any, portal: Any) -> None:
    first = _id_token(web, portal)
    location = _authorize(web, portal, prompt="login").headers["Location"]
    assert location.endswith("/signin"), location
    assert sign_in(web, location).status_code == 303
    assert _id_token(web, portal, prompt="login")["sid"] == first["sid"]


def _refused_as_invalid_request(web: Any, portal: Any, claims: str) -> None:
    # POST (OIDC Core 3.1.2.1): a deep nesting within the 2048-character cap on ``claims``
    # (idp.oauth.params) is longer than a URI once percent-encoded.
    _, challenge = pkce_pair()
    response = web.post("/authorize", data=authorize_params(portal, challenge, claims=claims))
    assert response.status_code == 303, response.status_code
    location = response.headers["Location"]
    assert location.startswith(portal.redirect_uri), location
    assert query_of(location)["error"] == "invalid_request"


def test_hostile_claims_values_are_invalid_request(web: Any, portal: Any) -> None:
    deep = "[" * 1020 + "]" * 1020  # past Python's recursion limit, within the length cap
    for claims in ("{", "[]", '"acr"', "null", "1e999999", deep, '{"id_token": 1}'):
        _refused_as_invalid_request(web, portal, claims)


_BOUNDED = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_SURROGATE = st.integers(0xD800, 0xDFFF).map(lambda c: f"\\u{c:04x}")


@_BOUNDED
@given(
    escape=_SURROGATE,
    where=st.sampled_from(
        [
            '{{"id_token": {{"acr": {{"essential": true, "value": "{}"}}}}}}',
            # Next to a known value, so only the surrogate can be what is refused.
            '{{"id_token": {{"acr": {{"essential": true, "values": ["{}", "' + ACR_PIN + '"]}}}}}}',
        ]
    ),
)
def test_a_lone_surrogate_acr_is_invalid_request(
    web: Any, portal: Any, escape: str, where: str
) -> None:
    _refused_as_invalid_request(web, portal, where.format(escape))


def test_the_ud800_escape_in_an_acr_is_invalid_request(web: Any, portal: Any) -> None:
    acr = {"essential": True, "values": ["\ud800", ACR_PIN]}
    claims = json.dumps({"id_token": {"acr": acr}})  # ensure_ascii: the escape \\ud800
    _refused_as_invalid_request(web, portal, claims)


@_BOUNDED
@given(junk=st.text(min_size=1, max_size=40).map(lambda t: '{"id_token":{"acr":' + t))
def test_any_broken_claims_is_never_a_500(web: Any, portal: Any, junk: str) -> None:
    response = _authorize(web, portal, claims=junk)
    assert response.status_code in (303, 400), response.status_code


def test_discovery_lists_the_three_acr_weakest_first(web: Any) -> None:
    document = web.get("/.well-known/openid-configuration").get_json()
    assert document["acr_values_supported"] == list(ACR_ORDER)
