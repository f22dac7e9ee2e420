"""Small HTTP helpers shared by the views: parameters, JSON answers, the provider handle."""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from flask import current_app
from flask import request

from idp.errors import InvalidRequest
from idp.errors import OAuthError
from idp.oauth.params import single_values
from idp.provider import Provider

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def provider() -> Provider:
    found: Provider = current_app.extensions["essc"]
    return found


def form_params() -> dict[str, str]:
    """Single-valued form parameters of a POST (RFC 6749 3.2: x-www-form-urlencoded only)."""
    if request.mimetype != "application/x-www-form-urlencoded":
        raise InvalidRequest("the body must be application/x-www-form-urlencoded")
    return single_values(request.form.items(multi=True))


def oauth_json(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """JSON with ``Cache-Control: no-store`` (RFC 6749 5.1), serialised once, compactly."""
    response = Response(_dumps(body), status, NO_STORE, mimetype="application/json")
    if headers:
        response.headers.update(headers)
    return response


def oauth_error(error: OAuthError) -> Response:
    return oauth_json(error.body(), error.status_code, error.headers())


def endpoint_url(path: str) -> str:
    return f"{provider().issuer}{path}"
