"""Discovery (OIDC Discovery 1.0 4, RFC 8414 3) and the JWK Set (RFC 7517 5).

Every relying party and resource server fetches these, so a GET or HEAD is answered by
``Documents``, a lean WSGI layer in front of Flask, from bytes encoded once, with a strong
``ETag`` (RFC 9110 8.8.3) and ``304 Not Modified`` for a matching ``If-None-Match`` (13.1.2).
The metadata never changes in a process; the JWK Set's bytes are encoded again whenever the key
ring installs a new key set (it does on every refresh and rotation), and the ETag follows the
bytes, so a cache revalidates cheaply and sees a rotated key at once. Other methods go on to the
blueprint below, which answers them 405 the way every other endpoint does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify

from idp.http.edge import REQUEST_ID_KEY
from idp.http.edge import WSGIApp
from idp.http.http import provider

log = logging.getLogger("essc.idp")
bp = Blueprint("discovery", __name__)
METADATA_PATHS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
JWKS_PATH = "/jwks.json"
#: Verifiers refetch on an unknown kid; pending keys are published well before they sign.
CACHE_CONTROL = "public, max-age=300"


@dataclass(frozen=True)
class Encoded:
    """A document as sent: its bytes, their strong ETag, and its media type."""

    body: bytes
    etag: str
    content_type: str

    @classmethod
    def of(cls, document: dict[str, Any], content_type: str) -> Encoded:
        body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")
        digest = hashlib.sha256(body).digest()[:16]
        etag = '"' + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii") + '"'
        return cls(body, etag, content_type)


def not_modified(if_none_match: str, etag: str) -> bool:
    """RFC 9110 13.1.2: ``*`` or any listed tag equal to ``etag`` by weak comparison."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in if_none_match.split(","))


class Documents:
    """GET and HEAD of the discovery documents and the JWK Set; all else to ``fallback``."""

    def __init__(
        self, metadata: Callable[[], dict[str, Any]], jwks: Callable[[], Any], fallback: WSGIApp
    ) -> None:
        self._metadata = metadata
        self._jwks = jwks
        self._fallback = fallback
        self._encoded_metadata: Encoded | None = None
        #: The key set last encoded and its encoding: the ring installs a new dict when it
        #: reloads, so identity tells whether the bytes may be stale.
        self._encoded_jwks: tuple[object, Encoded | None] = (None, None)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or not (
            path == JWKS_PATH or path in METADATA_PATHS
        ):
            return self._fallback(environ, start_response)
        try:
            document = self._jwks_document() if path == JWKS_PATH else self._metadata_document()
        except Exception:
            # The ring could not reload (database away): Flask's view fails the same way and
            # answers it as every other unexpected error, with a logged request id.
            log.warning("lean %s failed; answering through the app", path, exc_info=True)
            return self._fallback(environ, start_response)
        return self._answer(document, environ, start_response)

    def _metadata_document(self) -> Encoded:
        if self._encoded_metadata is None:
            self._encoded_metadata = Encoded.of(self._metadata(), "application/json")
        return self._encoded_metadata

    def _jwks_document(self) -> Encoded:
        current = self._jwks()
        source, encoded = self._encoded_jwks
        if source is not current or encoded is None:
            encoded = Encoded.of(current, "application/jwk-set+json")
            self._encoded_jwks = (current, encoded)
        return encoded

    @staticmethod
    def _answer(
        document: Encoded, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        headers = [
            ("ETag", document.etag),
            ("Cache-Control", CACHE_CONTROL),
            ("Access-Control-Allow-Origin", "*"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Request-Id", str(environ.get(REQUEST_ID_KEY, ""))),
        ]
        if not_modified(str(environ.get("HTTP_IF_NONE_MATCH", "")), document.etag):
            start_response("304 Not Modified", headers)
            return [b""]
        headers.append(("Content-Type", document.content_type))
        headers.append(("Content-Length", str(len(document.body))))
        start_response("200 OK", headers)
        return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [document.body]


# Reached for other methods only (``Documents`` answers GET and HEAD): Flask answers 405 with
# Allow, and a WSGI caller that skips ``Documents`` still gets the documents.
@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def metadata() -> Response:
    response = jsonify(provider().metadata)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/jwks.json")
def jwks() -> Response:
    return Response(
        Encoded.of(provider().keyring.jwks(), "").body,
        200,
        {"Cache-Control": CACHE_CONTROL, "Access-Control-Allow-Origin": "*"},
        content_type="application/jwk-set+json",
    )
