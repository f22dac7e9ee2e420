"""Issue 13 item 6: a bounded burst from one address gets 429 with Retry-After, in each
endpoint's own error format, and recovers when the window passes; with Redis the count is
shared by every app. Windows are one second, so recovery is a real (short) wait."""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest

from idp.app import create_app
from idp.provider import Provider
from idp.ratelimit import group_of
from idp.settings import ConfigurationError
from idp.settings import Settings

LIMIT = 3
BURST = 8  # more than two windows' worth, so a window that turns mid-burst still shows 429


@pytest.fixture
def limited_app(provider: Provider) -> Iterator[Callable[..., Any]]:
    """Apps limited to ``LIMIT`` requests a second; their providers are closed afterwards."""
    made: list[Provider] = []

    def make(**overrides: Any) -> Any:
        limits = {"rate_limit": f"{LIMIT}/second", **overrides}
        settings = provider.settings.with_overrides(**limits)
        made.append(Provider(settings, clock=provider.clock))
        return create_app(settings, provider=made[-1]).test_client()

    yield make
    for each in made:
        each.db.dispose()


def burst(web: Any, path: str, **kwargs: Any) -> list[Any]:
    return [web.post(path, **kwargs) for _ in range(BURST)]


def refused(responses: list[Any]) -> list[Any]:
    found = [r for r in responses if r.status_code == 429]
    assert found, [r.status_code for r in responses]
    assert len(responses) - len(found) <= 2 * LIMIT
    for response in found:
        assert int(response.headers["Retry-After"]) >= 1
    return found


def test_token_burst_is_refused_in_oauth_json_and_recovers(
    limited_app: Any, provider: Provider
) -> None:
    web = limited_app()
    first = refused(burst(web, "/token", data={"grant_type": "client_credentials"}))[0]
    assert first.get_json() == {
        "error": "temporarily_unavailable",
        "error_description": "too many requests",
    }
    assert first.headers["Cache-Control"] == "no-store"
    time.sleep(1.1)
    assert web.post("/token", data={"grant_type": "client_credentials"}).status_code == 401


def test_par_and_registration_answer_oauth_json(limited_app: Any, provider: Provider) -> None:
    web = limited_app()
    for path in ("/par", "/register"):
        assert refused(burst(web, path, data={}))[0].get_json()["error"] == (
            "temporarily_unavailable"
        )


def test_product_apis_answer_problem_json(limited_app: Any, provider: Provider) -> None:
    web = limited_app()
    paths = ("/api/v1/payments", "/api/v1/me/qr-codes", "/api/v1/ecards/x/qr-codes")
    for path in (*paths, "/api/v1/scan-signin/scan", "/api/v1/scan-signin/approve"):
        response = refused(burst(web, path, json={}))[0]
        assert response.content_type == "application/problem+json"
        assert response.get_json()["status"] == 429


def test_sign_in_page_answers_the_error_page(limited_app: Any, provider: Provider) -> None:
    web = limited_app()
    response = refused(burst(web, "/interaction/nope/signin", data={}))[0]
    assert response.mimetype == "text/html"
    assert "请求过于频繁" in response.get_data(as_text=True)


def test_the_scan_page_which_creates_a_request_is_limited(
    limited_app: Any, provider: Provider
) -> None:
    web = limited_app()
    responses = [web.get("/interaction/nope/scan") for _ in range(BURST)]
    assert refused(responses)[0].mimetype == "text/html"
    assert web.get("/interaction/nope/scan/status").status_code != 429, "polling is not limited"


def test_addresses_are_counted_apart(limited_app: Any, provider: Provider) -> None:
    web = limited_app()
    refused(burst(web, "/par", environ_base={"REMOTE_ADDR": "192.0.2.1"}))
    assert web.post("/par", environ_base={"REMOTE_ADDR": "192.0.2.2"}).status_code != 429


def test_a_trusted_proxy_names_the_address(limited_app: Any, provider: Provider) -> None:
    web = limited_app(rate_limit_address_header="X-Real-IP")
    refused(burst(web, "/par", headers={"X-Real-IP": "198.51.100.7"}))
    assert web.post("/par", headers={"X-Real-IP": "198.51.100.8"}).status_code != 429


def test_apps_sharing_redis_share_the_count(limited_app: Any, provider: Provider) -> None:
    if not provider.settings.redis_url:
        pytest.skip("ESSC_REDIS_URL is not set")
    one, two = limited_app(), limited_app()
    address = {"REMOTE_ADDR": f"203.0.113.{int(time.time()) % 250}"}
    answers = [(one if n % 2 else two).post("/par", environ_base=address) for n in range(BURST)]
    refused(answers)


def test_unlimited_requests_are_not_counted(limited_app: Any, provider: Provider) -> None:
    web = limited_app()
    assert all(web.get("/jwks.json").status_code == 200 for _ in range(BURST))
    assert group_of("GET", "/token") is None and group_of("POST", "/introspect") is None


@pytest.mark.parametrize("value", ["fast", "3 per", "0/forever"])
def test_a_bad_limit_stops_start_up(value: str) -> None:
    with pytest.raises(ConfigurationError, match="ESSC_RATE_LIMIT"):
        Settings(rate_limit=value).check()


def test_the_default_limit_is_above_one_hosts_peak() -> None:
    from limits import parse

    assert parse(Settings().rate_limit).amount >= 2500


def test_an_authenticated_client_is_limited_apart_from_its_address(
    limited_app: Any, provider: Provider, service: Any
) -> None:
    """Counted only once the client has authenticated: naming a client spends nothing."""
    from tests.support import basic
    from tests.support import register

    other = register(
        provider,
        kind="merchant",
        grant_types=("client_credentials",),
        redirect_uris=(),
        scope="essc.qr.verify",
    )
    web = limited_app(rate_limit="1000/second", rate_limit_per_client=f"{LIMIT}/second")
    form = {"grant_type": "client_credentials"}
    strangers = [web.post("/token", data={**form, "client_id": service.client_id})] * BURST
    assert all(r.status_code == 401 for r in strangers)
    answers = [
        web.post("/token", data=form, headers=basic(service.client_id, service.client_secret))
        for _ in range(BURST)
    ]
    first = refused(answers)[0]
    assert first.get_json()["error"] == "temporarily_unavailable"
    mine = basic(other.client_id, other.client_secret)
    assert web.post("/token", data=form, headers=mine).status_code == 200
