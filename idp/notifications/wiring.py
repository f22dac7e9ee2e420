"""Build a ``Deliverer`` from the provider's settings, key ring and database (for ``essc``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from channels.signing import OwnKey
from idp.channel_admin import channel_notification_key
from idp.notifications import platform_keys
from idp.notifications.backoff import Backoff
from idp.notifications.channel_signers import ChannelSigners
from idp.notifications.channel_signers import ResourceKey
from idp.notifications.deliverer import Deliverer
from idp.notifications.deliverer import Policy
from idp.notifications.transport import RequestsTransport
from idp.notifications.transport import Transport

if TYPE_CHECKING:
    from idp.provider import Provider

#: First retry after 5-10 s; with the default cap (1 h) and 20 attempts a message is parked no
#: sooner than about 5.7 hours after its first attempt (``Backoff.minimum_span``).
BASE_BACKOFF_SECONDS = 10


def policy_for(provider: Provider, *, lease_seconds: int = 60) -> Policy:
    settings = provider.settings
    return Policy(
        max_attempts=settings.notification_max_attempts,
        backoff=Backoff(BASE_BACKOFF_SECONDS, settings.notification_max_backoff_seconds),
        lease_seconds=lease_seconds,
    )


def build_deliverer(
    provider: Provider,
    *,
    transport: Transport | None = None,
    own_keys: Mapping[str, OwnKey] | None = None,
    resource_key: ResourceKey | None = None,
) -> Deliverer:
    """The deliverer ``essc notifications deliver`` runs.

    ``own_keys`` are the platform's RSA keys for the channel-native schemes, by default the key
    ring's (``essc init`` creates them); a scheme without one fails with ``no platform key for
    <scheme>``. ``resource_key`` gives a WeChat channel's APIv3 key, by default the one the
    operator stored (``essc channels notification-key``).
    """
    keyring = provider.keyring
    signers = ChannelSigners(
        sign_jwt=provider.sign,
        issuer=provider.issuer,
        clock=provider.clock,
        own_keys=platform_keys.own_keys(keyring) if own_keys is None else own_keys,
        resource_key=resource_key or stored_resource_key(provider),
    )
    return Deliverer(
        provider.db,
        signers=signers,
        transport=transport or RequestsTransport(),
        clock=provider.clock,
        policy=policy_for(provider),
    )


def stored_resource_key(provider: Provider) -> ResourceKey:
    def resource_key(client_id: str) -> bytes | None:
        with provider.db.read() as s:
            return channel_notification_key.get_key(s, provider.keyring, client_id)

    return resource_key
