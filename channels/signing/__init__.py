"""Channel-native server-to-server signatures: Alipay, WeChat Pay API v3 and UnionPay.

Each scheme is a small class that declares its ``name`` and ``channel``, says which requests it
``handles``, verifies them (``verify_request``) and signs what essc-idp sends back
(``sign_notification``). Failures are one ``SignatureError`` with a short ASCII ``reason``.
Keys are pyca/cryptography objects handed in by the caller; nothing here reads files, the clock
or storage on its own. Spec and test vectors: ``docs/channels/signing.md``.
"""

from __future__ import annotations

from collections.abc import Iterable

from channels.signing.alipay import AlipayRsa2
from channels.signing.alipay import AlipayV3
from channels.signing.freshness import ReplayGuard
from channels.signing.keyring import KeyRing
from channels.signing.keyring import KnownKey
from channels.signing.keyring import OwnKey
from channels.signing.keyring import canonical_serial
from channels.signing.scheme import ChannelRequest
from channels.signing.scheme import NonceStore
from channels.signing.scheme import Notification
from channels.signing.scheme import SignatureError
from channels.signing.scheme import SignatureScheme
from channels.signing.scheme import Verified
from channels.signing.unionpay import UnionPayRsa
from channels.signing.wechatpay import ResourceCipher
from channels.signing.wechatpay import WechatPayV3

#: Every scheme class, for registration by name.
SCHEMES: dict[str, type[SignatureScheme]] = {
    scheme.name: scheme for scheme in (AlipayRsa2, AlipayV3, WechatPayV3, UnionPayRsa)
}


def pick(schemes: Iterable[SignatureScheme], request: ChannelRequest) -> SignatureScheme:
    """The one configured scheme that handles ``request``; ``malformed`` if none or several do."""
    matching = [scheme for scheme in schemes if scheme.handles(request)]
    if len(matching) != 1:
        raise SignatureError("malformed")
    return matching[0]


__all__ = [
    "SCHEMES",
    "AlipayRsa2",
    "AlipayV3",
    "ChannelRequest",
    "KeyRing",
    "KnownKey",
    "NonceStore",
    "Notification",
    "OwnKey",
    "ReplayGuard",
    "ResourceCipher",
    "SignatureError",
    "SignatureScheme",
    "UnionPayRsa",
    "Verified",
    "WechatPayV3",
    "canonical_serial",
    "pick",
]
