"""The OpenAPI 3.1 document of the family API, served at ``/family/openapi.json``.

Written to ``docs/family-openapi.json`` by ``python -m idp.family.openapi >
docs/family-openapi.json``; a test keeps the two equal and checks every route of
``idp.family.views`` is in it. The token exchange itself is on ``/token`` (docs/family.md).
"""

from __future__ import annotations

import json
from typing import Any

from idp.family import benefits_openapi as benefits
from idp.family import pension_openapi as pension
from idp.family.formats import MAX_ASSERTION
from idp.family.formats import MAX_NAME
from idp.family.rules import DEFAULT_CONSENT_DAYS
from idp.family.rules import MAX_CONSENT_DAYS
from idp.family.rules import POWERS
from idp.family.rules import RELATIONSHIPS
from idp.qr.requests import MAX_BATCH

PREFIX = "/api/v1/family"
ID_PARAM = {
    "name": "relationship_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}
OWN = [{"cardholderToken": ["essc.ecard"]}]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


BEARER = {
    "401": {"description": "invalid_token (RFC 6750 3.1, with WWW-Authenticate)"},
    "403": {"description": "insufficient_scope (RFC 6750 3.1)"},
}
BODY = {
    "400": _problem("malformed-json"),
    "413": _problem("body-too-large"),
    "415": _problem("unsupported-media-type"),
    "422": _problem("invalid-request, naming the field"),
}


def _op(operation: str, summary: str, responses: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"operationId": operation, "summary": summary, "responses": responses, **more}


def _paths() -> dict[str, Any]:
    return {
        PREFIX + "/relationships": {
            "post": _op(
                "requestRelationship",
                "The agent asks to act for a principal (a minor's is active at once)",
                {
                    "201": _json("Relationship", "The relationship, requested or (minor) active"),
                    **BEARER,
                    **BODY,
                    "404": _problem("principal-not-found: no cardholder with that number and name"),
                    "409": _problem("too-many-relatives, too-many-agents, relationship-exists"),
                },
                security=OWN,
                requestBody={"required": True, **_json("AddRequest", "Who and what")},
            ),
            "get": _op(
                "listRelationships",
                "The caller's requested and active relationships, on both sides",
                {"200": _json("Relationships", "As agent and as principal"), **BEARER},
                security=OWN,
            ),
        },
        PREFIX + "/relationships/{relationship_id}/consent": {
            "post": _op(
                "consentInChannel",
                "The principal consents: a channel assertion for their e-card and their PIN",
                {
                    "200": _json("Relationship", "Now active"),
                    **BODY,
                    "403": _problem("consent-refused (with reason) or wrong-pin (tries_left)"),
                    "404": _problem("relationship-not-found"),
                    "409": _problem("relationship-not-requested: consented, ended or lapsed"),
                    "423": _problem("pin-locked (locked_until)"),
                },
                security=[],
                parameters=[ID_PARAM],
                requestBody={"required": True, **_json("ConsentRequest", "The consent")},
            ),
        },
        PREFIX + "/relationships/{relationship_id}/end": {
            "post": _op(
                "endRelationship",
                "Either side ends the relationship; its delegated tokens stop at once",
                {
                    "200": {"description": "Ended"},
                    **BEARER,
                    "404": _problem("relationship-not-found (or not the caller's)"),
                    "409": _problem("relationship-ended"),
                },
                security=OWN,
                parameters=[ID_PARAM],
            ),
        },
        PREFIX + "/history": {
            "get": _op(
                "principalHistory",
                "What relatives did for the caller, newest first, in plain language (zh-CN)",
                {"200": _json("History", "Up to 100 events"), **BEARER},
                security=OWN,
            ),
        },
        PREFIX + "/acting/card": {
            "get": _op(
                "actingCard",
                "With a delegated token (essc.family.view_card): the principal's card",
                {
                    "200": _json("ActingCard", "Masked card number and status"),
                    **BEARER,
                    "409": _problem("card-not-usable"),
                },
                security=[{"delegatedToken": ["essc.family.view_card"]}],
            ),
        },
        PREFIX + "/acting/qr-codes": {
            "post": _op(
                "actingQrCodes",
                "With a delegated token: the principal's codes (identity, medical, payment)",
                {
                    "201": _json("ActingCodes", "The codes; they stop when the relationship ends"),
                    **BEARER,
                    **BODY,
                    "404": _problem("ecard-not-found: the principal has no active e-card"),
                    "409": _problem("ecard-not-active or card-not-usable"),
                },
                security=[
                    {"delegatedToken": ["essc.family.show_identity_code"]},
                    {"delegatedToken": ["essc.family.show_medical_code"]},
                    {"delegatedToken": ["essc.family.pay"]},
                ],
                requestBody={"required": True, **_json("ActingCodesRequest", "Purpose, count")},
            ),
        },
    }


def _schemas() -> dict[str, Any]:
    powers = {"type": "array", "items": {"enum": list(POWERS)}, "uniqueItems": True}
    return {
        "AddRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["principal", "relationship"],
            "properties": {
                "principal": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["id_number", "name"],
                    "properties": {
                        "id_number": {"type": "string", "description": "GB 11643, 18 characters"},
                        "name": {"type": "string", "maxLength": MAX_NAME},
                    },
                },
                "relationship": {
                    "enum": list(RELATIONSHIPS),
                    "description": "What the principal is to the agent",
                },
                "powers": {**powers, "minItems": 1, "description": "Default: all but pay"},
            },
        },
        "ConsentRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["assertion", "pin", "powers"],
            "properties": {
                "assertion": {"type": "string", "maxLength": MAX_ASSERTION},
                "pin": {"type": "string"},
                "powers": {**powers, "minItems": 1},
                "valid_days": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_CONSENT_DAYS,
                    "default": DEFAULT_CONSENT_DAYS,
                },
                "may_act": {
                    "description": "RFC 8693 4.4: the one channel the agent may act in (the"
                    " agent's or the consenting one); absent: any channel allowed token exchange",
                    "type": ["object", "null"],
                    "additionalProperties": False,
                    "required": ["client_id"],
                    "properties": {"client_id": {"type": "string", "maxLength": 64}},
                },
            },
        },
        "Relationship": {
            "type": "object",
            "required": ["id", "state", "side", "relationship", "powers", "expires_at"],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "state": {"enum": ["requested", "active", "ended", "expired"]},
                "side": {"enum": ["agent", "principal"]},
                "relationship": {"enum": list(RELATIONSHIPS)},
                "requested_powers": powers,
                "powers": powers,
                "minor": {"type": "boolean"},
                "requested_at": {"type": "integer"},
                "expires_at": {"type": "integer"},
                "consented_at": {"type": ["integer", "null"]},
                "consent_method": {"enum": ["channel", "counter", "guardian", None]},
                "counterpart": {"type": "object", "properties": {"name": {"type": "string"}}},
                "principal_ref": {
                    "type": "string",
                    "description": "For the agent: the principal parameter of the token exchange",
                },
            },
        },
        "Relationships": {
            "type": "object",
            "properties": {
                "as_agent": {"type": "array", "items": _ref("Relationship")},
                "as_principal": {"type": "array", "items": _ref("Relationship")},
            },
        },
        "History": {
            "type": "object",
            "properties": {"events": {"type": "array", "items": {"type": "object"}}},
        },
        "ActingCard": {
            "type": "object",
            "properties": {
                "card_number": {"type": "string", "description": "masked"},
                "status": {"type": "string"},
                "region_code": {"type": "string"},
                "production_stage": {"type": "string"},
                "acting_for": {"type": "string", "description": "The principal's sub"},
            },
        },
        "ActingCodesRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["purpose"],
            "properties": {
                "purpose": {"enum": ["identity", "medical", "payment"]},
                "count": {"type": "integer", "minimum": 1, "maximum": MAX_BATCH, "default": 1},
            },
        },
        "ActingCodes": {
            "type": "object",
            "required": ["codes", "jwks_uri", "status_list_uri", "acting_for"],
            "properties": {
                "codes": {
                    "type": "array",
                    "items": {"type": "object"},
                    "description": "As /api/v1/me/qr-codes answers (docs/qr-openapi.json)",
                },
                "jwks_uri": {"type": "string", "format": "uri"},
                "status_list_uri": {"type": "string", "format": "uri"},
                "acting_for": {"type": "string"},
            },
        },
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status"],
            "properties": {
                "type": {"type": "string", "format": "uri"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "field": {"type": "string"},
                "request_id": {"type": "string"},
            },
        },
    }


def document() -> dict[str, Any]:
    token = {"authorizationUrl": "/authorize", "tokenUrl": "/token"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "essc-idp family proxy (亲情服务)",
            "version": "1.0.0",
            "description": "Relationships, consent, history, delegated calls and pension"
            " eligibility certification (docs/family.md).",
        },
        "paths": _paths() | benefits.paths() | pension.paths(),
        "components": {
            "schemas": _schemas() | benefits.schemas() | pension.schemas(),
            "securitySchemes": {
                "cardholderToken": {
                    "type": "oauth2",
                    "flows": {"authorizationCode": {**token, "scopes": {"essc.ecard": "e-card"}}},
                },
                "delegatedToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "From the RFC 8693 token exchange on /token",
                },
                **pension.security_schemes(),
            },
        },
    }


def render() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    print(render(), end="")
