"""Channel-native server-to-server signatures: Alipay, WeChat Pay API v3 and UnionPay.

Each scheme is one registered ``Adapter`` (``channels.signing.registry``): its name, its channel
kind, how a request shows it and whom it claims, a ``Verifier`` built from public keys
(``ChannelKeys``) that checks requests (``verify_request``), and a ``Signer`` built from a signing
function (``OwnKey``) that signs what essc-idp sends back (``sign_notification``). Failures are
one ``SignatureError`` with a short ASCII ``reason``. Channels without a native scheme get RFC 8417
Security Event Tokens (``security_event``): signed through the key ring's JWT signing function,
verified with the issuer's public JWK Set alone. Nothing here reads files, the clock or
storage on its own. Spec and test vectors: ``docs/channels/signing.md``.
"""

from __future__ import annotations

from channels.signing.adapter import Adapter
from channels.signing.alipay import ALIPAY_RSA2
from channels.signing.alipay import ALIPAY_V3
from channels.signing.alipay import AlipayRsa2Signer
from channels.signing.alipay import AlipayRsa2Verifier
from channels.signing.alipay import AlipayV3Signer
from channels.signing.alipay import AlipayV3Verifier
from channels.signing.channel_keys import ChannelKeys
from channels.signing.channel_keys import KnownKey
from channels.signing.channel_keys import canonical_serial
from channels.signing.freshness import ReplayGuard
from channels.signing.registry import ADAPTERS
from channels.signing.registry import BY_NAME
from channels.signing.registry import claimant
from channels.signing.registry import registered
from channels.signing.scheme import ChannelRequest
from channels.signing.scheme import NonceStore
from channels.signing.scheme import Notification
from channels.signing.scheme import OwnKey
from channels.signing.scheme import SignatureError
from channels.signing.scheme import Signer
from channels.signing.scheme import SignFunction
from channels.signing.scheme import Verified
from channels.signing.scheme import Verifier
from channels.signing.security_event import SecurityEventSigner
from channels.signing.security_event import SecurityEventVerifier
from channels.signing.unionpay import UNIONPAY_RSA
from channels.signing.unionpay import UnionPaySigner
from channels.signing.unionpay import UnionPayVerifier
from channels.signing.wechatpay import WECHATPAY_V3
from channels.signing.wechatpay import ResourceCipher
from channels.signing.wechatpay import WechatPayV3Signer
from channels.signing.wechatpay import WechatPayV3Verifier

__all__ = [
    "ADAPTERS",
    "ALIPAY_RSA2",
    "ALIPAY_V3",
    "BY_NAME",
    "UNIONPAY_RSA",
    "WECHATPAY_V3",
    "Adapter",
    "AlipayRsa2Signer",
    "AlipayRsa2Verifier",
    "AlipayV3Signer",
    "AlipayV3Verifier",
    "ChannelKeys",
    "ChannelRequest",
    "KnownKey",
    "NonceStore",
    "Notification",
    "OwnKey",
    "ReplayGuard",
    "ResourceCipher",
    "SecurityEventSigner",
    "SecurityEventVerifier",
    "SignFunction",
    "SignatureError",
    "Signer",
    "UnionPaySigner",
    "UnionPayVerifier",
    "Verified",
    "Verifier",
    "WechatPayV3Signer",
    "WechatPayV3Verifier",
    "canonical_serial",
    "claimant",
    "registered",
]
