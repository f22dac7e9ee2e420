"""The OpenAPI 3.1 document of the merchant APIs (QR redemption, scan-to-pay) and the channel's
payment calls, served at ``/payments-openapi.json``.

Built from the parsers' own patterns and the default limits of ``idp.settings``, written to
``docs/payments-openapi.json`` by ``python -m idp.payments.openapi > docs/payments-openapi.json``;
a test keeps the two equal and checks every route of ``idp.payments.views`` and
``idp.qr.redemption_views`` is here. docs/payments.md is the prose.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint
from flask import Response

from idp.ecards.requests import IDEMPOTENCY_KEY
from idp.ecards.requests import PIN
from idp.ecards.service import SIGN_NO
from idp.payments.requests import CURRENCIES
from idp.payments.requests import MAX_DESCRIPTION
from idp.payments.requests import MERCHANT_ORDER_ID
from idp.payments.requests import PAYMENT_ID
from idp.payments.states import STATES
from idp.qr.redemption import CODE
from idp.qr.redemption import PURPOSES
from idp.settings import Settings

bp = Blueprint("payments_openapi", __name__)
DEFAULTS = Settings()
MERCHANT = [{"clientCredentials": ["essc.pay"]}, {"mutualTLS": []}]
REDEEMER = [{"clientCredentials": ["essc.qr.redeem"]}, {"mutualTLS": []}]
CHANNEL = [{"clientCredentials": ["essc.ecard"]}, {"mutualTLS": []}]
INTEGER_FEN = {"type": "integer", "description": "fen (分): 100 is one yuan"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


COMMON = {
    "401": _problem("unauthorized: no, an invalid or an expired credential"),
    "403": _problem("insufficient-scope, or wrong-client-kind (not a merchant)"),
}
BODY_PROBLEMS = {
    "400": _problem("malformed-json, or idempotency-key-missing"),
    "415": _problem("unsupported-media-type: the body is not application/json"),
    "422": _problem(
        "invalid-request (field names the member), amount-above-limit, unsupported-currency,"
        " idempotency-key-reused, or code-<reason>: code-expired, code-wrong-purpose,"
        " code-revoked, code-bad-signature, code-unknown-key, code-malformed,"
        " code-not-yet-valid, code-level-too-low"
    ),
}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": 'A Structured Fields string ("key") or a bare token; the same key on every'
    " retry of one request, answered with the first answer",
    "schema": {"type": "string", "pattern": f'^"?{IDEMPOTENCY_KEY.pattern}"?$'},
}
PAYMENT_PARAM = {
    "name": "payment_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": f"^{PAYMENT_ID.pattern}$"},
}
SIGN_NO_PARAM = {
    "name": "sign_no",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": f"^{SIGN_NO.pattern}$"},
}


def _operation(
    op_id: str, summary: str, security: list[Any], responses: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "operationId": op_id,
        "summary": summary,
        "security": security,
        **extra,
        "responses": {**responses, **COMMON},
    }


def _paths() -> dict[str, Any]:
    not_found = {"404": _problem("payment-not-found (also another merchant's payment)")}
    body = {"required": False, "content": {"application/json": {"schema": _ref("Empty")}}}
    return {
        "/api/v1/qr/redemptions": {
            "post": _operation(
                "redeemQrCode",
                "Redeem a scanned code once; the answer holds what this purpose may see",
                REDEEMER,
                {
                    "201": _json("Redemption", "Redeemed"),
                    "409": _problem("code-already-redeemed (first_redeemed_at), card-not-usable"),
                    **BODY_PROBLEMS,
                },
                requestBody={"required": True, **_json("RedemptionRequest", "The scan")},
            )
        },
        "/api/v1/payments": {
            "post": _operation(
                "authorizePayment",
                "Authorize a payment with a scanned payment code",
                MERCHANT,
                {
                    "201": _json("Payment", "authorized, pending_confirmation or declined"),
                    "409": _problem("code-already-redeemed, card-not-usable, ecard-not-usable"),
                    **BODY_PROBLEMS,
                },
                parameters=[IDEMPOTENCY],
                requestBody={"required": True, **_json("PaymentRequest", "The payment")},
            )
        },
        "/api/v1/payments/{payment_id}": {
            "get": _operation(
                "getPayment",
                "The payment now (poll a pending one)",
                MERCHANT,
                {"200": _json("Payment", "The payment"), **not_found},
                parameters=[PAYMENT_PARAM],
            )
        },
        "/api/v1/payments/{payment_id}/capture": {
            "post": _operation(
                "capturePayment",
                "Capture an authorized payment in full",
                MERCHANT,
                {
                    "200": _json("Payment", "Captured (also when it was before)"),
                    "409": _problem("transition-refused"),
                    **not_found,
                    **BODY_PROBLEMS,
                },
                parameters=[PAYMENT_PARAM],
                requestBody=body,
            )
        },
        "/api/v1/payments/{payment_id}/reverse": {
            "post": _operation(
                "reversePayment",
                "Reverse (void) an authorized or pending payment within the window",
                MERCHANT,
                {
                    "200": _json("Payment", "Reversed (also when it was before)"),
                    "409": _problem("transition-refused, reversal-window-closed"),
                    **not_found,
                    **BODY_PROBLEMS,
                },
                parameters=[PAYMENT_PARAM],
                requestBody=body,
            )
        },
        "/api/v1/payments/{payment_id}/refunds": {
            "post": _operation(
                "refundPayment",
                "Refund part or all of a captured payment",
                MERCHANT,
                {
                    "201": _json("Refund", "Refunded (a retry with the key: the first answer)"),
                    "409": _problem("transition-refused, refund-exceeds-captured"),
                    **not_found,
                    **BODY_PROBLEMS,
                },
                parameters=[PAYMENT_PARAM, IDEMPOTENCY],
                requestBody={"required": True, **_json("RefundRequest", "The refund")},
            )
        },
        "/api/v1/payment-statements/{day}": {
            "get": _operation(
                "getStatement",
                "The merchant's statement of a China Standard Time day",
                MERCHANT,
                {
                    "200": _json("Statement", "The statement"),
                    "404": _problem("statement-not-found: not a day"),
                },
                parameters=[
                    {
                        "name": "day",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "format": "date"},
                    }
                ],
            )
        },
        "/api/v1/ecards/{sign_no}/payments": {
            "get": _operation(
                "listHolderPayments",
                "The holder's payments with this e-card, newest first",
                CHANNEL,
                {
                    "200": _json("HolderPayments", "A page of payments"),
                    "404": _problem("ecard-not-found"),
                    "422": _problem("invalid-request: before"),
                },
                parameters=[
                    SIGN_NO_PARAM,
                    {
                        "name": "before",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0},
                    },
                ],
            )
        },
        "/api/v1/ecards/{sign_no}/payments/{payment_id}/confirm": {
            "post": _operation(
                "confirmPayment",
                "Relay the holder's e-card PIN for a pending payment",
                CHANNEL,
                {
                    "200": _json("HolderPayment", "authorized, or declined (daily limit)"),
                    "404": _problem("ecard-not-found, payment-not-found"),
                    "409": _problem("payment-not-pending, card-not-usable"),
                    "423": _problem("pin-locked: the payment is declined"),
                    **BODY_PROBLEMS,
                },
                parameters=[SIGN_NO_PARAM, PAYMENT_PARAM],
                requestBody={"required": True, **_json("Confirmation", "The PIN")},
            )
        },
    }


def _payment_schema() -> dict[str, Any]:
    fen = INTEGER_FEN
    return {
        "type": "object",
        "required": [
            "payment_id",
            "state",
            "amount_fen",
            "currency",
            "captured_fen",
            "refunded_fen",
            "created_at",
            "updated_at",
        ],
        "properties": {
            "payment_id": {"type": "string", "pattern": f"^{PAYMENT_ID.pattern}$"},
            "state": {"enum": list(STATES)},
            "amount_fen": fen,
            "currency": {"enum": list(CURRENCIES)},
            "merchant_order_id": {"type": "string"},
            "description": {"type": "string"},
            "captured_fen": fen,
            "refunded_fen": fen,
            "created_at": {"type": "integer"},
            "updated_at": {"type": "integer"},
            "authorized_at": {"type": "integer"},
            "captured_at": {"type": "integer"},
            "decline_reason": {
                "enum": ["daily_limit_exceeded", "confirmation_expired", "pin_locked"]
            },
            "confirm_by": {"type": "integer", "description": "pending: the PIN's deadline"},
        },
    }


def _schemas() -> dict[str, Any]:
    amount = {
        **INTEGER_FEN,
        "minimum": 1,
        "maximum": DEFAULTS.payment_daily_limit_fen,
        "description": "fen (分), at most ESSC_PAYMENT_DAILY_LIMIT_FEN (default shown)",
    }
    payment = _payment_schema()
    holder = {
        "allOf": [
            payment,
            {
                "type": "object",
                "properties": {
                    "merchant": {
                        "type": "object",
                        "properties": {
                            "client_id": {"type": "string"},
                            "name": {"type": ["string", "null"]},
                        },
                    }
                },
            },
        ]
    }
    return {
        "Empty": {"type": "object", "additionalProperties": False},
        "RedemptionRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["code", "purpose"],
            "properties": {
                "code": {"type": "string", "pattern": f"^{CODE.pattern}$"},
                "purpose": {"enum": list(PURPOSES)},
            },
        },
        "Redemption": {
            "type": "object",
            "required": ["redemption_id", "purpose", "redeemed_at"],
            "properties": {
                "redemption_id": {"type": "string"},
                "purpose": {"enum": list(PURPOSES)},
                "redeemed_at": {"type": "integer"},
                "name": {"type": "string", "description": "medical only"},
                "card_number_masked": {"type": "string", "description": "medical only"},
                "name_masked": {"type": "string", "description": "identity only"},
                "payment_reference": {"type": "string", "description": "payment only"},
                "transit_reference": {"type": "string", "description": "transit only"},
            },
        },
        "PaymentRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["code", "amount_fen", "currency", "merchant_order_id"],
            "properties": {
                "code": {"type": "string", "pattern": f"^{CODE.pattern}$"},
                "amount_fen": amount,
                "currency": {"enum": list(CURRENCIES)},
                "merchant_order_id": {
                    "type": "string",
                    "pattern": f"^{MERCHANT_ORDER_ID.pattern}$",
                },
                "description": {"type": "string", "minLength": 1, "maxLength": MAX_DESCRIPTION},
            },
        },
        "Payment": payment,
        "RefundRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["amount_fen"],
            "properties": {"amount_fen": amount},
        },
        "Refund": {
            "type": "object",
            "required": ["refund_id", "payment_id", "amount_fen", "created_at", "payment"],
            "properties": {
                "refund_id": {"type": "string"},
                "payment_id": {"type": "string"},
                "amount_fen": INTEGER_FEN,
                "created_at": {"type": "integer"},
                "payment": _ref("Payment"),
            },
        },
        "Statement": {
            "type": "object",
            "required": ["merchant", "day", "complete", "payments", "captures", "refunds"],
            "properties": {
                "merchant": {"type": "string"},
                "day": {"type": "string", "format": "date"},
                "utc_offset": {"const": "+08:00"},
                "complete": {"type": "boolean", "description": "the day is over"},
                "generated_at": {"type": "integer"},
                "payments": {"type": "array", "items": _ref("Payment")},
                "captures": {"type": "array", "items": {"type": "object"}},
                "refunds": {"type": "array", "items": {"type": "object"}},
                "totals": {
                    "type": "object",
                    "properties": {
                        name: {"type": "integer"}
                        for name in (
                            "payments",
                            "authorized_fen",
                            "captured_fen",
                            "refunded_fen",
                            "net_fen",
                        )
                    },
                },
            },
        },
        "HolderPayment": holder,
        "HolderPayments": {
            "type": "object",
            "required": ["payments"],
            "properties": {
                "payments": {"type": "array", "items": _ref("HolderPayment")},
                "next_before": {"type": ["integer", "null"]},
            },
        },
        "Confirmation": {
            "type": "object",
            "additionalProperties": False,
            "required": ["pin"],
            "properties": {"pin": {"type": "string", "pattern": f"^{PIN.pattern}$"}},
        },
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "request_id": {"type": "string"},
            },
        },
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "essc-idp merchant API: QR redemption and scan-to-pay",
            "version": "1.0.0",
            "description": "See docs/payments.md. Amounts are integers of fen, currency CNY.",
        },
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "clientCredentials": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": "/token",
                            "scopes": {
                                "essc.pay": "take payments (merchants)",
                                "essc.qr.redeem": "redeem scanned codes (merchants)",
                                "essc.ecard": "the channel e-card API (channels)",
                            },
                        }
                    },
                },
                "mutualTLS": {"type": "mutualTLS", "description": "RFC 8705 tls_client_auth"},
            },
        },
    }


def render() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=2) + "\n"


@bp.get("/payments-openapi.json")
def openapi_json() -> Response:
    return Response(render(), mimetype="application/json")


if __name__ == "__main__":
    print(render(), end="")
