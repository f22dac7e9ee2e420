"""RFC 9126 4: a ``request_uri`` is used once, also when N browsers bring it at the same
instant, on the real PostgreSQL (one conditional ``UPDATE ... WHERE used_at IS NULL``
returning the row, ``idp.store.pushed_requests``): exactly one reaches the sign-in page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.oauth.test_concurrency import ROUNDS
from tests.oauth.test_concurrency import N
from tests.oauth.test_concurrency import all_at_once
from tests.oauth.test_concurrency import app  # noqa: F401 (fixtures)
from tests.oauth.test_concurrency import pg_provider  # noqa: F401
from tests.oauth.test_concurrency import portal  # noqa: F401
from tests.oauth.test_concurrency import pytestmark  # noqa: F401
from tests.support import authorize_params
from tests.support import basic
from tests.support import pkce_pair


def test_one_request_uri_used_by_eight_at_once(app: Any, portal: Any) -> None:  # noqa: F811
    web = app.test_client()
    auth = basic(portal.client_id, portal.client_secret)
    for _ in range(ROUNDS):
        _, challenge = pkce_pair()
        pushed = web.post("/par", data=authorize_params(portal, challenge), headers=auth)
        assert pushed.status_code == 201
        query = {"client_id": portal.client_id, "request_uri": pushed.json["request_uri"]}
        responses = all_at_once(app, lambda w, q=query: w.get("/authorize", query_string=q))
        won = [r for r in responses if r.status_code == 303]
        lost = [r for r in responses if r.status_code != 303]
        assert len(won) == 1 and len(lost) == N - 1
        assert urlsplit(won[0].headers["Location"]).path.startswith("/interaction/")
        assert all(r.status_code == 400 and "Location" not in r.headers for r in lost)
