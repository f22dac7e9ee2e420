"""The QR endpoints' paths, shared by the views and the OpenAPI document. Pure."""

from __future__ import annotations

CHANNEL_PATH = "/api/v1/ecards/{sign_no}/qr-codes"
CARDHOLDER_PATH = "/api/v1/me/qr-codes"
RENDER_SVG_PATH = "/qr/render.svg"
RENDER_PNG_PATH = "/qr/render.png"
JWKS_PATH = "/qr/jwks.json"
STATUS_LIST_PATH = "/qr/status-list"
OPENAPI_PATH = "/qr/openapi.json"
