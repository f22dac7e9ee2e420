"""Which ``NotificationSigner`` a channel gets, from its registered ``api_auth_scheme``.

``wechatpay-v3``, ``alipay-rsa2``, ``alipay-v3`` and ``unionpay`` channels get their native
form, signed with the platform's key for that scheme (``OwnKey``: the RSA key and the serial or
certId the channel registered for us). Every other channel (``private_key_jwt``,
``tls_client_auth``, none) gets an RFC 8417 SET signed by the key ring. A native scheme whose
platform key is not configured raises ``NoSigner``: the message fails that attempt visibly
instead of going out signed in a form the channel does not check.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping

from channels.signing.alipay import AlipayRsa2
from channels.signing.alipay import AlipayV3
from channels.signing.freshness import ReplayGuard
from channels.signing.keyring import KeyRing
from channels.signing.keyring import OwnKey
from channels.signing.scheme import Clock
from channels.signing.unionpay import UnionPayRsa
from channels.signing.wechatpay import ResourceCipher
from channels.signing.wechatpay import WechatPayV3
from idp.notifications.native import AlipayNotifySigner
from idp.notifications.native import AlipayV3Signer
from idp.notifications.native import UnionPaySigner
from idp.notifications.native import WechatPaySigner
from idp.notifications.signers import JwsSetSigner
from idp.notifications.signers import NotificationSigner
from idp.notifications.signers import SignJwt

#: ``ChannelRow.api_auth_scheme`` values with a native notification form, to the key name.
NATIVE = {
    "wechatpay-v3": "wechatpay-v3",
    "alipay-rsa2": "alipay-rsa2",
    "alipay-v3": "alipay-v3",
    "unionpay": "unionpay-rsa",
    "unionpay-rsa": "unionpay-rsa",
}

#: The channel's WeChat Pay APIv3 key (32 bytes) when it asks for encrypted resources.
ResourceKey = Callable[[str], bytes | None]


class NoSigner(Exception):
    """The channel's scheme needs a platform key that is not configured."""


class _SigningOnly:
    """A ``NonceStore`` for schemes used only to sign: it accepts no nonce, so fails closed."""

    def add_once(self, key: str, ttl_seconds: int) -> bool:
        return False


def _no_resource_key(client_id: str) -> bytes | None:
    return None


class SignerChoice:
    """Builds the signer for each channel from its scheme, the platform keys and the clock."""

    def __init__(
        self,
        *,
        sign_jwt: SignJwt,
        issuer: str,
        clock: Clock,
        own_keys: Mapping[str, OwnKey] | None = None,
        resource_key: ResourceKey = _no_resource_key,
    ) -> None:
        self._sign_jwt = sign_jwt
        self._issuer = issuer
        self._own = dict(own_keys or {})
        self._resource_key = resource_key
        self._guard = ReplayGuard(clock, _SigningOnly())
        self._jws: dict[str, JwsSetSigner] = {}

    def for_channel(
        self, client_id: str, api_auth_scheme: str | None, alg: str
    ) -> NotificationSigner:
        """The signer for one channel; ``NoSigner`` when its platform key is missing."""
        key_name = NATIVE.get(api_auth_scheme or "")
        if key_name is None:
            return self._jws_signer(alg)
        own = self._own.get(key_name)
        if own is None:
            raise NoSigner(f"no platform key for {key_name}")
        return self._native(key_name, own, client_id)

    def _jws_signer(self, alg: str) -> JwsSetSigner:
        if alg not in self._jws:
            self._jws[alg] = JwsSetSigner(self._sign_jwt, issuer=self._issuer, alg=alg)
        return self._jws[alg]

    def _native(self, key_name: str, own: OwnKey, client_id: str) -> NotificationSigner:
        peers, guard = KeyRing(()), self._guard
        if key_name == "wechatpay-v3":
            api_v3_key = self._resource_key(client_id)
            cipher = ResourceCipher(api_v3_key) if api_v3_key is not None else None
            return WechatPaySigner(WechatPayV3(own=own, peers=peers, guard=guard), cipher)
        if key_name == "alipay-rsa2":
            return AlipayNotifySigner(AlipayRsa2(own=own, peers=peers, guard=guard))
        if key_name == "alipay-v3":
            return AlipayV3Signer(AlipayV3(own=own, peers=peers, guard=guard))
        return UnionPaySigner(UnionPayRsa(own=own, peers=peers, guard=guard))
