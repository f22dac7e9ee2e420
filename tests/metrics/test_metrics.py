"""``/metrics``: requests and latency by route template, the pool, lockouts and the outbox."""

from __future__ import annotations

import uuid
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from idp.provider import Provider
from idp.store.ecards import OutboxMessage
from tests.support import CARD
from tests.support import authorize_params
from tests.support import exchange
from tests.support import obtain_code
from tests.support import pkce_pair
from tests.support import sign_in


def scrape(web: Any) -> tuple[str, dict[tuple[str, frozenset[tuple[str, str]]], float]]:
    response = web.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return text, samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_by_route_template_never_by_raw_path(
    web: Any, provider: Provider, portal: Any, cardholder: dict[str, str]
) -> None:
    _, before = scrape(web)
    verifier, challenge = pkce_pair()
    start = web.get("/authorize", query_string=authorize_params(portal, challenge))
    location = start.headers["Location"]
    interaction_id = location.split("/interaction/")[1].split("/")[0]
    code, verifier = obtain_code(web, portal)
    tokens = exchange(web, portal, code, verifier).json
    web.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    web.get(f"/interaction/{uuid.uuid4()}/signin")
    text, after = scrape(web)

    signin = "/interaction/<interaction_id>/signin"
    assert value(after, "essc_http_requests_total", route=signin, method="GET", status="200") > (
        value(before, "essc_http_requests_total", route=signin, method="GET", status="200")
    )
    token = {"route": "/token", "method": "POST", "status": "200"}
    assert value(after, "essc_http_requests_total", **token) == (
        value(before, "essc_http_requests_total", **token) + 1
    )
    timed = value(after, "essc_http_request_duration_seconds_count", route="/token", method="POST")
    assert (
        timed
        == value(before, "essc_http_request_duration_seconds_count", route="/token", method="POST")
        + 1
    )
    assert value(after, "essc_http_requests_total", route="/authorize", method="GET", status="303")
    for secret in (interaction_id, code, tokens["access_token"], tokens["refresh_token"]):
        assert secret not in text


def test_unknown_paths_and_methods_do_not_grow_the_label_space(web: Any) -> None:
    for n in range(3):
        web.get(f"/no-such-path-{uuid.uuid4()}")
        web.open("/healthz", method=f"BREW{n}")
    text, samples = scrape(web)
    assert value(samples, "essc_http_requests_total", route="unmatched", method="GET", status="404")
    assert value(
        samples, "essc_http_requests_total", route="/healthz", method="other", status="405"
    )
    assert "no-such-path" not in text and "BREW" not in text


def test_pool_checkouts_are_followed(web: Any, provider: Provider) -> None:
    _, idle = scrape(web)
    with provider.db.engine.connect():
        _, busy = scrape(web)
    _, again = scrape(web)
    base = value(idle, "essc_db_pool_checked_out")
    assert value(busy, "essc_db_pool_checked_out") == base + 1
    assert value(again, "essc_db_pool_checked_out") == base
    assert value(idle, "essc_db_pool_size") >= 1


def test_a_lockout_is_counted(
    web: Any, provider: Provider, portal: Any, cardholder: dict[str, str]
) -> None:
    _, before = scrape(web)
    _, challenge = pkce_pair()
    start = web.get("/authorize", query_string=authorize_params(portal, challenge))
    location = start.headers["Location"]
    statuses = [
        sign_in(web, location, pin="000000" if CARD["pin"] != "000000" else "111111").status_code
        for _ in range(provider.settings.pin_max_failures + 1)
    ]
    assert statuses[-1] == 429, statuses
    _, after = scrape(web)
    locked = statuses.count(429)
    assert value(after, "essc_signin_lockouts_total") == (
        value(before, "essc_signin_lockouts_total") + locked
    )


def _message(provider: Provider, *, created: int, attempts: int, delivered: bool) -> None:
    with provider.db.transaction() as s:
        s.add(
            OutboxMessage(
                delivery_id=str(uuid.uuid4()),
                client_id="channel-x",
                ordering_key="card-1",
                event="card.suspended",
                payload={},
                created_at=created,
                attempts=attempts,
                next_attempt_at=created,
                delivered_at=created + 1 if delivered else None,
            )
        )


def test_outbox_depth_parked_and_delivery_lag(web: Any, provider: Provider) -> None:
    _, empty = scrape(web)
    assert value(empty, "essc_outbox_pending_messages") == 0
    assert value(empty, "essc_outbox_delivery_lag_seconds") == 0
    now = provider.now()
    limit = provider.settings.notification_max_attempts
    _message(provider, created=now - 90, attempts=2, delivered=False)
    _message(provider, created=now - 30, attempts=0, delivered=False)
    _message(provider, created=now - 500, attempts=limit, delivered=False)  # parked
    _message(provider, created=now - 900, attempts=1, delivered=True)
    _, samples = scrape(web)
    assert value(samples, "essc_outbox_pending_messages") == 2
    assert value(samples, "essc_outbox_parked_messages") == 1
    assert value(samples, "essc_outbox_delivery_lag_seconds") == 90


def test_metrics_answer_get_only(web: Any) -> None:
    response = web.post("/metrics", data={"x": "1"})
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"
    assert response.mimetype == "application/problem+json"
