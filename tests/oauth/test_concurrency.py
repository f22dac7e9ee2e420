"""Single use under real concurrency, on the real PostgreSQL: N requests redeem one authorization
code (or one refresh token) at the same instant, and exactly one wins.

Single use is one conditional ``UPDATE ... WHERE used_at IS NULL`` plus a row-count check; these
tests make sure no interleaving of N transactions lets two of them through.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idp.app import create_app
from idp.provider import Provider
from tests.conftest import PG_URL
from tests.conftest import _truncate
from tests.conftest import test_settings as settings_for
from tests.support import FakeClock
from tests.support import add_cardholder
from tests.support import basic
from tests.support import exchange
from tests.support import obtain_code
from tests.support import register

pytestmark = pytest.mark.skipif(
    not PG_URL.startswith("postgresql"), reason="needs ESSC_DATABASE_URL=postgresql+psycopg://..."
)

N = 8
ROUNDS = 3


@pytest.fixture
def pg_provider(
    request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path
) -> Iterator[Provider]:
    url: str = request.getfixturevalue("pg_database")
    _truncate(url)
    provider = Provider(settings_for(url, instance_dir=str(tmp_path)), clock=clock)
    yield provider
    provider.db.dispose()


@pytest.fixture
def app(pg_provider: Provider) -> Any:
    return create_app(pg_provider.settings, provider=pg_provider)


@pytest.fixture
def portal(pg_provider: Provider) -> Any:
    add_cardholder(pg_provider)
    return register(pg_provider, kind="portal", scope="openid profile essc.card")


def all_at_once(app: Any, request: Callable[[Any], Any]) -> list[Any]:
    """Run ``request(test_client)`` in N threads released together; the responses, in order."""
    barrier = threading.Barrier(N, timeout=30)
    responses: list[Any] = [None] * N
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        web = app.test_client()  # each thread its own client, as N separate callers would be
        try:
            barrier.wait()
            responses[i] = request(web)
        except BaseException as exc:  # reported below, with the thread's traceback
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert all(r is not None for r in responses)
    return responses


def outcome(responses: list[Any]) -> tuple[list[Any], list[Any]]:
    won = [r for r in responses if r.status_code == 200]
    lost = [r for r in responses if r.status_code != 200]
    assert all(r.status_code == 400 and r.json["error"] == "invalid_grant" for r in lost), [
        (r.status_code, r.get_data(as_text=True)[:200]) for r in lost
    ]
    return won, lost


def warm_up(web: Any, portal: Any) -> None:
    """Build the provider's lazily made parts (key ring, grants, authenticator) before the race."""
    response = exchange(web, portal, "no-such-code", "v" * 43)
    assert response.status_code == 400


def test_one_code_redeemed_by_eight_at_once(app: Any, portal: Any) -> None:
    web = app.test_client()
    warm_up(web, portal)
    for _ in range(ROUNDS):
        code, verifier = obtain_code(web, portal)
        won, lost = outcome(
            all_at_once(app, lambda w, c=code, v=verifier: exchange(w, portal, c, v))
        )
        assert len(won) == 1 and len(lost) == N - 1
        assert won[0].json["access_token"] and won[0].json["refresh_token"]


def test_one_refresh_token_rotated_by_eight_at_once(app: Any, portal: Any) -> None:
    web = app.test_client()
    warm_up(web, portal)
    auth = basic(portal.client_id, portal.client_secret)
    for _ in range(ROUNDS):
        code, verifier = obtain_code(web, portal)
        tokens = exchange(web, portal, code, verifier).json
        data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        won, lost = outcome(
            all_at_once(app, lambda w, d=data: w.post("/token", data=d, headers=auth))
        )
        assert len(won) == 1 and len(lost) == N - 1
        assert won[0].json["refresh_token"] != tokens["refresh_token"]
