"""Pushed Authorization Requests (RFC 9126) through the HTTP endpoints, on every store.

The request is validated when pushed (2.1), answered 201 with a one-time URN (2.2), and at
``/authorize`` only the pushed parameters count, beside the client id that pushed them (4).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from idp.provider import Provider
from tests.conftest import Registered
from tests.support import FakeClock
from tests.support import approve
from tests.support import authorize_params
from tests.support import basic
from tests.support import exchange
from tests.support import pkce_pair
from tests.support import query_of
from tests.support import register
from tests.support import sign_in

URN = "urn:ietf:params:oauth:request_uri:"


def push(web: Any, client: Registered, **params: str) -> Any:
    return web.post("/par", data=params, headers=basic(client.client_id, client.client_secret))


def pushed(web: Any, client: Registered, **extra: str) -> tuple[str, str]:
    """Push a valid request; returns (request_uri, code_verifier)."""
    verifier, challenge = pkce_pair()
    response = push(web, client, **authorize_params(client, challenge, **extra))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["request_uri"].startswith(URN) and body["expires_in"] == 60
    assert response.headers["Cache-Control"] == "no-store"
    return body["request_uri"], verifier


def front(web: Any, client: Registered, request_uri: str) -> Any:
    return web.get(
        "/authorize", query_string={"client_id": client.client_id, "request_uri": request_uri}
    )


def test_a_pushed_request_signs_in_and_its_code_is_exchanged(
    web: Any, portal: Registered, cardholder: dict[str, str]
) -> None:
    request_uri, verifier = pushed(web, portal)
    response = front(web, portal, request_uri)
    assert response.status_code == 303
    response = sign_in(web, response.headers["Location"])
    response = approve(web, response.headers["Location"])
    location = response.headers["Location"]
    assert location.startswith(portal.redirect_uri)
    query = query_of(location)
    assert query["state"] == "st-123"  # the pushed state, not one from the browser
    token = exchange(web, portal, query["code"], verifier)
    assert token.status_code == 200, token.get_json()
    assert "id_token" in token.get_json()


def test_a_request_uri_works_once(web: Any, portal: Registered, cardholder: dict[str, str]) -> None:
    request_uri, _ = pushed(web, portal)
    assert front(web, portal, request_uri).status_code == 303
    again = front(web, portal, request_uri)
    assert again.status_code == 400 and "Location" not in again.headers


def test_an_expired_request_uri_is_refused(
    web: Any, portal: Registered, clock: FakeClock, cardholder: dict[str, str]
) -> None:
    request_uri, _ = pushed(web, portal)
    clock.advance(61)
    assert front(web, portal, request_uri).status_code == 400


def test_another_clients_request_uri_is_refused(
    web: Any, provider: Provider, portal: Registered
) -> None:
    other = register(provider, kind="portal", redirect_uris=("https://other.example/cb",))
    request_uri, _ = pushed(web, portal)
    assert front(web, other, request_uri).status_code == 400
    assert front(web, portal, request_uri).status_code == 303  # not used up by the refusal


def test_the_browser_cannot_change_a_pushed_request(web: Any, portal: Registered) -> None:
    request_uri, _ = pushed(web, portal)
    response = web.get(
        "/authorize",
        query_string={
            "client_id": portal.client_id,
            "request_uri": request_uri,
            "redirect_uri": "https://evil.example/cb",
            "scope": "openid essc.payment",
        },
    )
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path.startswith("/interaction/")


def test_the_pushed_request_is_validated_when_pushed(web: Any, portal: Registered) -> None:
    _, challenge = pkce_pair()
    params = authorize_params(portal, challenge)
    for change, error in (
        ({"redirect_uri": "https://evil.example/cb"}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"request_uri": URN + "x"}, "invalid_request"),
        ({"client_id": "portal-someone-else"}, "invalid_request"),
    ):
        response = push(web, portal, **{**params, **change})
        assert response.status_code == 400, change
        assert response.get_json()["error"] == error, change


def test_pushing_needs_client_authentication(web: Any, portal: Registered) -> None:
    _, challenge = pkce_pair()
    response = web.post("/par", data=authorize_params(portal, challenge))
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_a_client_that_requires_par_is_refused_on_the_front_channel(
    web: Any, provider: Provider, cardholder: dict[str, str]
) -> None:
    client = register(provider, kind="portal", require_par=True)
    _, challenge = pkce_pair()
    response = web.get("/authorize", query_string=authorize_params(client, challenge))
    assert response.status_code == 303
    assert query_of(response.headers["Location"])["error"] == "invalid_request"
    request_uri, _ = pushed(web, client)
    assert urlsplit(front(web, client, request_uri).headers["Location"]).path.startswith(
        "/interaction/"
    )


def test_discovery_names_the_endpoint(web: Any) -> None:
    metadata = web.get("/.well-known/openid-configuration").get_json()
    assert metadata["pushed_authorization_request_endpoint"] == "http://localhost/par"
    assert metadata["require_pushed_authorization_requests"] is False


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(handle=st.text(max_size=80))
def test_any_request_uri_is_refused_never_a_500(web: Any, portal: Registered, handle: str) -> None:
    response = front(web, portal, URN + handle)
    assert response.status_code == 400
