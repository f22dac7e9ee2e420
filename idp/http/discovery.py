"""Discovery (OIDC Discovery 1.0 4, RFC 8414 3) and the JWK Set (RFC 7517 5)."""

from __future__ import annotations

import json

from flask import Blueprint
from flask import Response
from flask import jsonify

from idp.http.http import provider

bp = Blueprint("discovery", __name__)


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def metadata() -> Response:
    response = jsonify(provider().metadata)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


#: The last JWK Set served and its encoding: the ring installs a new dict when keys change, so
#: identity tells whether the bytes are still current.
_encoded_jwks: tuple[object, bytes] = (None, b"")


@bp.get("/jwks.json")
def jwks() -> Response:
    global _encoded_jwks
    current = provider().keyring.jwks()
    if _encoded_jwks[0] is not current:
        _encoded_jwks = (current, json.dumps(current, separators=(",", ":")).encode("ascii"))
    # Verifiers refetch on an unknown kid; pending keys are published well before they sign.
    return Response(
        _encoded_jwks[1],
        200,
        {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
        content_type="application/jwk-set+json",
    )
