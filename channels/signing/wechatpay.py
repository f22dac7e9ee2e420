"""WeChat Pay API v3 signatures and encrypted callback resources.

Sources (pay.weixin.qq.com, API v3 "接口规则"): 签名生成 (wechatpay4_0, ``Authorization:
WECHATPAY2-SHA256-RSA2048``), 签名验证 (wechatpay4_1, ``Wechatpay-*`` headers) and 证书和回调报文
解密 (wechatpay4_2, ``AEAD_AES_256_GCM``). The 300 s window follows the official SDK's
``WechatPay2Validator``. Spec: ``docs/channels/signing.md``.
"""

from __future__ import annotations

import base64
import re
import secrets
import string
from collections.abc import Callable
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from channels.kinds import ChannelKind
from channels.signing import rsa_sha256
from channels.signing.adapter import Adapter
from channels.signing.channel_keys import ChannelKeys
from channels.signing.freshness import ReplayGuard
from channels.signing.scheme import ChannelRequest
from channels.signing.scheme import Clock
from channels.signing.scheme import Notification
from channels.signing.scheme import OwnKey
from channels.signing.scheme import SignatureError
from channels.signing.scheme import Verified
from channels.signing.scheme import encode_text
from channels.signing.scheme import header_value

NAME = "wechatpay-v3"
AUTH_SCHEME = "WECHATPAY2-SHA256-RSA2048"
AUTH_FIELDS = frozenset({"mchid", "nonce_str", "timestamp", "serial_no", "signature"})
CALLBACK_HEADERS = ("Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature")
SERIAL_HEADER = "Wechatpay-Serial"
#: wechatpay4_1: WeChat Pay names the algorithm on every response and callback; the SDKs refuse
#: a message without it (wechatpayv3 ``_verify_signature``: "does not support this algorithm").
SIGNATURE_TYPE_HEADER = "Wechatpay-Signature-Type"
AEAD_ALGORITHM = "AEAD_AES_256_GCM"
_PAIR = re.compile(r'([a-z_]+)="([^"]+)"')
_SECONDS = re.compile(r"[0-9]{1,11}")
_TOKEN = re.compile(r"[0-9A-Za-z_\-]{1,64}")
_NONCE_ALPHABET = string.ascii_letters + string.digits


def request_message(method: str, target: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """wechatpay4_0 step 2: five lines, each ending in ``\\n``, the body empty for GET."""
    return encode_text(f"{method}\n{target}\n{timestamp}\n{nonce}\n") + body + b"\n"


def callback_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """wechatpay4_1 step 3: three lines; an empty body leaves the last line a lone ``\\n``."""
    return encode_text(f"{timestamp}\n{nonce}\n") + body + b"\n"


def parse_authorization(value: str | None) -> dict[str, str]:
    """The five ``k="v"`` fields of the header, in any order (wechatpay4_0 step 4), strictly."""
    scheme, space, rest = (value or "").partition(" ")
    if scheme != AUTH_SCHEME or not space:
        raise SignatureError("malformed")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        match = _PAIR.fullmatch(item.strip())
        if match is None or match[1] not in AUTH_FIELDS or match[1] in fields:
            raise SignatureError("malformed")
        fields[match[1]] = match[2]
    if fields.keys() != AUTH_FIELDS:
        raise SignatureError("malformed")
    _check_stamp_and_nonce(fields["timestamp"], fields["nonce_str"])
    return fields


def _check_stamp_and_nonce(timestamp: str, nonce: str) -> None:
    if not _SECONDS.fullmatch(timestamp) or not _TOKEN.fullmatch(nonce):
        raise SignatureError("malformed")


def _random_nonce() -> str:
    return secrets.token_hex(16).upper()


def _random_resource_nonce() -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(12))


class WechatPayV3Verifier:
    """``Authorization`` requests and ``Wechatpay-*`` signed callbacks in, public keys only.

    ``peers`` holds channels' merchant API certificate keys (owner ``mchid``, serial
    ``serial_no``); ``platform_peers`` holds WeChat-Pay-platform-style keys that sign callbacks
    and responses (looked up by ``Wechatpay-Serial``, a certificate serial or a public key id).
    """

    def __init__(
        self,
        peers: ChannelKeys,
        guard: ReplayGuard,
        platform_peers: ChannelKeys | None = None,
    ) -> None:
        self._peers = peers
        self._platform_peers = platform_peers or ChannelKeys(())
        self._guard = guard

    def verify_request(self, request: ChannelRequest) -> Verified:
        """The merchant-request check WeChat Pay runs: serial known for mchid, fresh, signed."""
        fields = parse_authorization(request.header("Authorization"))
        message = request_message(
            request.method, request.target, fields["timestamp"], fields["nonce_str"], request.body
        )
        signature = rsa_sha256.decode_base64(fields["signature"])
        key = self._peers.find(fields["mchid"], fields["serial_no"])
        self._guard.check_time(int(fields["timestamp"]))
        rsa_sha256.verify(key.public_key, message, signature)
        self._guard.consume(f"{NAME}:{key.owner}", fields["nonce_str"])
        return Verified(NAME, key.owner, key.serial)

    def verify_callback(self, headers: Mapping[str, str], body: bytes) -> Verified:
        """wechatpay4_1: a response or callback signed by a platform key named by serial."""
        stamp, nonce, sign = (header_value(headers, name) or "" for name in CALLBACK_HEADERS)
        serial = header_value(headers, SERIAL_HEADER) or ""
        signature_type = header_value(headers, SIGNATURE_TYPE_HEADER)
        _check_stamp_and_nonce(stamp, nonce)
        if not sign or not serial or signature_type not in (None, AUTH_SCHEME):
            raise SignatureError("malformed")
        signature = rsa_sha256.decode_base64(sign)
        key = self._platform_peers.find_serial(serial)
        self._guard.check_time(int(stamp))
        rsa_sha256.verify(key.public_key, callback_message(stamp, nonce, body), signature)
        self._guard.consume(f"{NAME}-callback:{serial}", nonce)
        return Verified(NAME, key.owner, serial)


class WechatPayV3Signer:
    """Signs as ``own``: merchant ``Authorization`` headers, and ``Wechatpay-*`` notifications."""

    def __init__(
        self, own: OwnKey, clock: Clock, new_nonce: Callable[[], str] = _random_nonce
    ) -> None:
        if own.serial is None:
            raise ValueError("WeChat Pay signing needs a certificate serial or public key id")
        self._own = own
        self._serial = own.serial
        self._clock = clock
        self._new_nonce = new_nonce

    def authorization(self, method: str, target: str, body: bytes) -> str:
        """The header a merchant sends (wechatpay4_0 steps 1-4), signed with ``own``."""
        stamp, nonce = str(int(self._clock())), self._new_nonce()
        message = request_message(method, target, stamp, nonce, body)
        signature = rsa_sha256.sign(self._own.sign, message)
        return (
            f'{AUTH_SCHEME} mchid="{self._own.owner}",nonce_str="{nonce}",'
            f'signature="{signature}",timestamp="{stamp}",serial_no="{self._serial}"'
        )

    def sign_notification(self, notification: Notification) -> Notification:
        """Sign a callback or response body the way WeChat Pay signs its own (wechatpay4_1).

        All five ``Wechatpay-*`` headers WeChat Pay sends, ``Wechatpay-Signature-Type`` included.
        """
        stamp, nonce = str(int(self._clock())), self._new_nonce()
        message = callback_message(stamp, nonce, notification.body)
        headers = {
            **notification.headers,
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": rsa_sha256.sign(self._own.sign, message),
            SERIAL_HEADER: self._serial,
            SIGNATURE_TYPE_HEADER: AUTH_SCHEME,
        }
        return Notification(notification.body, notification.params, headers)


def _is_wechatpay_request(request: ChannelRequest) -> bool:
    return (request.header("Authorization") or "").startswith(AUTH_SCHEME + " ")


def _claimed_mchid(request: ChannelRequest) -> str:
    return parse_authorization(request.header("Authorization"))["mchid"]


def _new_serial() -> str:
    """Certificate serials as WeChat Pay prints them: uppercase hex."""
    return secrets.token_hex(16).upper()


WECHATPAY_V3 = Adapter(
    name=NAME,
    channel=ChannelKind.WECHAT,
    carrier="header",
    handles=_is_wechatpay_request,
    claimed_owner=_claimed_mchid,
    verifier=WechatPayV3Verifier,
    signer=WechatPayV3Signer,
    platform_key=NAME,
    new_serial=_new_serial,
)


class ResourceCipher:
    """``AEAD_AES_256_GCM`` callback ``resource`` objects (wechatpay4_2, RFC 5116).

    The key is the merchant's 32-byte APIv3 key; ``nonce`` is 12 ASCII characters used as the
    GCM IV; ``ciphertext`` is base64 of the encrypted bytes followed by the 16-byte tag.
    """

    def __init__(
        self, api_v3_key: bytes, *, new_nonce: Callable[[], str] = _random_resource_nonce
    ) -> None:
        if len(api_v3_key) != 32:
            raise ValueError("the APIv3 key must be exactly 32 bytes")
        self._aead = AESGCM(api_v3_key)
        self._new_nonce = new_nonce

    def encrypt(
        self, plaintext: bytes, *, associated_data: str, original_type: str
    ) -> dict[str, str]:
        """A ``resource`` object for a notification essc-idp sends."""
        nonce = self._new_nonce()
        if len(nonce.encode()) != 12:
            raise ValueError("resource nonces are 12 bytes")
        sealed = self._aead.encrypt(nonce.encode(), plaintext, associated_data.encode())
        return {
            "original_type": original_type,
            "algorithm": AEAD_ALGORITHM,
            "ciphertext": base64.b64encode(sealed).decode("ascii"),
            "associated_data": associated_data,
            "nonce": nonce,
        }

    def decrypt(self, resource: Mapping[str, object]) -> bytes:
        """The plaintext, ``malformed`` for a bad shape, ``bad_signature`` for a bad tag."""
        fields = [resource.get(k) for k in ("algorithm", "ciphertext", "nonce")]
        associated = resource.get("associated_data") or ""
        algorithm, ciphertext, nonce = fields
        if algorithm != AEAD_ALGORITHM or not isinstance(associated, str):
            raise SignatureError("malformed")
        if not isinstance(ciphertext, str) or not isinstance(nonce, str):
            raise SignatureError("malformed")
        sealed, iv = rsa_sha256.decode_base64(ciphertext), encode_text(nonce)
        if len(iv) != 12 or len(sealed) <= 16:
            raise SignatureError("malformed")
        try:
            return self._aead.decrypt(iv, sealed, encode_text(associated))
        except InvalidTag:
            raise SignatureError("bad_signature") from None
