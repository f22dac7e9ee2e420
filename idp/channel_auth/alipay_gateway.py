"""E-card API answers in Alipay's gateway envelope, for channels calling with the RSA2 form.

Alipay's gateway (``openapi.alipay.com/gateway.do``) answers every call HTTP 200 with

    {"<method, dots as underscores>_response": {"code": "10000", "msg": "Success", ...},
     "alipay_cert_sn": "<in certificate mode>", "sign": "<base64 SHA256withRSA>"}

where ``sign`` covers the exact JSON text of the ``_response`` value (opendocs.alipay.com
"同步返回验签"); a failure carries ``code`` (common codes, opendocs.alipay.com/common/02km9f),
``msg``, ``sub_code`` and ``sub_msg``. alipay-sdk 4.14.0 ``exec`` throws on any other status,
takes ``<key>_response`` (else ``error_response``), cuts the signed text out of the raw answer
(``getSignStr``: from the key to the last ``"sign"``, first ``{`` to last ``}``) and, with
``validateSign``, verifies it with ``alipayPublicKey``; python-alipay-sdk
``_verify_and_return_sync_response`` finds the value by brace counting, so no string in it may
hold a brace (none does: problems never echo input, e-card fields are ids and base64url).

essc-idp answers a caller authenticated (or refused) as an ``alipay-rsa2`` signed form this way,
signed with the platform key its notifications use (``essc keys notification-cert --scheme
alipay-rsa2``). Spec: ``docs/channels/signing.md`` section 8, ``docs/ecards.md`` section 2.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Response

from channels.signing import OwnKey
from channels.signing import rsa_sha256
from idp.channel_auth.authenticate import unauthorized
from idp.errors import Problem

log = logging.getLogger(__name__)

#: The form's ``method`` for each e-card API view (``docs/ecards.md`` section 2).
METHODS = {
    "ecards_api.issue": "essc.ecard.issue",
    "ecards_api.status": "essc.ecard.query",
    "ecards_api.unbind": "essc.ecard.unbind",
}
#: The gateway's ``msg`` for each common ``code`` (02km9f).
MESSAGES = {
    "10000": "Success",
    "20000": "Service Currently Unavailable",
    "40001": "Missing Required Arguments",
    "40002": "Invalid Arguments",
    "40004": "Business Failed",
    "40006": "Insufficient Permissions",
}
#: Problem slug (``unauthorized:<reason>`` for refusals) -> (code, sub_code). Alipay's own
#: sub_codes where one means the same; ``isv.<slug>`` / ``ESSC.<SLUG>`` are ours.
GATEWAY_CODES = {
    "unauthorized:no_credentials": ("40001", "isv.missing-signature"),
    "unauthorized:malformed": ("40002", "isv.invalid-parameter"),
    "unauthorized:unknown_channel": ("40002", "isv.invalid-app-id"),
    "unauthorized:wrong_scheme": ("40002", "isv.invalid-signature-type"),
    "unauthorized:unknown_key": ("40002", "isv.missing-signature-config"),
    "unauthorized:stale_timestamp": ("40002", "isv.invalid-timestamp"),
    "unauthorized:bad_signature": ("40002", "isv.invalid-signature"),
    "unauthorized:replayed_nonce": ("40002", "isv.replayed-signature"),
    "unauthorized:wrong_path": ("40002", "isv.invalid-essc-path"),
    "unauthorized:wrong_method": ("40002", "isv.invalid-method"),
    "insufficient-scope": ("40006", "isv.insufficient-isv-permissions"),
    "body-too-large": ("40002", "isv.body-too-large"),
    "unsupported-media-type": ("40002", "isv.unsupported-media-type"),
    "malformed-json": ("40002", "isv.malformed-json"),
    "invalid-request": ("40002", "isv.invalid-parameter"),
    "invalid-id-number": ("40002", "isv.invalid-id-number"),
    "cardholder-mismatch": ("40004", "ESSC.CARDHOLDER_MISMATCH"),
    "stale-face-check": ("40004", "ESSC.STALE_FACE_CHECK"),
    "level-not-allowed": ("40004", "ESSC.LEVEL_NOT_ALLOWED"),
    "factor-failed": ("40004", "ESSC.FACTOR_FAILED"),
    "pin-locked": ("40004", "ESSC.PIN_LOCKED"),
    "ecard-not-found": ("40004", "ESSC.ECARD_NOT_FOUND"),
    "ecard-not-active": ("40004", "ESSC.ECARD_NOT_ACTIVE"),
    "idempotency-key-reused": ("40004", "ESSC.IDEMPOTENCY_KEY_REUSED"),
    "card-not-usable": ("40004", "ESSC.CARD_NOT_USABLE"),
    "bank-account-not-linked": ("40004", "ESSC.BANK_ACCOUNT_NOT_LINKED"),
    "concurrent-issuance": ("40004", "ESSC.CONCURRENT_ISSUANCE"),
}
UNAVAILABLE = ("20000", "isp.unknow-error")  # Alipay's spelling, for 5xx and non-problem bodies


@dataclass(frozen=True)
class GatewayCall:
    """What the answer needs from an ``alipay-rsa2`` form: its ``method`` and its key mode."""

    method: str
    certificate_mode: bool


#: The common parameters without which a form is no call of Alipay's gateway protocol (every
#: Alipay SDK sends them): a bare ``sign`` gets the product's RFC 7807 answer, as documented.
GATEWAY_PARAMETERS = ("app_id", "method", "sign")


def is_gateway_call(params: Mapping[str, str]) -> bool:
    return all(params.get(name) for name in GATEWAY_PARAMETERS)


def call_of(params: Mapping[str, str]) -> GatewayCall:
    return GatewayCall(params.get("method", ""), bool(params.get("app_cert_sn")))


def wrong_method(endpoint: str | None, params: Mapping[str, str]) -> Problem | None:
    """The signed ``method`` must be this view's, as ``essc_path`` must be its path."""
    if params.get("method") == METHODS.get(endpoint or ""):
        return None
    return unauthorized("wrong_method", "The signed method is not this operation's.")


def response_key(method: str) -> str:
    """``essc.ecard.issue`` -> ``essc_ecard_issue_response``; another -> ``error_response``."""
    return (
        method.replace(".", "_") + "_response" if method in METHODS.values() else "error_response"
    )


def gateway_value(status: int, body: Any) -> dict[str, Any]:
    """The ``_response`` value: ``code``/``msg`` (and ``sub_code``/``sub_msg``) then the answer."""
    if status < 400 and isinstance(body, dict):
        return {"code": "10000", "msg": MESSAGES["10000"], **body}
    problem = body if isinstance(body, dict) and "type" in body else {}
    slug = str(problem.get("type", "")).rpartition("/problems/")[2]
    key = f"{slug}:{problem.get('reason')}" if slug == "unauthorized" else slug
    code, sub_code = GATEWAY_CODES.get(key, UNAVAILABLE)
    if (code, sub_code) == UNAVAILABLE and 400 <= status < 500:
        code, sub_code = "40004", "ESSC." + slug.upper().replace("-", "_")
    sub_msg = problem.get("detail") or problem.get("title") or MESSAGES[code]
    head = {"code": code, "msg": MESSAGES[code], "sub_code": sub_code, "sub_msg": sub_msg}
    return {**head, **problem}


def envelope_text(key: str, value: Mapping[str, Any], own: OwnKey | None, cert: bool) -> str:
    """The envelope, assembled as text so ``sign`` covers exactly the value's bytes."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    parts = [f"{json.dumps(key)}:{text}"]
    if own is not None:
        if cert and own.serial is not None:
            parts.append(f'"alipay_cert_sn":{json.dumps(own.serial)}')
        sign = rsa_sha256.sign(own.sign, text.encode("utf-8"))
        parts.append(f'"sign":{json.dumps(sign)}')
    return "{" + ",".join(parts) + "}"


def wrap(response: Response, call: GatewayCall, own: OwnKey | None, request_id: str) -> Response:
    """Turn the API's answer (JSON or RFC 7807) into the signed gateway answer, HTTP 200.

    Without the platform key (``essc init`` not run) the envelope has no ``sign`` and the
    operator is told; the SDK's check then refuses it, which is the closed failure.
    """
    if response.is_streamed:
        return response
    if own is None:
        log.warning("no platform key for alipay-rsa2: response not signed [%s]", request_id)
    try:
        body = json.loads(response.get_data())
    except ValueError:
        body = None
    value = gateway_value(response.status_code, body)
    text = envelope_text(response_key(call.method), value, own, call.certificate_mode)
    response.set_data(text.encode("utf-8"))
    response.status_code = 200
    response.content_type = "application/json;charset=utf-8"
    for name in ("WWW-Authenticate", "Location"):  # the envelope carries the outcome
        response.headers.pop(name, None)
    response.headers["trace_id"] = request_id  # alipay-sdk reads it as the result's traceId
    return response
