"""The certification API's part of the family OpenAPI document (``/family/openapi.json``,
``docs/family-openapi.json``): its paths and schemas, merged by ``idp.family.openapi``."""

from __future__ import annotations

from typing import Any

from idp.family.formats import MAX_ASSERTION
from idp.family.pension_rules import State

PREFIX = "/api/v1/pension"
PENSIONER = [{"cardholderToken": ["essc.ecard"]}, {"delegatedToken": []}]
SERVICE = [{"clientCredentials": ["essc.pension.read"]}]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


BODY = {
    "400": _problem("malformed-json"),
    "413": _problem("body-too-large"),
    "415": _problem("unsupported-media-type"),
    "422": _problem("invalid-request, naming the field"),
}
TOKEN = {"401": {"description": "invalid_token (RFC 6750 3.1, with WWW-Authenticate)"}}
REFUSED = _problem(
    "no-power (a delegated token without pension_certification), relationship-ended,"
    " certification-refused (with reason: not a face, face too old, another person, card not"
    " usable, or the assertion itself), or insufficient_scope for an own token without"
    " essc.ecard"
)


def paths() -> dict[str, Any]:
    return {
        PREFIX + "/certifications": {
            "post": {
                "operationId": "certifyPension",
                "summary": "Certify: the pensioner's fresh face assertion, sent by them or by a"
                " relative with the power (their delegated token)",
                "security": PENSIONER,
                "requestBody": {"required": True, **_json("CertifyRequest", "The face")},
                "responses": {
                    "201": _json("Certification", "Certified now"),
                    "200": _json("Certification", "Already certified (a retry): unchanged"),
                    **TOKEN,
                    **BODY,
                    "403": REFUSED,
                },
            }
        },
        PREFIX + "/certification": {
            "get": {
                "operationId": "pensionState",
                "summary": "The pensioner's certification state",
                "security": PENSIONER,
                "responses": {"200": _json("Certification", "The state"), **TOKEN, "403": REFUSED},
            }
        },
        PREFIX + "/status": {
            "post": {
                "operationId": "pensionServiceStatus",
                "summary": "The pension service reads a person's state by ID number",
                "security": SERVICE,
                "requestBody": {"required": True, **_json("StatusRequest", "Whom")},
                "responses": {
                    "200": _json("Certification", "The state"),
                    "401": _problem("unauthorized: no client credentials token"),
                    "403": _problem("insufficient-scope: essc.pension.read not granted"),
                    **BODY,
                    "404": _problem("person-not-found"),
                },
            }
        },
    }


def schemas() -> dict[str, Any]:
    return {
        "CertifyRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["assertion"],
            "properties": {
                "assertion": {
                    "type": "string",
                    "maxLength": MAX_ASSERTION,
                    "description": "A channel assertion for the pensioner's e-card,"
                    " verified_by face, auth_time within face_acr_max_age",
                }
            },
        },
        "StatusRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id_number"],
            "properties": {"id_number": {"type": "string", "maxLength": 32}},
        },
        "Certification": {
            "type": "object",
            "required": ["state"],
            "properties": {
                "state": {"enum": [s.value for s in State]},
                "id": {"type": "string", "format": "uuid"},
                "certified_at": {"type": "integer"},
                "valid_until": {"type": "integer"},
                "method": {"enum": ["self", "agent"]},
            },
        },
    }


def security_schemes() -> dict[str, Any]:
    return {
        "clientCredentials": {
            "type": "oauth2",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/token",
                    "scopes": {"essc.pension.read": "read pension certification states"},
                }
            },
        }
    }
