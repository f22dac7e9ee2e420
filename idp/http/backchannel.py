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
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from channels.client import Client
from idp.errors import InvalidRequest
from idp.errors import MethodNotAllowed
from idp.errors import OAuthError
from idp.errors import RequestTooLarge
from idp.errors import ServerError
from idp.errors import TooManyRequests
from idp.events.audit import record_event
from idp.http.edge import REQUEST_ID_KEY
from idp.oauth import rfc8705_mtls
from idp.oauth.client_auth import PARAMETERS as CLIENT_AUTH_PARAMETERS
from idp.oauth.grants import GrantRevoked
from idp.oauth.grants import StatelessGrant
from idp.oauth.params import single_values
from idp.oauth.rfc7009 import PARAMETERS as REVOCATION_PARAMETERS
from idp.oauth.rfc7662 import PARAMETERS as INTROSPECTION_PARAMETERS
from idp.oauth.rfc9126_par import PARAMETERS as PAR_PARAMETERS
from idp.oauth.token_request import TokenRequest
from idp.provider import Provider
from idp.store.pushed_requests import SqlPushedRequests
from idp.store.token_store import SqlTokenStore

log = logging.getLogger("essc.idp")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
StartResponse = Callable[..., Any]
FORM = "application/x-www-form-urlencoded"
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_BASE_HEADERS = [
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
    ("X-Content-Type-Options", "nosniff"),
]


Handler = Callable[[TokenRequest], dict[str, Any]]


class EnvironHeaders(Mapping[str, str]):
    """The request headers, by lower-case name, read from the WSGI environ when asked: the hot
    path copies none of them (PEP 3333: ``HTTP_`` + the name in upper case, ``-`` as ``_``).
    ``Content-Type`` and ``Content-Length`` are not among them: the form was read already."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self._environ = environ

    def __getitem__(self, name: str) -> str:
        value: str = self._environ["HTTP_" + name.upper().replace("-", "_")]
        return value

    def __iter__(self) -> Iterator[str]:
        for key in self._environ:
            if key.startswith("HTTP_"):
                yield key[5:].replace("_", "-").lower()

    def __len__(self) -> int:
        return sum(1 for _ in self)


class BackChannel:
    """Routes the three back-channel paths to their handlers; all else to ``fallback``."""

    def __init__(self, provider: Provider, fallback: WSGIApp) -> None:
        self._provider = provider
        self._fallback = fallback
        self._max_bytes = provider.settings.max_request_bytes
        cert_header = provider.settings.tls_client_cert_header
        self._cert_key = "HTTP_" + cert_header.upper().replace("-", "_") if cert_header else None
        self._cert_proxies = rfc8705_mtls.parse_networks(provider.settings.tls_client_cert_proxies)
        # Each endpoint reads the parameters its parts declare (the grants', client
        # authentication's, RFC 7662's, RFC 7009's); every other one is ignored unchecked.
        self._routes: dict[str, tuple[Handler, frozenset[str]]] = {
            "/token": (self.token, provider.grants.parameters | CLIENT_AUTH_PARAMETERS),
            "/introspect": (self.introspect, INTROSPECTION_PARAMETERS | CLIENT_AUTH_PARAMETERS),
            "/revoke": (self.revoke, REVOCATION_PARAMETERS | CLIENT_AUTH_PARAMETERS),
            "/par": (self.push, PAR_PARAMETERS | CLIENT_AUTH_PARAMETERS),
        }

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        route = self._routes.get(environ.get("PATH_INFO", ""))
        if route is None:
            return self._fallback(environ, start_response)
        handler, parameters = route
        # idp.http.edge assigned it: the server's own, or a configured trusted proxy's.
        request_id = environ.get(REQUEST_ID_KEY) or str(uuid.uuid4())
        path = environ["PATH_INFO"]
        try:
            body = handler(self._request(environ, parameters, request_id))
            status, extra = _CREATED.get(path, 200), {}
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

    def _request(
        self, environ: dict[str, Any], parameters: frozenset[str], request_id: str
    ) -> TokenRequest:
        form = self._form(environ, parameters)
        return TokenRequest(
            method=environ["REQUEST_METHOD"],
            url=self._provider.issuer + environ["PATH_INFO"],
            form=form,
            headers=EnvironHeaders(environ),
            # RFC 8705 behind a proxy: only a trusted proxy's header is the certificate.
            client_certificate=rfc8705_mtls.trusted_header(
                environ.get(self._cert_key), environ.get("REMOTE_ADDR"), self._cert_proxies
            )
            if self._cert_key
            else None,
            request_id=request_id,
        )

    def _form(self, environ: dict[str, Any], parameters: frozenset[str]) -> dict[str, str]:
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
        return single_values((name, value) for name, value in pairs if name in parameters)

    # -- the endpoints -------------------------------------------------------------------
    def _client(self, request: TokenRequest) -> Client:
        client = self._provider.authenticator.authenticate(
            request.form, request.authorization, request.url, certificate=request.client_certificate
        )
        path = request.url.removeprefix(self._provider.issuer)
        seconds = self._provider.rate_limits.client_retry_after(path, client.client_id)
        if seconds is not None:
            raise TooManyRequests(seconds)
        return client

    def token(self, request: TokenRequest) -> dict[str, Any]:
        p = self._provider
        grant = p.grants.for_request(request.form)
        client = self._client(request)
        binding = rfc8705_mtls.merge(
            p.dpop.token_binding(
                request.header("DPoP"),
                request.method,
                request.url,
                required=client.dpop_bound_access_tokens,
            ),
            rfc8705_mtls.token_binding(client, request.client_certificate),
        )
        own = request.reading_only(grant.parameters)
        if isinstance(grant, StatelessGrant):
            return grant.issue(own, client, binding=binding)
        with p.db.transaction() as session:
            try:
                store = SqlTokenStore(session, now=p.now())
                return grant.issue(own, client, store, binding=binding)
            except GrantRevoked as exc:  # committed with the revocation (KeepsWrites)
                record_event(
                    session,
                    "grant.revoked",
                    at=p.now(),
                    client_id=client.client_id,
                    request_id=request.request_id,
                    reason=exc.detail,
                )
                raise

    def introspect(self, request: TokenRequest) -> dict[str, Any]:
        p = self._provider
        client = self._client(request)
        with p.db.transaction() as session:
            return p.introspection.introspect(
                client, request.form, SqlTokenStore(session, now=p.now())
            )

    def push(self, request: TokenRequest) -> dict[str, Any]:
        """RFC 9126 2: a pushed authorization request, answered 201 with its ``request_uri``."""
        p = self._provider
        client = self._client(request)
        dpop = request.header("DPoP")
        jkt = p.dpop.check(dpop, request.method, request.url).jkt if dpop is not None else None
        with p.db.transaction() as session:
            return p.pushed_requests.push(
                client, request.form, SqlPushedRequests(session), proof_jkt=jkt
            )

    def revoke(self, request: TokenRequest) -> dict[str, Any]:
        p = self._provider
        client = self._client(request)
        with p.db.transaction() as session:
            if p.revocation.revoke(client, request.form, SqlTokenStore(session, now=p.now())):
                record_event(
                    session,
                    "token.revoked",
                    at=p.now(),
                    client_id=client.client_id,
                    request_id=request.request_id,
                )
        return {}


#: Paths whose success is a creation (RFC 9126 2.2: 201 Created).
_CREATED = {"/par": 201}
_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    405: "Method Not Allowed",
    413: "Content Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
