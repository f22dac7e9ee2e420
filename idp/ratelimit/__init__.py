"""Abuse limits: requests per address on the endpoints worth flooding (issue 13 item 6).

Each group of endpoints (``token``, ``par``, ``register``, ``signin``, ``qr``, ``payments``,
``scan_signin``: the channel API and the PC page's GET, which creates a login request)
counts the requests of one address in fixed windows (the ``limits`` library), in Redis when
``ESSC_REDIS_URL`` is set, so every worker and instance shares the count, in process memory
otherwise. Past the limit the answer is ``429`` with ``Retry-After``: OAuth JSON at the OAuth
endpoints (``WSGI`` layer ``Limited``), RFC 7807 problem JSON at the product APIs and the error
page on browser pages (both by Flask's 429 handler, from the key ``LIMITED_KEY`` this layer sets).
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from limits import RateLimitItem
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from idp.http.http import oauth_json

log = logging.getLogger(__name__)

#: The environ key that tells the Flask app to answer 429; its value is Retry-After seconds.
LIMITED_KEY = "essc.rate_limited"

OAUTH = "oauth"  # answered here, in OAuth JSON
FLASK = "flask"  # answered by the Flask app: problem JSON or the error page

#: (group, how it is answered, POST paths it covers).
GROUPS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("token", OAUTH, re.compile(r"/token")),
    ("par", OAUTH, re.compile(r"/par")),
    ("register", OAUTH, re.compile(r"/register")),
    ("signin", FLASK, re.compile(r"/interaction/[^/]+/signin")),
    ("qr", FLASK, re.compile(r"/api/v1/(ecards/[^/]+|me)/qr-codes")),
    ("payments", FLASK, re.compile(r"/api/v1/(payments(/.*)?|ecards/[^/]+/payments/.+|qr/.+)")),
    ("scan_signin", FLASK, re.compile(r"/api/v1/scan-signin/(scan|approve|deny)")),
)
#: GET paths that write: each visit to the PC's scan-to-sign-in page creates a login request.
GET_GROUPS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("scan_signin", FLASK, re.compile(r"/interaction/[^/]+/scan")),
)


def group_of(method: str, path: str) -> tuple[str, str] | None:
    """The limited group a request belongs to, with how it is answered; ``None`` if none."""
    if method not in ("GET", "POST"):
        return None
    for name, answered, pattern in GROUPS if method == "POST" else GET_GROUPS:
        if pattern.fullmatch(path):
            return name, answered
    return None


class RateLimits:
    """``limit`` (``"50/second"``) per address and group, ``per_client`` per authenticated
    client and group, in ``storage_url``'s storage."""

    def __init__(
        self,
        limit: str,
        storage_url: str,
        per_client: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.item: RateLimitItem = parse(limit)
        self.client_item: RateLimitItem = parse(per_client or limit)
        self._limiter = FixedWindowRateLimiter(
            storage_from_string(storage_url or "memory://", key_prefix="essc-rl")
        )
        self._clock = clock

    def retry_after(self, group: str, address: str) -> int | None:
        """Count one request of ``address``; ``None`` when allowed, else whole seconds until
        the window ends."""
        return self._hit(self.item, group, "address", address)

    def client_retry_after(self, path: str, client_id: str) -> int | None:
        """Count one request of an authenticated client to ``path``'s group (counted only
        once the client is authenticated, so nobody spends another client's budget)."""
        found = group_of("POST", path)
        if found is None:
            return None
        return self._hit(self.client_item, found[0], "client", client_id)

    def _hit(self, item: RateLimitItem, *identifiers: str) -> int | None:
        """A storage failure allows the request (availability first) and is logged."""
        try:
            if self._limiter.hit(item, *identifiers):
                return None
            reset = self._limiter.get_window_stats(item, *identifiers).reset_time
        except Exception:
            log.warning("rate limit storage unavailable; request allowed", exc_info=True)
            return None
        return max(1, math.ceil(reset - self._clock()))


class Limited:
    """The WSGI layer in front of the app: counts, and answers the OAuth endpoints itself."""

    def __init__(
        self, limits: RateLimits, app: Callable[..., Iterable[bytes]], address_header: str = ""
    ) -> None:
        self._limits = limits
        self._app = app
        self._address_key = "HTTP_" + address_header.upper().replace("-", "_")
        self._trusts_header = bool(address_header)

    def _address(self, environ: dict[str, Any]) -> str:
        if self._trusts_header and environ.get(self._address_key):
            return str(environ[self._address_key]).strip()[:64]
        return str(environ.get("REMOTE_ADDR", ""))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        found = group_of(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
        if found is not None:
            group, answered = found
            seconds = self._limits.retry_after(group, self._address(environ))
            if seconds is not None and answered == OAUTH:
                body = {
                    "error": "temporarily_unavailable",
                    "error_description": "too many requests",
                }
                response = oauth_json(body, 429, {"Retry-After": str(seconds)})
                return response(environ, start_response)
            if seconds is not None:
                environ[LIMITED_KEY] = seconds
        return self._app(environ, start_response)
