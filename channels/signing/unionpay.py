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
import secrets
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

NAME = "unionpay-rsa"
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


class UnionPayVerifier:
    """Certificate-signed form posts in: ``certId`` must be registered for ``merId``."""

    def __init__(self, peers: ChannelKeys, guard: ReplayGuard) -> None:
        self._peers = peers
        self._guard = guard

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
        self._guard.consume(f"{NAME}:{mer_id}", signature_nonce(raw))
        return Verified(NAME, mer_id, cert_id)


class UnionPaySigner:
    """Signs as ``own`` (its serial is the signing certificate's ``certId``): forms out."""

    def __init__(self, own: OwnKey, clock: Clock | None = None) -> None:
        if own.serial is None:
            raise ValueError("UnionPay signing needs the signing certificate's certId")
        self._own = own  # no clock: ``txnTime`` is the caller's field
        self._cert_id = own.serial

    def sign_params(self, params: Mapping[str, str]) -> dict[str, str]:
        """``AcpService.sign``: filter blanks, set ``certId``, sign the digest text."""
        signed = filter_blank(params)
        signed.pop("signature", None)
        signed.update(version=VERSION, signMethod=SIGN_METHOD, certId=self._cert_id)
        signed["signature"] = rsa_sha256.sign(self._own.sign, digest_text(signed))
        return signed

    def sign_notification(self, notification: Notification) -> Notification:
        """A back-channel notification (``backUrl`` post) signed like a UnionPay message."""
        return Notification(
            notification.body, self.sign_params(notification.params), notification.headers
        )


def _is_unionpay_form(request: ChannelRequest) -> bool:
    # version and signMethod are the verifier's to check: wrong ones are malformed, not foreign
    return "signature" in request.params


def _claimed_mer_id(request: ChannelRequest) -> str:
    return request.params.get("merId", "")


def _new_cert_id() -> str:
    """A certId as the ACP SDK prints one: the certificate serial in decimal (20 digits)."""
    return str(10**19 + secrets.randbelow(9 * 10**19))


UNIONPAY_RSA = Adapter(
    name=NAME,
    channel=ChannelKind.UNIONPAY,
    carrier="form",
    handles=_is_unionpay_form,
    claimed_owner=_claimed_mer_id,
    verifier=UnionPayVerifier,
    signer=UnionPaySigner,
    # Created as "unionpay" before the scheme had its name; stored keys keep it (rsa:unionpay).
    platform_key="unionpay",
    new_serial=_new_cert_id,
    spellings=frozenset({"unionpay"}),
)
