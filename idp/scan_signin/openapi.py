"""The OpenAPI 3.1 document of the scan-to-sign-in channel API (docs/scan-signin.md "Channel
API"), served at ``/api/v1/scan-signin/openapi.json``.

Written to ``docs/scan-signin-openapi.json`` by
``python -m idp.scan_signin.openapi > docs/scan-signin-openapi.json``; a test keeps the two equal,
checks every route of ``idp.scan_signin.channel_views`` is in it, and runs schemathesis against
it. There is no security scheme: each body carries its own channel assertion
(docs/channel-assertion.md), which authenticates both the channel and its user.
"""

from __future__ import annotations

import json
from typing import Any

from idp.ecards import openapi as ecards_openapi
from idp.scan_signin.formats import MAX_QR_TEXT
from idp.scan_signin.formats import NUMBERS

PREFIX = "/api/v1/scan-signin"
OPENAPI_PATH = f"{PREFIX}/openapi.json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


REFUSALS: dict[str, Any] = {
    "400": _problem(
        "invalid-request (not the QR format, no assertion, a number that is not an integer"
        " 10-99) or malformed-json (not I-JSON, lone surrogates included)"
    ),
    "401": _problem(
        "assertion-rejected: the assertion does not verify, is replayed, or names no"
        " usable e-card of its channel"
    ),
    "404": _problem("scan-request-not-found: no such reference"),
    "409": _problem("scan-request-scanned, scan-request-not-scanned or scan-request-decided"),
    "410": _problem("scan-request-expired: past its time or replaced by a newer code"),
    "413": _problem("body-too-large"),
    "415": _problem("unsupported-media-type: the body is not application/json"),
    "429": _problem("Too many requests from this address (Retry-After says when to come back)"),
}
DECIDED = {
    "200": {
        "description": "The new state",
        "content": {"application/json": {"schema": _ref("Decision")}},
    },
    **REFUSALS,
    "403": _problem(
        "scan-request-other-user (another channel or e-card than the one that scanned), or"
        " wrong-number (the request is now denied, committed; the body has state: denied)"
    ),
}


def _operation(operation_id: str, summary: str, body: str, answers: Any) -> dict[str, Any]:
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "security": [],
            "requestBody": _body(body),
            "responses": answers,
        }
    }


def _schemas() -> dict[str, Any]:
    reference = {
        "type": "string",
        "pattern": "^ESSC:SIGNIN:[A-Z2-7]{32}$",
        "maxLength": MAX_QR_TEXT,
        "description": 'The QR text as scanned, exactly (docs/scan-signin.md "Formats")',
    }
    assertion = {
        "type": "string",
        "minLength": 1,
        "maxLength": 8192,
        "description": "A fresh channel assertion (docs/channel-assertion.md), one-time jti",
    }
    number = {"type": "integer", "minimum": NUMBERS.start, "maximum": NUMBERS.stop - 1}
    problem = ecards_openapi.document()["components"]["schemas"]["Problem"]
    return {
        "Problem": problem,
        "ScanRequest": {
            "type": "object",
            "required": ["request", "assertion"],
            "properties": {"request": reference, "assertion": assertion},
        },
        "Approval": {
            "type": "object",
            "required": ["request", "assertion", "number"],
            "properties": {"request": reference, "assertion": assertion, "number": number},
        },
        "Scanned": {
            "type": "object",
            "required": ["state", "portal", "pc", "expires_at", "choices", "far_from_pc"],
            "properties": {
                "state": {"const": "scanned"},
                "portal": {
                    "type": "object",
                    "required": ["client_id", "name"],
                    "properties": {"client_id": {"type": "string"}, "name": {"type": "string"}},
                },
                "pc": {
                    "type": "object",
                    "required": ["network", "location", "requested_at"],
                    "properties": {
                        "network": {"type": "string", "description": "IPv4 /24 or IPv6 /48"},
                        "location": {
                            "type": ["string", "null"],
                            "description": "From ESSC_NETWORK_REGIONS; null where unknown",
                        },
                        "requested_at": {"type": "integer", "description": "Unix seconds"},
                    },
                },
                "expires_at": {"type": "integer", "description": "Unix seconds"},
                "choices": {"type": "array", "items": number, "minItems": 3, "maxItems": 3},
                "far_from_pc": {"type": "boolean"},
            },
        },
        "Decision": {
            "type": "object",
            "required": ["state", "far_from_pc"],
            "properties": {
                "state": {"enum": ["approved", "denied"]},
                "far_from_pc": {"type": "boolean"},
            },
        },
    }


def document() -> dict[str, Any]:
    scanned = {
        "200": {
            "description": "What to show the citizen, and the three numbers to choose from",
            "content": {"application/json": {"schema": _ref("Scanned")}},
        },
        **REFUSALS,
        "403": _problem("scan-request-other-user"),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "essc-idp scan-to-sign-in, channel API",
            "version": "1.0.0",
            "description": (
                "The channel app's side of scan-to-sign-in (扫码登录): report a scan, then approve"
                " with the number the PC shows, or deny. Flow, states and threat model:"
                " docs/scan-signin.md."
            ),
        },
        "paths": {
            f"{PREFIX}/scan": _operation(
                "scanSignInRequest", "The phone scanned a PC's QR", "ScanRequest", scanned
            ),
            f"{PREFIX}/approve": _operation(
                "approveSignInRequest", "Approve with the number the PC shows", "Approval", DECIDED
            ),
            f"{PREFIX}/deny": _operation(
                "denySignInRequest", "The citizen refuses the sign-in", "ScanRequest", DECIDED
            ),
        },
        "components": {"schemas": _schemas()},
    }


def render() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    print(render(), end="")
