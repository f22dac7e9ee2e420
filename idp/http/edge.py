"""The outermost WSGI layer: what every response of every server choice gets, before routing.

- The request id: the server's own (a UUID4), unless the operator names the header a trusted
  proxy in front sets (``ESSC_PROXY_REQUEST_ID_HEADER``); an id a caller sends is never taken.
- The product's own request-size limits, below the servers' limits (``essc serve`` raises
  Gunicorn's, and Werkzeug's and Granian's are larger), so the product answers 414 (RFC 9110
  15.5.15) and 431 (RFC 6585 5) in its own JSON or page, not the server's HTML.
- ``Strict-Transport-Security`` (RFC 6797) on every response of a production https instance,
  the lean back channel included.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from idp.http.logs import CURRENT_REQUEST_ID

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: RFC 6797 6.1: a year, for this host and its subdomains.
HSTS = "max-age=31536000; includeSubDomains"
#: The longest request target (path and query) the product takes: every parameter has a
#: maximum length (idp.oauth.params), and the authorization request fits well within this.
MAX_TARGET_BYTES = 8000
#: Header limits (RFC 6585 5): fields, bytes per field (name and value), bytes in all. Granian
#: (hyper) refuses more than 100 fields itself, with an empty 431: the product stops at 64.
MAX_HEADER_FIELDS = 64
MAX_FIELD_BYTES = 8000
MAX_HEADER_BYTES = 32 * 1024
#: environ keys the Flask app and the back channel read.
REQUEST_ID_KEY = "essc.request_id"
REJECTED_KEY = "essc.rejected"
_REQUEST_ID = re.compile(r"[A-Za-z0-9\-]{8,36}")


def environ_key(header: str) -> str:
    """``X-Request-Id`` -> ``HTTP_X_REQUEST_ID`` (PEP 3333)."""
    return "HTTP_" + header.upper().replace("-", "_")


def request_id(environ: dict[str, Any], trusted_header: str) -> str:
    """The id logged and echoed for this request: the trusted proxy's, or a fresh UUID4."""
    if trusted_header:
        incoming = environ.get(environ_key(trusted_header), "")
        if isinstance(incoming, str) and _REQUEST_ID.fullmatch(incoming):
            return incoming
    return str(uuid.uuid4())


def oversized(environ: dict[str, Any]) -> int | None:
    """414 for a request target over ``MAX_TARGET_BYTES``, 431 for headers over the limits."""
    target = len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", "")) + 1
    if target > MAX_TARGET_BYTES:
        return 414
    count = total = 0
    for key, value in environ.items():
        if not (key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")):
            continue
        size = len(key) + len(str(value))
        count, total = count + 1, total + size
        if size > MAX_FIELD_BYTES:
            return 431
    return 431 if count > MAX_HEADER_FIELDS or total > MAX_HEADER_BYTES else None


class Edge:
    """Request id, size limits and HSTS around ``app``; oversized requests go to ``pages``
    (the Flask app, which answers them as JSON or as the product's page) whatever the path."""

    def __init__(
        self, app: WSGIApp, pages: WSGIApp, *, hsts: bool, trusted_request_id_header: str
    ) -> None:
        self._app = app
        self._pages = pages
        self._hsts = hsts
        self._header = trusted_request_id_header

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ[REQUEST_ID_KEY] = request_id(environ, self._header)
        # Every log line written while answering carries the id (idp.http.logs).
        bound = CURRENT_REQUEST_ID.set(environ[REQUEST_ID_KEY])
        try:
            return self._answer(environ, start_response)
        finally:
            CURRENT_REQUEST_ID.reset(bound)

    def _answer(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        status = oversized(environ)
        target = self._app
        if status is not None:
            environ[REJECTED_KEY] = status
            target = self._pages
        if not self._hsts:
            return target(environ, start_response)

        def with_hsts(status_line: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            headers = [h for h in headers if h[0].lower() != "strict-transport-security"]
            headers.append(("Strict-Transport-Security", HSTS))
            return start_response(status_line, headers, *exc)

        return target(environ, with_hsts)


#: Reasons for the statuses a server answers by itself, before the application runs.
SERVER_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}


def server_error_response(status: int, issuer: str, *, hsts: bool) -> bytes:
    """A complete HTTP/1.1 response for an error a server finds before the application runs
    (a request line or header it cannot parse): the product's problem JSON (RFC 7807), as
    ``idp.app`` answers ``http-error``, never the server's HTML. The connection closes."""
    reason = SERVER_REASONS.get(status, "Bad Request")
    problem = {
        "type": f"{issuer}/problems/http-error",
        "title": reason,
        "status": status,
        "request_id": str(uuid.uuid4()),
    }
    body = json.dumps(problem, separators=(",", ":")).encode("utf-8")
    head = [
        f"HTTP/1.1 {status} {reason}",
        "Connection: close",
        "Content-Type: application/problem+json",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
        "X-Content-Type-Options: nosniff",
    ]
    if hsts:
        head.append(f"Strict-Transport-Security: {HSTS}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
