"""The OpenAPI 3.1 document of the channel APIs, served at ``/openapi.json``.

Built here from the same limits the parsers enforce (``idp.ecards.requests``) and written to
``docs/openapi.json`` by ``python -m idp.ecards.openapi > docs/openapi.json``; a test keeps the two
equal and checks every route of ``idp.ecards.views`` is documented.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint
from flask import Response

from idp.ecards.requests import CHANNEL_SUBJECT
from idp.ecards.requests import ID_NUMBER_SHAPE
from idp.ecards.requests import IDEMPOTENCY_KEY
from idp.ecards.requests import MAX_NAME
from idp.ecards.requests import PIN
from idp.ecards.requests import REAL_NAME_LEVELS
from idp.ecards.requests import REGION_CODE
from idp.ecards.requests import TIMESTAMP_RANGE
from idp.ecards.service import FACE_MAX_AGE
from idp.ecards.service import SIGN_NO

bp = Blueprint("openapi", __name__)

SECURITY = [
    {"clientCredentials": ["essc.ecard"]},
    {"wechatpayV3": []},
    {"alipayV3": []},
    {"alipayRsa2Form": []},
    {"unionpayForm": []},
    {"mutualTLS": []},
]
TIMESTAMP = {"type": "integer", "description": "Unix seconds"}
#: A timestamp in a request: the range the parser accepts.
REQUEST_TIMESTAMP = {
    "type": "integer",
    "minimum": TIMESTAMP_RANGE.start,
    "maximum": TIMESTAMP_RANGE.stop - 1,
    "description": "Unix seconds",
}
FACE_CHECK = {
    **REQUEST_TIMESTAMP,
    "description": (
        f"Unix seconds of the channel's face check. It must also be at most {FACE_MAX_AGE}"
        " seconds old and not in the future, which a schema cannot express: otherwise 422"
        " stale-face-check."
    ),
}
#: Printable text: no C0/C1 control characters and not blank. The parser also refuses other
#: unprintable characters (Unicode categories Z and C but the space), after NFC, which
#: OpenAPI's regular expressions cannot name portably: 422 with field ``name``.
_CONTROL = r"\u0000-\u001f\u007f-\u009f"
NAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_NAME,
    "pattern": f"^[^{_CONTROL}]*[^\\s{_CONTROL}][^{_CONTROL}]*$",
    "description": (
        "The cardholder's name as on the card: 1 to 64 printable characters (after Unicode NFC"
        " and trimming; other unprintable characters are refused with 422, field name)."
    ),
}
ID_NUMBER = {
    "type": "string",
    "pattern": f"^{ID_NUMBER_SHAPE.pattern}$",
    "description": (
        "GB 11643 citizen ID number. The schema checks its shape; a date that does not exist,"
        " a birth date in the future and a wrong ISO 7064 MOD 11-2 check character cannot be"
        " expressed in a schema and are refused with 422 invalid-id-number."
    ),
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


MALFORMED_JSON = _problem(
    "malformed-json: not I-JSON (RFC 7493): not UTF-8, a syntax error, a repeated member name,"
    " NaN or Infinity, a number beyond IEEE 754 double range or an integer beyond 2**53-1, a"
    " string with a lone surrogate, a noncharacter or NUL, or nesting deeper than 16"
)
PROBLEMS = {
    "401": _problem("Not authenticated: missing, invalid or expired token, or signature refused"),
    "403": _problem("Authenticated, but the channel lacks the essc.ecard scope or a permission"),
}
SIGN_NO_PARAM = {
    "name": "sign_no",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": f"^{SIGN_NO.pattern}$"},
}


def _issue() -> dict[str, Any]:
    return {
        "operationId": "issueECard",
        "summary": "Issue (签发) an e-card for a person the channel has verified",
        "security": SECURITY,
        "requestBody": {"required": True, **_json("IssueRequest", "The verified person")},
        "responses": {
            "201": _json("IssuedECard", "Issued; Location names the e-card"),
            "200": _json("IssuedECard", "A retry with the same idempotency key and body"),
            "400": MALFORMED_JSON,
            **PROBLEMS,
            "409": _problem("Card not usable, key reused with another body, or no bank account"),
            "413": _problem("The body is too large"),
            "415": _problem("The body is not application/json"),
            "422": _problem(
                "A schema-valid body is refused only for what the schema cannot express: the ID"
                " number's date or check character (invalid-id-number), a stale face check"
                " (stale-face-check), an unprintable name, or no cardholder with these"
                " details (cardholder-mismatch); a schema-invalid body gets invalid-request"
                " naming the field"
            ),
        },
    }


def _status() -> dict[str, Any]:
    return {
        "operationId": "getECard",
        "summary": "E-card status, level, card status and production progress (制卡进度)",
        "security": SECURITY,
        "parameters": [SIGN_NO_PARAM],
        "responses": {
            "200": _json("ECardStatus", "The channel's own e-card"),
            **PROBLEMS,
            "404": _problem("No such e-card for this channel"),
        },
    }


def _unbind() -> dict[str, Any]:
    return {
        "operationId": "unbindECard",
        "summary": "Unbind (解除关联) the e-card from this channel, with a PIN or face factor",
        "security": SECURITY,
        "parameters": [SIGN_NO_PARAM],
        "requestBody": {"required": True, **_json("UnbindRequest", "The factor")},
        "responses": {
            "200": _json("UnbindResult", "Unbound"),
            "400": MALFORMED_JSON,
            **PROBLEMS,
            "404": _problem("No such e-card for this channel"),
            "409": _problem("The e-card is not active"),
            "413": _problem("The body is too large"),
            "415": _problem("The body is not application/json"),
            "422": _problem(
                "Invalid factor; or, for a schema-valid body, a face check older than the limit"
                " or in the future (stale-face-check), which the schema cannot express"
            ),
            "423": _problem("Too many wrong PINs; the PIN is locked"),
        },
    }


def _change_card(action: str) -> dict[str, Any]:
    words = {
        "suspend": ("suspendCard", "Suspend (临时挂失)"),
        "resume": ("resumeCard", "Resume (解挂)"),
    }
    operation_id, verb = words[action]
    return {
        "operationId": operation_id,
        "summary": f"{verb} the card behind this e-card for its holder, with a PIN or face factor",
        "description": (
            "Idempotent by state: a suspension of a suspended card (or a resume of a normal one)"
            " answers the current state with changed=false and writes no event. Every channel"
            " holding an active e-card for the card is notified (docs/card-lifecycle.md)."
        ),
        "security": SECURITY,
        "parameters": [SIGN_NO_PARAM],
        "requestBody": {"required": True, **_json("CardChangeRequest", "The factor")},
        "responses": {
            "200": _json("CardChangeResult", "The card's state after the request"),
            "400": _problem("The body is not JSON"),
            **PROBLEMS,
            "404": _problem("No such e-card for this channel"),
            "409": _problem("The e-card is not active, or the card is cancelled or replaced"),
            "413": _problem("The body is too large"),
            "415": _problem("The body is not application/json"),
            "422": _problem("Invalid factor or stale face check"),
            "423": _problem("Too many wrong PINs; the PIN is locked"),
        },
    }


def _card_change_schemas() -> dict[str, Any]:
    string = {"type": "string"}
    return {
        "CardChangeRequest": _ref("UnbindRequest"),
        "CardChangeResult": {
            "type": "object",
            "required": ["sign_no", "action", "changed", "card"],
            "properties": {
                "sign_no": string,
                "action": {"type": "string", "enum": ["suspend", "resume"]},
                "changed": {"type": "boolean", "description": "false: it was already so"},
                "card": {
                    "type": "object",
                    "properties": {
                        "status": {
                            "type": "string",
                            "enum": ["normal", "suspended", "cancelled", "replaced"],
                        },
                        "card_number_masked": string,
                        "region_code": string,
                        "suspended_until": {"type": ["integer", "null"]},
                    },
                },
            },
        },
    }


def _schemas() -> dict[str, Any]:
    string = {"type": "string"}
    return {
        "Evidence": {
            "type": "object",
            "additionalProperties": False,
            "required": ["real_name_level", "face_verified_at"],
            "properties": {
                "real_name_level": {"type": "integer", "enum": list(REAL_NAME_LEVELS)},
                "face_verified_at": FACE_CHECK,
            },
        },
        "IssueRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "name",
                "id_number",
                "region_code",
                "channel_subject",
                "evidence",
                "level",
                "idempotency_key",
            ],
            "properties": {
                "name": NAME,
                "id_number": ID_NUMBER,
                "region_code": {"type": "string", "pattern": f"^{REGION_CODE.pattern}$"},
                "channel_subject": {"type": "string", "pattern": f"^{CHANNEL_SUBJECT.pattern}$"},
                "evidence": _ref("Evidence"),
                "level": {"type": "integer", "enum": [1, 2]},
                "idempotency_key": {"type": "string", "pattern": f"^{IDEMPOTENCY_KEY.pattern}$"},
            },
        },
        "IssuedECard": {
            "type": "object",
            "required": ["sign_no", "level", "status", "issued_at", "credential"],
            "properties": {
                "sign_no": string,
                "level": {"type": "integer"},
                "status": {"type": "string", "enum": ["active", "unbound", "superseded"]},
                "issued_at": TIMESTAMP,
                "credential": {"type": "string", "description": "SD-JWT VC: <JWT>~<D>~...~"},
                "credential_format": {"type": "string", "const": "dc+sd-jwt"},
                "supersedes": {"type": "string", "description": "The sign_no it replaced"},
            },
        },
        "Card": {
            "type": "object",
            "properties": {
                "status": {
                    "type": "string",
                    "enum": ["normal", "suspended", "cancelled", "replaced"],
                },
                "card_number_masked": string,
                "region_code": string,
                "suspended_until": {"type": ["integer", "null"]},
                "production_stage": {
                    "type": "string",
                    "enum": ["applied", "producing", "ready", "collected"],
                },
                "production_updated_at": {"type": ["integer", "null"]},
                "bank_account_linked": {"type": "boolean"},
            },
        },
        "ECardStatus": {
            "type": "object",
            "properties": {
                "sign_no": string,
                "status": {"type": "string", "enum": ["active", "unbound", "superseded"]},
                "level": {"type": "integer"},
                "channel_subject": string,
                "issued_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
                "card": _ref("Card"),
            },
        },
        "UnbindRequest": {
            "oneOf": [
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["factor", "pin"],
                    "properties": {
                        "factor": {"const": "pin"},
                        "pin": {"type": "string", "pattern": f"^{PIN.pattern}$"},
                    },
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["factor", "face_verified_at"],
                    "properties": {"factor": {"const": "face"}, "face_verified_at": FACE_CHECK},
                },
            ]
        },
        "UnbindResult": {
            "type": "object",
            "properties": {
                "sign_no": string,
                "status": {"const": "unbound"},
                "unbound_at": TIMESTAMP,
            },
        },
        "Problem": {
            "type": "object",
            "description": "RFC 7807 problem details",
            "required": ["type", "title", "status"],
            "properties": {
                "type": {"type": "string", "format": "uri"},
                "title": string,
                "status": {"type": "integer"},
                "detail": string,
                "request_id": string,
                "field": string,
                "reason": string,
            },
        },
    }


def _security_schemes() -> dict[str, Any]:
    header = {"type": "apiKey", "in": "header", "name": "Authorization"}
    return {
        "clientCredentials": {
            "type": "oauth2",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/token",
                    "scopes": {"essc.ecard": "Issue, query and unbind e-cards"},
                }
            },
        },
        "wechatpayV3": {
            **header,
            "description": "WECHATPAY2-SHA256-RSA2048 (docs/channels/signing.md section 4)",
        },
        "alipayV3": {
            **header,
            "description": "ALIPAY-SHA256withRSA (docs/channels/signing.md section 3)",
        },
        # OpenAPI has no scheme type for a signed form; the signature field stands for it.
        "alipayRsa2Form": {
            "type": "apiKey",
            "in": "query",
            "name": "sign",
            "description": (
                "Alipay gateway RSA2 signed form: the request's fields plus biz_content (the JSON"
                " body) and essc_path, in the form body for POST or the query for GET"
                " (docs/ecards.md section 2)"
            ),
        },
        "unionpayForm": {
            "type": "apiKey",
            "in": "query",
            "name": "signature",
            "description": (
                "UnionPay certId + SHA256withRSA signed form, with biz_content and essc_path"
                " (docs/ecards.md section 2)"
            ),
        },
        "mutualTLS": {
            "type": "mutualTLS",
            "description": (
                "RFC 8705 tls_client_auth: the client certificate forwarded by the TLS proxy in"
                " the header ESSC_TLS_CLIENT_CERT_HEADER names"
            ),
        },
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "essc-idp channel e-card API",
            "version": "1.0.0",
            "description": "How channels issue, query and unbind e-cards; see docs/ecards.md.",
        },
        "paths": {
            "/api/v1/ecards": {"post": _issue()},
            "/api/v1/ecards/{sign_no}": {"get": _status()},
            "/api/v1/ecards/{sign_no}/unbind": {"post": _unbind()},
            "/api/v1/ecards/{sign_no}/card/suspend": {"post": _change_card("suspend")},
            "/api/v1/ecards/{sign_no}/card/resume": {"post": _change_card("resume")},
        },
        "components": {
            "schemas": {**_schemas(), **_card_change_schemas()},
            "securitySchemes": _security_schemes(),
        },
    }


def render() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=2) + "\n"


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return Response(render(), mimetype="application/json")


if __name__ == "__main__":
    print(render(), end="")
