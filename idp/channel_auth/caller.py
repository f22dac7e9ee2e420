"""The authenticated caller of a channel API, and the powers its kind and scopes give it."""

from __future__ import annotations

from dataclasses import dataclass

from channels.kinds import ChannelKind

#: Channel kinds that may issue level 2 (payment, settlement) without a grant (issue 3, 1).
PAYMENT_KINDS = frozenset({ChannelKind.UNIONPAY, ChannelKind.BANK})
PAYMENT_SCOPE = "essc.payment"


@dataclass(frozen=True)
class Channel:
    """The authenticated caller.

    A second-tier channel carries its first-tier ``parent``: it holds no power its parent lacks
    (issue 3, 1), whatever its own kind, even when the parent's grant shrank after registration.
    """

    client_id: str
    kind: ChannelKind
    scopes: frozenset[str]
    parent: Channel | None = None

    @property
    def may_pay(self) -> bool:
        own = self.kind in PAYMENT_KINDS or PAYMENT_SCOPE in self.scopes
        return own and (self.parent is None or self.parent.may_pay)
