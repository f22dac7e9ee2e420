"""The OpenAPI 3.1 document of the QR endpoints, served at ``/qr/openapi.json``.

Written to ``docs/qr-openapi.json`` by ``python -m idp.qr.openapi > docs/qr-openapi.json``; a
test keeps the two equal and checks every route of ``idp.qr.views`` is documented. The channel
security schemes and the Problem schema are the e-card API's (``idp.ecards.openapi``).
"""

from __future__ import annotations

import json
from typing import Any

from idp.ecards import openapi as ecards_openapi
from idp.qr.paths import CARDHOLDER_PATH
from idp.qr.paths import CHANNEL_PATH
from idp.qr.paths import JWKS_PATH
from idp.qr.paths import RENDER_PNG_PATH
from idp.qr.paths import RENDER_SVG_PATH
from idp.qr.paths import STATUS_LIST_PATH
from idp.qr.requests import MAX_BATCH
from idp.qr.token import REASONS
from idp.qr.token import Purpose


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


CODE_PARAM = {
    "name": "code",
    "in": "query",
    "required": True,
    "description": "The code text (SC1:...), percent-encoded: it holds spaces, %, + and /",
    "schema": {"type": "string", "pattern": "^SC1:[0-9A-Z $%*+\\-./:]+$", "maxLength": 200},
}
SCALE_PARAM = {
    "name": "scale",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 1, "maximum": 20, "default": 4},
}
REFUSALS = {
    "400": ecards_openapi.MALFORMED_JSON,
    "404": _problem("ecard-not-found: not this channel's e-card (or, /me, none in the channel)"),
    "409": _problem("ecard-not-active (unbound, superseded) or card-not-usable (suspended...)"),
    "413": _problem("The body is too large"),
    "415": _problem("The body is not application/json"),
    "422": _problem("invalid-request naming the field"),
    "503": _problem("qr-keys-missing: the instance could not make its first QR key"),
}


#: RFC 6750 3.1: the cardholder-token endpoint refuses a missing or weak token as OAuth does
#: (with WWW-Authenticate), not as problem JSON; level-too-low is still a problem.
BEARER_ERROR = {
    "schema": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
    }
}
BEARER_REFUSALS = {
    "401": {
        "description": "invalid_request or invalid_token (RFC 6750 3.1)",
        "content": {"application/json": BEARER_ERROR},
    },
    "403": {
        "description": "insufficient_scope (no essc.ecard), or level-too-low as a problem",
        "content": {
            "application/json": BEARER_ERROR,
            "application/problem+json": {"schema": _ref("Problem")},
        },
    },
}


def _issue(
    operation: str, summary: str, security: list[Any], *, bearer: bool = False
) -> dict[str, Any]:
    refusals = BEARER_REFUSALS if bearer else {}
    return {
        "operationId": operation,
        "summary": summary,
        "security": security,
        "requestBody": {"required": True, **_json("QrIssueRequest", "The purpose and count")},
        "responses": {
            "201": _json("QrCodes", "The codes, valid one after the other (docs/qr-token.md)"),
            "401": _problem("Not authenticated"),
            "403": _problem("Lacks essc.ecard, or level-too-low: payment needs a level 2 e-card"),
            **REFUSALS,
            **refusals,
        },
    }


def _render(kind: str, media: str) -> dict[str, Any]:
    return {
        "get": {
            "operationId": f"renderQr{kind.upper()}",
            "summary": f"A code of this platform as a {kind.upper()} QR symbol (ECC level M)",
            "security": [],
            "parameters": [CODE_PARAM, SCALE_PARAM],
            "responses": {
                "200": {"description": "The symbol", "content": {media: {}}},
                "400": _problem("invalid-request: no code, two codes, or scale out of range"),
                "422": _problem("invalid-code: not a code this platform signed (with reason)"),
            },
        }
    }


def _schemas() -> dict[str, Any]:
    return {
        "QrIssueRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["purpose"],
            "properties": {
                "purpose": {"enum": [p.value for p in Purpose]},
                "count": {"type": "integer", "minimum": 1, "maximum": MAX_BATCH, "default": 1},
            },
        },
        "QrCode": {
            "type": "object",
            "required": ["code", "code_id", "purpose", "valid_from", "expires_at"],
            "properties": {
                "code": {"type": "string", "description": "SC1:... (docs/qr-token.md 1)"},
                "code_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
                "purpose": {"enum": [p.value for p in Purpose]},
                "valid_from": ecards_openapi.TIMESTAMP,
                "expires_at": ecards_openapi.TIMESTAMP,
            },
        },
        "QrCodes": {
            "type": "object",
            "required": ["codes", "jwks_uri", "status_list_uri"],
            "properties": {
                "codes": {"type": "array", "items": _ref("QrCode"), "maxItems": MAX_BATCH},
                "jwks_uri": {"type": "string", "format": "uri"},
                "status_list_uri": {"type": "string", "format": "uri"},
            },
        },
        "Problem": ecards_openapi.document()["components"]["schemas"]["Problem"],
    }


def document() -> dict[str, Any]:
    channel_schemes = ecards_openapi.document()["components"]["securitySchemes"]
    security: list[dict[str, Any]] = list(ecards_openapi.SECURITY)  # type: ignore[arg-type]
    channel_security = [s for s in security if "alipayRsa2Form" not in s]
    reasons = ", ".join(sorted(REASONS - {"level_too_low"}))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "essc-idp QR codes",
            "version": "1.0.0",
            "description": (
                "Signed QR codes of the e-card: issuing, pictures, keys and the status list."
                f" The format and the offline refusal reasons ({reasons}) are in"
                " docs/qr-token.md."
            ),
        },
        "paths": {
            CHANNEL_PATH: {
                "post": {
                    **_issue(
                        "issueQrCodes", "Codes for one of the channel's e-cards", channel_security
                    ),
                    "parameters": [ecards_openapi.SIGN_NO_PARAM],
                }
            },
            CARDHOLDER_PATH: {
                "post": _issue(
                    "issueOwnQrCodes",
                    "Codes for the cardholder's e-card in the token's channel",
                    [{"cardholderToken": ["essc.ecard"]}],
                    bearer=True,
                )
            },
            RENDER_SVG_PATH: _render("svg", "image/svg+xml"),
            RENDER_PNG_PATH: _render("png", "image/png"),
            JWKS_PATH: {
                "get": {
                    "operationId": "qrJwks",
                    "summary": "The QR signing keys (Ed25519), for offline verifiers",
                    "security": [],
                    "responses": {"200": {"description": "RFC 7517 JWK Set"}},
                }
            },
            STATUS_LIST_PATH: {
                "get": {
                    "operationId": "qrStatusList",
                    "summary": "The signed status list (draft-ietf-oauth-status-list)",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "A statuslist+jwt",
                            "content": {"application/statuslist+jwt": {}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                **{k: v for k, v in channel_schemes.items() if k != "alipayRsa2Form"},
                "cardholderToken": {
                    "type": "oauth2",
                    "flows": {
                        "authorizationCode": {
                            "authorizationUrl": "/authorize",
                            "tokenUrl": "/token",
                            "scopes": {"essc.ecard": "Use the e-card, QR codes included"},
                        }
                    },
                },
            },
        },
    }


def render() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    print(render(), end="")
