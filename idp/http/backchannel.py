"""The back-channel endpoints as one lean WSGI application: token (RFC 6749 3.2),
introspection (RFC 7662) and revocation (RFC 7009).

Servers, not browsers, call these, and they are the platform's hottest path (a channel server
asks for a client-credentials token per session). They need no templates, cookies or sessions, so
they skip Flask's request machinery and speak WSGI directly: parse the form, authenticate the
client, call the protocol code, answer JSON. Everything else (pages, userinfo, discovery) goes to
Flask. Errors follow RFC 6749 5.2; anything unexpected is ``server_error`` with a request id.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from channels.client import Client
from idp.errors import InvalidRequest
from idp.errors import MethodNotAllowed
from idp.errors import OAuthError
from idp.errors import RequestTooLarge
from idp.errors import ServerError
from idp.events.audit import record_event
from idp.http.edge import REQUEST_ID_KEY
from idp.oauth.params import single_values
from idp.provider import Provider
from idp.store.token_store import SqlTokenStore

log = logging.getLogger("essc.idp")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
StartResponse = Callable[..., Any]
FORM = "application/x-www-form-urlencoded"
#: Every parameter the three endpoints read (RFC 6749 3.2, 4.1.3, 4.4, 6; RFC 7523; RFC 7636;
#: RFC 7662 2.1; RFC 7009 2.1).
PARAMETERS = frozenset(
    {
        "grant_type",
        "code",
        "redirect_uri",
        "code_verifier",
        "refresh_token",
        "scope",
        "client_id",
        "client_secret",
        "client_assertion",
        "client_assertion_type",
        "token",
        "token_type_hint",
    }
)
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_BASE_HEADERS = [
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
    ("X-Content-Type-Options", "nosniff"),
]


@dataclass(frozen=True)
class Call:
    """One back-channel request, parsed: the form, the Authorization header, the request id."""

    params: dict[str, str]
    authorization: str | None
    request_id: str


class BackChannel:
    """Routes the three back-channel paths to their handlers; all else to ``fallback``."""

    def __init__(self, provider: Provider, fallback: WSGIApp) -> None:
        self._provider = provider
        self._fallback = fallback
        self._max_bytes = provider.settings.max_request_bytes
        self._routes: dict[str, Callable[[Call], dict[str, Any]]] = {
            "/token": self.token,
            "/introspect": self.introspect,
            "/revoke": self.revoke,
        }

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        handler = self._routes.get(environ.get("PATH_INFO", ""))
        if handler is None:
            return self._fallback(environ, start_response)
        # idp.http.edge assigned it: the server's own, or a configured trusted proxy's.
        request_id = environ.get(REQUEST_ID_KEY) or str(uuid.uuid4())
        path = environ["PATH_INFO"]
        try:
            params = self._form(environ)
            body = handler(Call(params, environ.get("HTTP_AUTHORIZATION"), request_id))
            status, extra = 200, {}
        except OAuthError as exc:
            log.info("oauth error %s on %s: %s [%s]", exc.error, path, exc.detail, request_id)
            body = exc.body()
            status, extra = exc.status_code, exc.headers()
        except Exception:
            log.exception("unexpected error on %s [%s]", path, request_id)
            error = ServerError("unexpected error; see the request id in the server log")
            body, status, extra = error.body(), error.status_code, {}
        payload = _dumps(body).encode("utf-8")
        headers = [
            *_BASE_HEADERS,
            ("Content-Length", str(len(payload))),
            ("X-Request-Id", request_id),
        ]
        headers.extend(extra.items())
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [payload]

    def _form(self, environ: dict[str, Any]) -> dict[str, str]:
        """RFC 6749 3.2: POST with an x-www-form-urlencoded body, at most ``max_bytes``."""
        if environ.get("REQUEST_METHOD") != "POST":
            raise MethodNotAllowed("the method must be POST")
        content_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        length_header = environ.get("CONTENT_LENGTH") or ""
        try:
            length = int(length_header) if length_header else -1
        except ValueError:
            raise InvalidRequest("Content-Length is malformed") from None
        if length_header and length < 0:
            raise InvalidRequest("Content-Length is malformed")
        if length > self._max_bytes:
            raise RequestTooLarge("the request body is too large")
        stream = environ["wsgi.input"]
        raw = stream.read(length) if length >= 0 else stream.read(self._max_bytes + 1)
        if len(raw) > self._max_bytes:
            raise RequestTooLarge("the request body is too large")
        if content_type != FORM:
            raise InvalidRequest("the body must be application/x-www-form-urlencoded")
        try:
            pairs = parse_qsl(
                raw.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=64
            )
        except ValueError:
            raise InvalidRequest("too many parameters") from None
        # RFC 6749 3.1: unrecognized parameters are ignored, their values unchecked.
        return single_values((name, value) for name, value in pairs if name in PARAMETERS)

    # -- the endpoints -------------------------------------------------------------------
    def _client(self, call: Call, path: str) -> Client:
        p = self._provider
        return p.authenticator.authenticate(call.params, call.authorization, f"{p.issuer}{path}")

    def token(self, call: Call) -> dict[str, Any]:
        p = self._provider
        grant = p.grants.for_request(call.params)
        client = self._client(call, "/token")
        if not grant.uses_storage:
            return grant.issue(call.params, client, None)
        with p.db.transaction() as session:
            try:
                return grant.issue(call.params, client, SqlTokenStore(session, now=p.now()))
            except OAuthError as exc:
                if getattr(exc, "keep_writes", False):
                    record_event(
                        session,
                        "grant.revoked",
                        at=p.now(),
                        client_id=client.client_id,
                        request_id=call.request_id,
                        reason=exc.detail,
                    )
                raise

    def introspect(self, call: Call) -> dict[str, Any]:
        p = self._provider
        client = self._client(call, "/introspect")
        with p.db.transaction() as session:
            return p.introspection.introspect(
                client, call.params, SqlTokenStore(session, now=p.now())
            )

    def revoke(self, call: Call) -> dict[str, Any]:
        p = self._provider
        client = self._client(call, "/revoke")
        with p.db.transaction() as session:
            if p.revocation.revoke(client, call.params, SqlTokenStore(session, now=p.now())):
                record_event(
                    session,
                    "token.revoked",
                    at=p.now(),
                    client_id=client.client_id,
                    request_id=call.request_id,
                )
        return {}


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    405: "Method Not Allowed",
    413: "Content Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
