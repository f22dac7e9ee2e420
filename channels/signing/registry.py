"""The registry of channel-native schemes: one ``Adapter`` each, the only place a scheme is named.

Request authentication (``idp.channel_auth``), notification and response signing
(``idp.notifications``, ``idp.channel_auth.responses``), the CLI (``essc keys notification-cert``,
``essc clients add``), registration (``channels.api_keys``) and the key ring's platform keys all
look schemes up here, by name or by the shape of a request. A channel whose ``api_auth_scheme``
no adapter names (plain OAuth: ``private_key_jwt``, ``tls_client_auth``, a secret) has no
requests to verify this way and no platform RSA key; its notifications are RFC 8417 SETs
(``channels.signing.security_event``).
"""

from __future__ import annotations

from collections.abc import Callable

from channels.signing.adapter import Adapter
from channels.signing.adapter import Carrier
from channels.signing.alipay import ALIPAY_RSA2
from channels.signing.alipay import ALIPAY_V3
from channels.signing.scheme import ChannelRequest
from channels.signing.unionpay import UNIONPAY_RSA
from channels.signing.wechatpay import WECHATPAY_V3

#: Every scheme, in the order requests are routed: a form carrying both ``sign`` and
#: ``signature`` is an Alipay gateway form.
ADAPTERS: tuple[Adapter, ...] = (WECHATPAY_V3, ALIPAY_RSA2, ALIPAY_V3, UNIONPAY_RSA)

#: Each scheme by its one name.
BY_NAME: dict[str, Adapter] = {adapter.name: adapter for adapter in ADAPTERS}


def registered(value: str | None) -> Adapter | None:
    """The scheme a stored ``api_auth_scheme`` or a ``--scheme`` names, older spellings too."""
    return next((adapter for adapter in ADAPTERS if adapter.known_as(value)), None)


def claimant(request: ChannelRequest, carrier: Carrier) -> Adapter | None:
    """The scheme whose signature ``request`` carries this way, by shape only (no verifying)."""
    return next((a for a in ADAPTERS if a.carrier == carrier and a.handles(request)), None)


def spellings() -> list[str]:
    """Every value that names a scheme: the names, then the older spellings."""
    older = sorted(s for adapter in ADAPTERS for s in adapter.spellings)
    return [adapter.name for adapter in ADAPTERS] + older


def platform_key_serials() -> dict[str, Callable[[], str]]:
    """The key ring's platform keys, one per scheme: its name there, and how a serial is made."""
    return {adapter.platform_key: adapter.new_serial for adapter in ADAPTERS}
