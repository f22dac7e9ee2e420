"""Alipay Open Platform server-to-server signatures, ``RSA2`` (SHA256withRSA) only.

``alipay-rsa2`` (``AlipayRsa2Verifier``, ``AlipayRsa2Signer``) is the classic gateway form
(``openapi.alipay.com/gateway.do``), following Alipay's "自行实现签名"
(opendocs.alipay.com/common/02kf5q) and ``AlipaySignature`` in the official alipay-sdk-java-all.
``alipay-v3`` (``AlipayV3Verifier``, ``AlipayV3Signer``) is the Open API v3 ``Authorization:
ALIPAY-SHA256withRSA`` header (opendocs.alipay.com/open-v3/054q58, as implemented by the official
alipay-sdk-nodejs-all).
Legacy ``sign_type=RSA`` (SHA1withRSA) is refused. Spec: ``docs/channels/signing.md``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from collections.abc import Mapping

from channels.kinds import ChannelKind
from channels.signing import rsa_sha256
from channels.signing.adapter import Adapter
from channels.signing.channel_keys import ChannelKeys
from channels.signing.freshness import ReplayGuard
from channels.signing.freshness import parse_china_time
from channels.signing.freshness import signature_nonce
from channels.signing.scheme import ChannelRequest
from channels.signing.scheme import Clock
from channels.signing.scheme import Notification
from channels.signing.scheme import OwnKey
from channels.signing.scheme import SignatureError
from channels.signing.scheme import Verified
from channels.signing.scheme import encode_text

RSA2_NAME = "alipay-rsa2"
V3_NAME = "alipay-v3"
CHARSETS = {"utf-8": "utf-8", "gbk": "gbk", "gb2312": "gb2312"}
TIMESTAMP_LAYOUT = "%Y-%m-%d %H:%M:%S"
AUTH_PREFIX = "ALIPAY-SHA256withRSA "
AUTH_FIELDS = frozenset(
    {"app_id", "timestamp", "nonce", "app_cert_sn", "alipay_root_cert_sn", "expired_seconds"}
)
APP_AUTH_TOKEN_HEADER = "alipay-app-auth-token"  # noqa: S105 - a header name
_TOKEN = re.compile(r"[0-9A-Za-z._\-]{1,256}")
_MILLIS = re.compile(r"[0-9]{13}")
_SECONDS = re.compile(r"[0-9]{1,6}")


def gateway_sign_content(params: Mapping[str, str], *, notification: bool) -> str:
    """The string to sign: 02kf5q steps 1-2 (requests) or the notify rule (``rsaCheckV1``).

    Drop ``sign`` (and ``sign_type`` for asynchronous notifications) and every empty value,
    sort by key, join raw (not URL-encoded) values as ``k=v`` with ``&``.
    """
    excluded = {"sign", "sign_type"} if notification else {"sign"}
    pairs = sorted((k, v) for k, v in params.items() if k and v and k not in excluded)
    return "&".join(f"{key}={value}" for key, value in pairs)


def _encode(params: Mapping[str, str], text: str) -> bytes:
    """Alipay signs the bytes of the request's ``charset`` (default UTF-8)."""
    codec = CHARSETS.get(params.get("charset", "utf-8").lower())
    if codec is None:
        raise SignatureError("malformed")
    return encode_text(text, codec)


def _random_nonce() -> str:
    return secrets.token_hex(16)


class AlipayRsa2Verifier:
    """Classic gateway requests in (``sign_type=RSA2``), checked with public keys only."""

    def __init__(self, peers: ChannelKeys, guard: ReplayGuard) -> None:
        self._peers = peers
        self._guard = guard

    def verify_request(self, request: ChannelRequest) -> Verified:
        """02kf5q: rebuild the string (``sign_type`` stays in) and verify ``sign``.

        The gateway form has no nonce, so the signature itself is the single-use token.
        """
        params = request.params
        sign, app_id, stamp = (params.get(k, "") for k in ("sign", "app_id", "timestamp"))
        if params.get("sign_type") != "RSA2" or not (sign and app_id and stamp):
            raise SignatureError("malformed")
        issued = parse_china_time(stamp, TIMESTAMP_LAYOUT)
        content = _encode(params, gateway_sign_content(params, notification=False))
        signature = rsa_sha256.decode_base64(sign)
        serial = params.get("app_cert_sn") or None
        key = self._peers.find(app_id, serial)
        self._guard.check_time(issued)
        rsa_sha256.verify(key.public_key, content, signature)
        self._guard.consume(f"{RSA2_NAME}:{app_id}", signature_nonce(signature))
        return Verified(RSA2_NAME, app_id, serial)


class AlipayRsa2Signer:
    """Signs as ``own``: gateway requests, and asynchronous-notification-style form posts."""

    def __init__(self, own: OwnKey, clock: Clock | None = None) -> None:
        self._own = own  # no clock: the form's ``timestamp``/``notify_time`` are the caller's

    def sign_request(self, params: Mapping[str, str]) -> dict[str, str]:
        """A signed gateway request, as a channel's SDK would send it (02kf5q steps 1-4)."""
        signed = {**params, "app_id": self._own.owner, "sign_type": "RSA2"}
        if self._own.serial is not None:
            signed["app_cert_sn"] = self._own.serial
        content = _encode(signed, gateway_sign_content(signed, notification=False))
        signed["sign"] = rsa_sha256.sign(self._own.sign, content)
        return signed

    def sign_notification(self, notification: Notification) -> Notification:
        """An asynchronous notification: ``sign`` over all fields but ``sign``/``sign_type``."""
        params = {**notification.params, "sign_type": "RSA2"}
        params.pop("sign", None)
        content = _encode(params, gateway_sign_content(params, notification=True))
        params["sign"] = rsa_sha256.sign(self._own.sign, content)
        return Notification(notification.body, params, notification.headers)


def v3_request_content(
    auth_string: str, method: str, target: str, body: bytes, app_auth_token: str | None = None
) -> bytes:
    """054q58 "普通请求": ``authString\\nMETHOD\\nURI\\nBODY\\n`` plus ``appAuthToken\\n``."""
    head = encode_text(f"{auth_string}\n{method}\n{target}\n")
    token = b"" if app_auth_token is None else encode_text(app_auth_token) + b"\n"
    return head + body + b"\n" + token


def v3_response_content(timestamp: str, nonce: str, body: bytes) -> bytes:
    """The v3 response signature input: ``timestamp\\nnonce\\nbody\\n``."""
    return encode_text(f"{timestamp}\n{nonce}\n") + body + b"\n"


def parse_v3_authorization(value: str | None) -> tuple[str, dict[str, str], str]:
    """Split ``ALIPAY-SHA256withRSA <authString>,sign=<sig>`` into its parts, strictly."""
    if value is None or not value.startswith(AUTH_PREFIX):
        raise SignatureError("malformed")
    auth_string, separator, sign = value[len(AUTH_PREFIX) :].rpartition(",sign=")
    fields: dict[str, str] = {}
    for item in auth_string.split(","):
        key, equals, field_value = item.partition("=")
        if not equals or key not in AUTH_FIELDS or key in fields:
            raise SignatureError("malformed")
        if not _TOKEN.fullmatch(field_value):
            raise SignatureError("malformed")
        fields[key] = field_value
    if not separator or not sign or not {"app_id", "timestamp", "nonce"} <= fields.keys():
        raise SignatureError("malformed")
    if not _MILLIS.fullmatch(fields["timestamp"]):
        raise SignatureError("malformed")
    if not _SECONDS.fullmatch(fields.get("expired_seconds", "0")):
        raise SignatureError("malformed")
    return auth_string, fields, sign


class AlipayV3Verifier:
    """Open API v3 ``Authorization`` header requests in, checked with public keys only."""

    def __init__(self, peers: ChannelKeys, guard: ReplayGuard) -> None:
        self._peers = peers
        self._guard = guard

    def verify_request(self, request: ChannelRequest) -> Verified:
        """054q58: verify ``sign`` over the authString exactly as sent, then the HTTP message.

        ``expired_seconds``, when sent, can only shorten the replay window.
        """
        auth_string, fields, sign = parse_v3_authorization(request.header("Authorization"))
        token = request.header(APP_AUTH_TOKEN_HEADER)
        content = v3_request_content(
            auth_string, request.method, request.target, request.body, token
        )
        signature = rsa_sha256.decode_base64(sign)
        app_id, serial = fields["app_id"], fields.get("app_cert_sn")
        key = self._peers.find(app_id, serial)
        window = min(self._guard.window_seconds, int(fields.get("expired_seconds", "3600")))
        self._guard.check_time(int(fields["timestamp"]) / 1000, window)
        rsa_sha256.verify(key.public_key, content, signature)
        self._guard.consume(f"{V3_NAME}:{app_id}", fields["nonce"])
        return Verified(V3_NAME, app_id, serial)


class AlipayV3Signer:
    """Signs as ``own``: v3 ``Authorization`` headers, and response-style signed headers."""

    def __init__(
        self, own: OwnKey, clock: Clock, new_nonce: Callable[[], str] = _random_nonce
    ) -> None:
        self._own = own
        self._clock = clock
        self._new_nonce = new_nonce

    def authorization(
        self, method: str, target: str, body: bytes, app_auth_token: str | None = None
    ) -> str:
        """The ``Authorization`` value a channel's v3 SDK sends (field order as the Node SDK)."""
        millis = int(self._clock() * 1000)
        auth_string = f"app_id={self._own.owner},nonce={self._new_nonce()},timestamp={millis}"
        if self._own.serial is not None:
            auth_string += f",app_cert_sn={self._own.serial}"
        content = v3_request_content(auth_string, method, target, body, app_auth_token)
        return f"{AUTH_PREFIX}{auth_string},sign={rsa_sha256.sign(self._own.sign, content)}"

    def sign_notification(self, notification: Notification) -> Notification:
        """Sign the body as v3 signs responses: ``alipay-timestamp``/``-nonce``/``-signature``.

        Alipay documents these headers for responses; using them for notifications is our choice.
        """
        millis, nonce = str(int(self._clock() * 1000)), self._new_nonce()
        content = v3_response_content(millis, nonce, notification.body)
        headers = {
            **notification.headers,
            "alipay-timestamp": millis,
            "alipay-nonce": nonce,
            "alipay-signature": rsa_sha256.sign(self._own.sign, content),
        }
        if self._own.serial is not None:
            headers["alipay-sn"] = self._own.serial
        return Notification(notification.body, notification.params, headers)


def _is_gateway_form(request: ChannelRequest) -> bool:
    # sign_type is the verifier's to check: a form with another one is malformed, not foreign
    return "sign" in request.params


def _claimed_app_id(request: ChannelRequest) -> str:
    return request.params.get("app_id", "")


def _is_v3_request(request: ChannelRequest) -> bool:
    return (request.header("Authorization") or "").startswith(AUTH_PREFIX)


def _claimed_v3_app_id(request: ChannelRequest) -> str:
    return parse_v3_authorization(request.header("Authorization"))[1]["app_id"]


def _new_serial() -> str:
    """An ``app_cert_sn``-style serial: lowercase hex."""
    return secrets.token_hex(16)


ALIPAY_RSA2 = Adapter(
    name=RSA2_NAME,
    channel=ChannelKind.ALIPAY,
    carrier="form",
    handles=_is_gateway_form,
    claimed_owner=_claimed_app_id,
    verifier=AlipayRsa2Verifier,
    signer=AlipayRsa2Signer,
    platform_key=RSA2_NAME,
    new_serial=_new_serial,
)

ALIPAY_V3 = Adapter(
    name=V3_NAME,
    channel=ChannelKind.ALIPAY,
    carrier="header",
    handles=_is_v3_request,
    claimed_owner=_claimed_v3_app_id,
    verifier=AlipayV3Verifier,
    signer=AlipayV3Signer,
    platform_key=V3_NAME,
    new_serial=_new_serial,
)
