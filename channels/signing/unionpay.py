"""UnionPay 全渠道 (UPACP) certificate signatures: ``version=5.1.0``, ``signMethod=01``.

Per UnionPay's interface specification (签名: all fields but ``signature``, sorted ``k=v&...``,
SHA-256, then RSA with the certificate's key, base64) as implemented by the official ACP SDK
(``SDKUtil.coverMap2String``, ``SecureUtil.sha256X16``, ``signBySoft256``): the RSA signature
covers the *lowercase hex text* of the SHA-256 digest. The signing certificate is named by
``certId``. Version 5.0.0 (SHA-1) and the secure-key modes ``11``/``12`` are refused.
Spec: ``docs/channels/signing.md``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import ClassVar

from channels.kinds import ChannelKind
from channels.signing import rsa_sha256
from channels.signing.freshness import ReplayGuard
from channels.signing.freshness import parse_china_time
from channels.signing.freshness import signature_nonce
from channels.signing.keyring import KeyRing
from channels.signing.keyring import OwnKey
from channels.signing.scheme import ChannelRequest
from channels.signing.scheme import Notification
from channels.signing.scheme import SignatureError
from channels.signing.scheme import Verified
from channels.signing.scheme import encode_text

VERSION = "5.1.0"
SIGN_METHOD = "01"
ENCODINGS = {"utf-8": "utf-8", "gbk": "gbk"}
TXN_TIME_LAYOUT = "%Y%m%d%H%M%S"
REQUIRED = ("signature", "certId", "merId", "txnTime")


def sign_content(params: Mapping[str, str]) -> str:
    """``coverMap2String``: all fields but ``signature``, sorted, ``k=v`` joined by ``&``."""
    return "&".join(f"{key}={params[key]}" for key in sorted(params) if key != "signature")


def digest_text(params: Mapping[str, str]) -> bytes:
    """``sha256X16``: the lowercase hex SHA-256 of the content, as the bytes RSA signs."""
    codec = ENCODINGS.get(params.get("encoding", "UTF-8").lower())
    if codec is None:
        raise SignatureError("malformed")
    return hashlib.sha256(encode_text(sign_content(params), codec)).hexdigest().encode("ascii")


def filter_blank(params: Mapping[str, str]) -> dict[str, str]:
    """``AcpService.sign`` drops blank fields and trims the rest before signing."""
    return {key: value.strip() for key, value in params.items() if value.strip()}


class UnionPayRsa:
    """Certificate-signed form posts in (``certId`` must be registered for ``merId``) and out."""

    name: ClassVar[str] = "unionpay-rsa"
    channel: ClassVar[ChannelKind] = ChannelKind.UNIONPAY

    def __init__(self, *, own: OwnKey, peers: KeyRing, guard: ReplayGuard) -> None:
        if own.serial is None:
            raise ValueError("UnionPay signing needs the signing certificate's certId")
        self._own = own
        self._cert_id = own.serial
        self._peers = peers
        self._guard = guard

    def handles(self, request: ChannelRequest) -> bool:
        params = request.params
        return "signature" in params and "certId" in params and "signMethod" in params

    def verify_request(self, request: ChannelRequest) -> Verified:
        """Verify as ``AcpService.validate`` does, with the key looked up by ``certId``.

        The form carries no nonce: the signature is the single-use token; ``txnTime`` (UTC+8)
        must be inside the window.
        """
        params = request.params
        if params.get("version") != VERSION or params.get("signMethod") != SIGN_METHOD:
            raise SignatureError("malformed")
        signature, cert_id, mer_id, txn_time = (params.get(k, "") for k in REQUIRED)
        if not (signature and cert_id and mer_id and txn_time):
            raise SignatureError("malformed")
        issued = parse_china_time(txn_time, TXN_TIME_LAYOUT)
        digest, raw = digest_text(params), rsa_sha256.decode_base64(signature)
        key = self._peers.find(mer_id, cert_id)
        self._guard.check_time(issued)
        rsa_sha256.verify(key.public_key, digest, raw)
        self._guard.consume(f"{self.name}:{mer_id}", signature_nonce(raw))
        return Verified(self.name, mer_id, cert_id)

    def sign_params(self, params: Mapping[str, str]) -> dict[str, str]:
        """``AcpService.sign``: filter blanks, set ``certId``, sign the digest text."""
        signed = filter_blank(params)
        signed.pop("signature", None)
        signed.update(version=VERSION, signMethod=SIGN_METHOD, certId=self._cert_id)
        signed["signature"] = rsa_sha256.sign(self._own.private_key, digest_text(signed))
        return signed

    def sign_notification(self, notification: Notification) -> Notification:
        """A back-channel notification (``backUrl`` post) signed like a UnionPay message."""
        return Notification(
            notification.body, self.sign_params(notification.params), notification.headers
        )
