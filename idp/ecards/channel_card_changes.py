"""临时挂失 and 解挂 that a channel asks for on its cardholder's behalf (issue 6).

The e-SSC apps let a cardholder suspend a lost card, or resume it, from the app, confirmed by
the e-card PIN or a fresh face check. Here the channel names its own **active** e-card
(``sign_no``), never a card number, so it can act only for a card whose holder it has bound;
the cardholder's presence is proved exactly as for unbinding
(``ECardService.prove_presence``: a wrong PIN counts toward the PIN lockout and that count
is committed). The change itself is ``CardLifecycle.apply`` (suspend or resume) with the channel
as actor and ``pin`` or ``face`` as factor,
so it writes the same ``card_events`` row, audit event, revocations and one outbox message per
channel holding an active e-card as an operator's change. A retry is idempotent by state: a
suspension of a suspended card (or a resume of a normal one) answers the current state and
writes nothing but the PIN check. No Flask here; ``docs/card-lifecycle.md`` is the prose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from idp.cardholders.gb11643 import mask_card_number
from idp.cards.lifecycle import Actor
from idp.cards.lifecycle import CardLifecycle
from idp.cards.lifecycle import TransitionRefused
from idp.channel_auth.caller import Channel
from idp.ecards.requests import PresenceProof
from idp.ecards.service import ECardService
from idp.ecards.service import find_own
from idp.errors import Problem
from idp.store.ecards import ECard
from idp.store.people import SocialSecurityCard
from idp.store.people import status_at
from idp.store.unit_of_work import UnitOfWork

#: The action, and the card status (as readers see it) in which it has nothing left to do.
ACTIONS = {"suspend": "suspended", "resume": "normal"}


@dataclass(frozen=True)
class ChannelCardChange:
    sign_no: str
    action: str
    changed: bool
    card: SocialSecurityCard
    now: int

    def as_json(self) -> dict[str, Any]:
        return {
            "sign_no": self.sign_no,
            "action": self.action,
            "changed": self.changed,
            "card": {
                "status": status_at(self.card, self.now),
                "card_number_masked": mask_card_number(self.card.card_number),
                "region_code": self.card.region_code,
                "suspended_until": self.card.suspended_until
                if status_at(self.card, self.now) == "suspended"
                else None,
            },
        }


class ChannelCardChanges:
    """A channel's suspend and resume (``Provider.channel_card_changes``): the cardholder's
    presence proved by the e-card service, the change made by the card lifecycle."""

    def __init__(
        self, *, ecards: ECardService, cards: CardLifecycle, clock: Callable[[], int]
    ) -> None:
        self._ecards = ecards
        self._cards = cards
        self._now = clock

    def change(
        self, uow: UnitOfWork, channel: Channel, sign_no: str, action: str, proof: PresenceProof
    ) -> ChannelCardChange:
        """Suspend or resume the card behind the channel's active e-card ``sign_no``."""
        now = self._now()
        card, ecard = _lock(uow, channel, sign_no)
        self._ecards.prove_presence(uow.session, ecard, proof, now)
        if status_at(card, now) == ACTIONS[action]:
            return ChannelCardChange(ecard.sign_no, action, False, card, now)
        try:
            self._cards.apply(uow, card, action, Actor(channel.client_id, proof.factor), now=now)
        except TransitionRefused as exc:
            raise Problem(
                409,
                "card-not-usable",
                "The social security card cannot be changed",
                "The card is cancelled or replaced; the cardholder must visit a counter.",
                card_status=exc.status,
            ) from None
        return ChannelCardChange(ecard.sign_no, action, True, card, now)


def _lock(uow: UnitOfWork, channel: Channel, sign_no: str) -> tuple[SocialSecurityCard, ECard]:
    """Lock the card, then the e-card: the order ``idp.cards.lifecycle`` locks them in, so a
    concurrent operator change and this one serialise instead of deadlocking."""
    card_id = find_own(uow, channel, sign_no).card_id
    card = uow.cards.get(card_id, lock=True)
    ecard = find_own(uow, channel, sign_no, lock=True)
    uow.ecards.reread(ecard)
    if card is None or ecard.card_id != card.id:  # replaced in between: the caller retries
        raise Problem(
            409,
            "concurrent-change",
            "The card changed while this request ran",
            "Retry the request.",
        )
    if ecard.status != "active":
        raise Problem(
            409, "ecard-not-active", "The e-card is not active", ecard_status=ecard.status
        )
    return card, ecard
