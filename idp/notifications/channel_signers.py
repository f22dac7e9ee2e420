"""The signer each channel's notifications get, looked up by its registered ``api_auth_scheme``.

A channel registered for a native scheme (``channels.signing.registry``: ``wechatpay-v3``,
``alipay-rsa2``, ``alipay-v3``, ``unionpay-rsa``, older spellings included) gets that channel's
own notification form (``idp.notifications.native``), signed by the scheme's ``Signer`` with the
platform's key for it (``OwnKey``: the key ring's signing function and the serial or certId the
channel registered for us). Every other channel (``private_key_jwt``, ``tls_client_auth``, none)
gets an RFC 8417 SET (``channels.signing.security_event``) signed by the key ring. A native
scheme whose platform key is not configured raises ``NoSigner``: the message fails that attempt
visibly instead of going out signed in a form the channel does not check.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping

from channels.signing import ALIPAY_RSA2
from channels.signing import ALIPAY_V3
from channels.signing import UNIONPAY_RSA
from channels.signing import WECHATPAY_V3
from channels.signing import Adapter
from channels.signing import OwnKey
from channels.signing import ResourceCipher
from channels.signing import Signer
from channels.signing import registered
from channels.signing.scheme import Clock
from channels.signing.security_event import SignJwt
from idp.notifications.native import AlipayGatewayNotify
from idp.notifications.native import AlipayV3Notify
from idp.notifications.native import UnionPayBackNotify
from idp.notifications.native import WechatPayCallback
from idp.notifications.signers import JwsSetSigner
from idp.notifications.signers import NotificationSigner

#: The channel's WeChat Pay APIv3 key (32 bytes) when it asks for encrypted resources.
ResourceKey = Callable[[str], bytes | None]

#: Each native scheme's notification form; WeChat Pay's also takes the channel's resource key.
FORMS: dict[str, Callable[[Signer], NotificationSigner]] = {
    ALIPAY_RSA2.name: AlipayGatewayNotify,
    ALIPAY_V3.name: AlipayV3Notify,
    UNIONPAY_RSA.name: UnionPayBackNotify,
}


class NoSigner(Exception):
    """The channel's scheme needs a platform key that is not configured."""


def _no_resource_key(client_id: str) -> bytes | None:
    return None


class ChannelSigners:
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
        self._clock = clock
        self._own = dict(own_keys or {})
        self._resource_key = resource_key
        self._jws: dict[str, JwsSetSigner] = {}

    def for_channel(
        self, client_id: str, api_auth_scheme: str | None, alg: str
    ) -> NotificationSigner:
        """The signer for one channel; ``NoSigner`` when its platform key is missing."""
        adapter = registered(api_auth_scheme)
        if adapter is None:
            return self._jws_signer(alg)
        own = self._own.get(adapter.name)
        if own is None:
            raise NoSigner(f"no platform key for {adapter.name}")
        return self._native(adapter, own, client_id)

    def _jws_signer(self, alg: str) -> JwsSetSigner:
        if alg not in self._jws:
            self._jws[alg] = JwsSetSigner(self._sign_jwt, issuer=self._issuer, alg=alg)
        return self._jws[alg]

    def _native(self, adapter: Adapter, own: OwnKey, client_id: str) -> NotificationSigner:
        signer = adapter.signer(own, self._clock)
        if adapter is WECHATPAY_V3:
            api_v3_key = self._resource_key(client_id)
            cipher = ResourceCipher(api_v3_key) if api_v3_key is not None else None
            return WechatPayCallback(signer, cipher)
        return FORMS[adapter.name](signer)
