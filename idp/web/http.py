"""Small HTTP helpers shared by the Flask views: JSON answers and the provider handle."""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from flask import current_app

from idp.errors import OAuthError
from idp.provider import Provider

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def provider() -> Provider:
    found: Provider = current_app.extensions["essc"]
    return found


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
