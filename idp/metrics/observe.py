"""Counting requests by route template, timing them, and following the database pool.

The route is the template a request matched (``/interaction/<interaction_id>/signin``), never
the raw path, so no id or token becomes a label; a path nothing matched is ``unmatched``, a
method outside RFC 9110's set is ``other``, so hostile requests cannot grow the label space.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from flask import Flask
from flask import request
from prometheus_client.metrics import Counter
from prometheus_client.metrics import Histogram
from sqlalchemy import event
from sqlalchemy.engine import Engine

from idp.metrics.registry import LATENCY
from idp.metrics.registry import POOL_CHECKED_OUT
from idp.metrics.registry import POOL_SIZE
from idp.metrics.registry import REQUESTS

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ROUTE_KEY = "essc.route"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
#: Paths answered before Flask routes (idp.http.backchannel, idp.http.discovery,
#: idp.metrics.endpoints): fixed paths, so each is its own template.
LEAN_PATHS = frozenset(
    {
        "/token",
        "/introspect",
        "/revoke",
        "/jwks.json",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/metrics",
        "/healthz",
        "/readyz",
    }
)


def route_of(environ: dict[str, Any]) -> str:
    found = environ.get(ROUTE_KEY)
    if isinstance(found, str):
        return found
    path = environ.get("PATH_INFO", "")
    return path if path in LEAN_PATHS else UNMATCHED


class Observed:
    """Counts and times every response of ``app`` (the whole product, the edge included)."""

    def __init__(self, app: WSGIApp) -> None:
        self._app = app
        # labels() builds a tuple and takes a lock: keep the children, the label space is small.
        self._counters: dict[tuple[str, str, str], Counter] = {}
        self._timers: dict[tuple[str, str], Histogram] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        status = ["500"]

        def recording(status_line: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            status[0] = status_line[:3]
            return start_response(status_line, headers, *exc)

        try:
            return self._app(environ, recording)
        finally:
            self._record(environ, status[0], time.perf_counter() - started)

    def _record(self, environ: dict[str, Any], status: str, seconds: float) -> None:
        route = route_of(environ)
        method = environ.get("REQUEST_METHOD", "")
        method = method if method in METHODS else "other"
        key = (route, method, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = REQUESTS.labels(route, method, status)
        counter.inc()
        timer = self._timers.get(key[:2])
        if timer is None:
            timer = self._timers[key[:2]] = LATENCY.labels(route, method)
        timer.observe(seconds)


def record_routes(app: Flask) -> None:
    """Tell ``Observed`` which Flask rule answered (the rule is known only inside Flask)."""

    @app.before_request
    def remember_route() -> None:
        rule = request.url_rule
        request.environ[ROUTE_KEY] = rule.rule if rule is not None else UNMATCHED


def _checked_out(*_: Any) -> None:
    POOL_CHECKED_OUT.inc()


def _checked_in(*_: Any) -> None:
    POOL_CHECKED_OUT.dec()


def watch_pool(engine: Engine) -> None:
    """Follow checkouts and checkins of ``engine``'s pool (once per engine)."""
    if event.contains(engine, "checkout", _checked_out):
        return
    size = getattr(engine.pool, "size", None)
    if callable(size):
        POOL_SIZE.inc(size())
    event.listen(engine, "checkout", _checked_out)
    event.listen(engine, "checkin", _checked_in)
