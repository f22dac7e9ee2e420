"""Gunicorn's sync worker, answering what Gunicorn refuses itself with the product's JSON.

``essc serve --production --server gunicorn`` raises Gunicorn's request-line and header limits
above the product's own (idp.http.edge), so the product answers 414 and 431 itself; anything
Gunicorn still refuses (a line past its hard 8190-byte cap, bad syntax) gets the product's
problem JSON from here instead of Gunicorn's HTML page, and its log line names the exception
class only: Gunicorn's own message quotes the request line, query string included.
"""

from __future__ import annotations

from ssl import SSLError
from typing import Any

from gunicorn import util
from gunicorn.http.errors import ConfigurationProblem
from gunicorn.http.errors import ExpectationFailed
from gunicorn.http.errors import ForbiddenProxyRequest
from gunicorn.http.errors import InvalidResponseHeader
from gunicorn.http.errors import InvalidResponseHeaderName
from gunicorn.http.errors import LimitRequestHeaders
from gunicorn.http.errors import LimitRequestLine
from gunicorn.http.errors import ParseException
from gunicorn.http.errors import UnsupportedTransferCoding
from gunicorn.workers.sync import SyncWorker

from idp.http.edge import server_error_response
from idp.settings import Settings

_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (InvalidResponseHeader, 500),  # the application's fault, not the client's
    (InvalidResponseHeaderName, 500),
    (LimitRequestLine, 414),
    (LimitRequestHeaders, 431),
    (ExpectationFailed, 417),
    (UnsupportedTransferCoding, 501),
    (ForbiddenProxyRequest, 403),
    (SSLError, 403),
    (ConfigurationProblem, 500),
)


def status_for(exc: BaseException) -> int:
    """The status Gunicorn would answer (gunicorn.workers.base ``handle_error``)."""
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400 if isinstance(exc, ParseException) else 500


class JsonErrorWorker(SyncWorker):  # type: ignore[misc]
    """``--worker-class idp.http.gunicorn_worker.JsonErrorWorker``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = Settings.from_env()
        self._issuer = settings.issuer
        self._hsts = settings.production and settings.issuer.startswith("https://")

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        status = status_for(exc)
        ip = addr[0] if addr else ""
        if status == 500:
            self.log.error("error handling a request from ip=%s: %s", ip, type(exc).__name__)
        else:
            self.log.warning("invalid request from ip=%s: %s", ip, type(exc).__name__)
        try:
            util.write_nonblock(
                client, server_error_response(status, self._issuer, hsts=self._hsts)
            )
        except Exception:  # the client went away: nothing to answer
            self.log.debug("failed to send an error response")
