"""``/healthz`` (the process answers) and ``/readyz`` (database and Redis reachable)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from idp.app import create_app
from idp.provider import Provider


def test_healthz_answers_without_touching_the_database(web: Any, provider: Provider) -> None:
    provider.db.dispose()
    response = web.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Request-Id"]


def test_readyz_with_the_database_up(web: Any, provider: Provider) -> None:
    response = web.get("/readyz")
    assert response.status_code == 200, response.get_data(as_text=True)
    checks = {"database": "ok"} | ({"redis": "ok"} if provider.settings.redis_url else {})
    assert response.json == {"status": "ready", "checks": checks}


def test_readyz_is_503_problem_json_when_the_database_is_away(
    web: Any, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    @contextmanager
    def unreachable() -> Iterator[Any]:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))
        yield  # pragma: no cover

    monkeypatch.setattr(provider.db, "read", unreachable)
    response = web.get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["type"] == f"{provider.issuer}/problems/not-ready" and body["status"] == 503
    assert body["detail"] == "database unreachable" and body["checks"]["database"] == "unreachable"
    assert body["request_id"] == response.headers["X-Request-Id"]
    assert "refused" not in response.get_data(as_text=True), "no internals in the answer"


def test_readyz_is_503_when_the_configured_redis_is_away(provider: Provider) -> None:
    settings = provider.settings.with_overrides(redis_url="redis://127.0.0.1:1/0")
    other = Provider(settings, database=provider.db)
    response = create_app(settings, provider=other).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "redis": "unreachable"}
    assert response.json["detail"] == "redis unreachable"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_get_and_head_only(web: Any, path: str) -> None:
    assert web.head(path).status_code == 200 and web.head(path).data == b""
    response = web.delete(path)
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
