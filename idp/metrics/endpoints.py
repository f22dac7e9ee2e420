"""``/metrics``, ``/healthz`` and ``/readyz`` as a lean WSGI layer in front of the app.

- ``/healthz``: the process answers (liveness); it touches nothing else, so a slow database
  never gets a live worker restarted.
- ``/readyz``: the database answers ``SELECT 1`` and, when ``ESSC_REDIS_URL`` is set, Redis
  answers ``PING``, each within about a second; otherwise 503 problem JSON (RFC 7807) naming what
  failed, so a load balancer stops sending traffic here.
- ``/metrics``: the Prometheus text exposition (idp.metrics.registry), with the outbox read from
  the database at scrape time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from idp.http.edge import REQUEST_ID_KEY
from idp.metrics.registry import CONTENT_TYPE
from idp.metrics.registry import Exposition
from idp.provider import Provider
from idp.store.ecards import OutboxMessage
from idp.store.expiring import redis_client

log = logging.getLogger("essc.idp")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_NO_STORE = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]
#: Seconds a readiness probe waits for Redis before calling it unreachable.
REDIS_TIMEOUT = 1.0


class OutboxCollector:
    """Notifications waiting to go out, parked ones, and how long the oldest has waited."""

    def __init__(self, provider: Provider) -> None:
        self._provider = provider

    def collect(self) -> Iterable[Metric]:
        p = self._provider
        parked = OutboxMessage.attempts >= p.settings.notification_max_attempts
        undelivered = OutboxMessage.delivered_at.is_(None)
        query = select(
            func.coalesce(func.sum(case((parked, 0), else_=1)), 0),
            func.coalesce(func.sum(case((parked, 1), else_=0)), 0),
            func.min(case((parked, None), else_=OutboxMessage.created_at)),
        ).where(undelivered)
        try:
            with p.db.read() as s:
                pending, parked_count, oldest = s.execute(query).one()
        except Exception:
            log.warning("outbox metrics unavailable", exc_info=True)
            return
        yield GaugeMetricFamily(
            "essc_outbox_pending_messages",
            "Notifications not yet delivered and still being tried.",
            value=int(pending),
        )
        yield GaugeMetricFamily(
            "essc_outbox_parked_messages",
            "Notifications that used up their attempts (essc notifications retry).",
            value=int(parked_count),
        )
        lag = max(0, p.now() - int(oldest)) if oldest is not None else 0
        yield GaugeMetricFamily(
            "essc_outbox_delivery_lag_seconds",
            "Age of the oldest notification still being tried (0 when none waits).",
            value=lag,
        )


class Operations:
    """Answers the three operator paths; every other request goes to ``fallback``."""

    def __init__(self, provider: Provider, fallback: WSGIApp) -> None:
        self._provider = provider
        self._fallback = fallback
        self._exposition = Exposition(OutboxCollector(provider))
        self._redis: Any = None
        self._routes: dict[str, Callable[[str], tuple[int, str, bytes]]] = {
            "/metrics": self.metrics,
            "/healthz": self.healthz,
            "/readyz": self.readyz,
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        handler = self._routes.get(environ.get("PATH_INFO", ""))
        if handler is None:
            return self._fallback(environ, start_response)
        request_id = str(environ.get(REQUEST_ID_KEY, ""))
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            status, content_type, body = self._problem(
                request_id, 405, "http-error", "Method Not Allowed"
            )
            extra = [("Allow", "GET, HEAD")]
        else:
            status, content_type, body = handler(request_id)
            extra = []
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("X-Request-Id", request_id),
            *_NO_STORE,
            *extra,
        ]
        start_response(f"{status} {_REASONS[status]}", headers)
        return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def metrics(self, _request_id: str) -> tuple[int, str, bytes]:
        return 200, CONTENT_TYPE, self._exposition.render()

    def healthz(self, _request_id: str) -> tuple[int, str, bytes]:
        return 200, "application/json", b'{"status":"ok"}\n'

    def readyz(self, request_id: str) -> tuple[int, str, bytes]:
        checks = {"database": self._database_ok()}
        if self._provider.settings.redis_url:
            checks["redis"] = self._redis_ok()
        answer = {name: "ok" if ok else "unreachable" for name, ok in checks.items()}
        if all(checks.values()):
            return 200, "application/json", _json({"status": "ready", "checks": answer})
        failed = ", ".join(name for name, ok in checks.items() if not ok)
        return self._problem(
            request_id, 503, "not-ready", "Not ready", f"{failed} unreachable", answer
        )

    def _database_ok(self) -> bool:
        try:
            with self._provider.db.read() as s:
                s.execute(text("SELECT 1"))
        except Exception:
            log.warning("readiness: database unreachable", exc_info=True)
            return False
        return True

    def _redis_ok(self) -> bool:
        try:
            if self._redis is None:
                settings = self._provider.settings
                self._redis = redis_client(
                    settings.redis_url,
                    cluster=settings.redis_cluster,
                    socket_timeout=REDIS_TIMEOUT,
                    socket_connect_timeout=REDIS_TIMEOUT,
                )
            return bool(self._redis.ping())
        except Exception:
            log.warning("readiness: redis unreachable", exc_info=True)
            return False

    def _problem(
        self,
        request_id: str,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        checks: dict[str, str] | None = None,
    ) -> tuple[int, str, bytes]:
        body: dict[str, Any] = {
            "type": f"{self._provider.issuer}/problems/{slug}",
            "title": title,
            "status": status,
        }
        if detail:
            body["detail"] = detail
        if checks:
            body["checks"] = checks
        body["request_id"] = request_id
        return status, "application/problem+json", _json(body)


def _json(document: dict[str, Any]) -> bytes:
    # A final newline, as curl users expect of a JSON answer (and Flask's jsonify writes).
    return json.dumps(document, separators=(",", ":")).encode("utf-8") + b"\n"


_REASONS = {200: "OK", 405: "Method Not Allowed", 503: "Service Unavailable"}
