"""What ``Provider.deliverer`` builds a ``Deliverer`` from: the backoff base and the reader of a
channel's stored APIv3 key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from idp.channel_admin import channel_notification_key
from idp.notifications.channel_signers import ResourceKey

if TYPE_CHECKING:
    from idp.provider import Provider

#: First retry after 5-10 s; with the default cap (1 h) and 20 attempts a message is parked no
#: sooner than about 5.7 hours after its first attempt (``Backoff.minimum_span``).
BASE_BACKOFF_SECONDS = 10


def stored_resource_key(provider: Provider) -> ResourceKey:
    def resource_key(client_id: str) -> bytes | None:
        with provider.db.read() as s:
            return channel_notification_key.get_key(s, provider.keyring, client_id)

    return resource_key
