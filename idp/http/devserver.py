"""The development server's request handler (``essc serve`` without ``--production``).

Werkzeug's handler logs the full request line, query string included, and answers what it
cannot parse with ``http.server``'s HTML page, quoting the request line in the log. This one
logs the path only and answers those errors with the product's problem JSON.
"""

from __future__ import annotations

from werkzeug.serving import WSGIRequestHandler

from idp.http.edge import SERVER_REASONS
from idp.http.edge import server_error_response
from idp.http.logs import path_only


class DevRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, with path-only request logs and JSON for server-level errors."""

    #: Set by ``essc serve`` (a subclass per run): the ``type`` URIs name the issuer.
    issuer = ""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        command = getattr(self, "command", None) or "-"
        path = path_only(getattr(self, "path", "") or "-")
        version = getattr(self, "request_version", "") or "-"
        line = f"{command} {path} {version}".translate(self._control_char_table)
        self.log("info", '"%s" %s %s', line, code, size)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """``http.server`` calls this for a request line over 64 KiB (414), more than 100
        header fields or an over-long field (431), or bad syntax (400). ``message`` may quote
        the request line: it is not logged."""
        self.log("error", "code %d", code)
        status = code if code in SERVER_REASONS else 400
        response = server_error_response(status, self.issuer, hsts=False)
        self.close_connection = True
        self.wfile.write(response)
