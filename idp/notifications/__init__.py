"""Notifications to channels: the deliverer side of the transactional outbox
(``idp.events.outbox``).

Issue 3, section 5: sign each notification in the channel's scheme, retry with exponential
backoff, at least once with a stable delivery id, in order per card, parked after too many
attempts and visible to the operator (``essc notifications list``).
Contract for channels: ``docs/notifications.md``.
"""

from __future__ import annotations

from idp.notifications.backoff import Backoff
from idp.notifications.channel_signers import ChannelSigners
from idp.notifications.channel_signers import NoSigner
from idp.notifications.deliverer import DELIVERY_ID_HEADER
from idp.notifications.deliverer import Deliverer
from idp.notifications.deliverer import Pass
from idp.notifications.deliverer import Policy
from idp.notifications.signers import Envelope
from idp.notifications.signers import NotificationSigner
from idp.notifications.signers import Outgoing
from idp.notifications.transport import Outcome
from idp.notifications.transport import RequestsTransport
from idp.notifications.transport import Transport

__all__ = [
    "DELIVERY_ID_HEADER",
    "Backoff",
    "ChannelSigners",
    "Deliverer",
    "Envelope",
    "NoSigner",
    "NotificationSigner",
    "Outcome",
    "Outgoing",
    "Pass",
    "Policy",
    "RequestsTransport",
    "Transport",
]
