"""Discovery (OIDC Discovery 1.0 4, RFC 8414 3) and the JWK Set (RFC 7517 5)."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify

from idp.web.http import provider

bp = Blueprint("discovery", __name__)


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def metadata() -> Response:
    response = jsonify(provider().metadata)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/jwks.json")
def jwks() -> Response:
    response = jsonify(provider().keyring.jwks())
    # Verifiers refetch on an unknown kid; pending keys are published well before they sign.
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.content_type = "application/jwk-set+json"
    return response
