"""The ``query_benefits`` API's part of the family OpenAPI document (``/family/openapi.json``,
``docs/family-openapi.json``), merged by ``idp.family.openapi``."""

from __future__ import annotations

from typing import Any

from idp.family.benefits import PAYMENTS
from idp.family.pension_rules import State
from idp.payments.states import STATES

PATH = "/api/v1/family/acting/benefits"
PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM}},
    }


def paths() -> dict[str, Any]:
    return {
        PATH: {
            "get": {
                "operationId": "actingBenefits",
                "summary": "The principal's pension certification and newest payments, masked",
                "responses": {
                    "200": {
                        "description": "What the query_benefits power may read",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ActingBenefits"}
                            }
                        },
                    },
                    "401": {"description": "invalid_token (RFC 6750 3.1): it does not verify"},
                    "403": _problem(
                        "not-delegated (the caller's own token), no-power (no query_benefits),"
                        " relationship-ended (ended, expired, or the agent's grant revoked)"
                    ),
                },
                "security": [{"delegatedToken": ["essc.family.query_benefits"]}],
            }
        }
    }


def schemas() -> dict[str, Any]:
    return {
        "ActingBenefits": {
            "type": "object",
            "required": ["pension_certification", "payments", "acting_for"],
            "properties": {
                "pension_certification": {
                    "type": "object",
                    "required": ["state"],
                    "properties": {
                        "state": {"enum": [s.value for s in State]},
                        "certified_at": {"type": "integer"},
                        "valid_until": {"type": "integer"},
                        "method": {"enum": ["self", "agent"]},
                    },
                },
                "payments": {
                    "type": "array",
                    "maxItems": PAYMENTS,
                    "description": "Newest first, made with any of the principal's e-cards",
                    "items": {
                        "type": "object",
                        "properties": {
                            "at": {"type": "integer"},
                            "amount_fen": {"type": "integer"},
                            "currency": {"type": "string"},
                            "state": {"enum": list(STATES)},
                            "refunded_fen": {"type": "integer"},
                            "merchant": {"type": ["string", "null"]},
                        },
                    },
                },
                "acting_for": {"type": "string", "description": "The principal's sub"},
            },
        }
    }
