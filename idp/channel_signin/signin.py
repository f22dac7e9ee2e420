"""In-channel sign-in: a verified channel assertion names one of that channel's own, usable
e-cards (docs/channel-assertion.md); anything else is ``invalid_request``."""

from __future__ import annotations

from dataclasses import dataclass

from idp.channel_signin.assertion import AssertionRejected
from idp.channel_signin.assertion import ChannelAssertion
from idp.channel_signin.assertion import ChannelAssertionVerifier
from idp.interaction.assurance import Assurance
from idp.store.people import status_at
from idp.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ChannelSignIn:
    person_id: str
    assurance: Assurance


class ChannelSignIns:
    """``Provider.channel_signin``: reached through the Provider so idp.interaction does not
    import this package (which imports idp.interaction.assurance)."""

    def __init__(self, verifier: ChannelAssertionVerifier) -> None:
        self._verifier = verifier

    def sign_in(self, uow: UnitOfWork, client_id: str, token: str, now: int) -> ChannelSignIn | str:
        """The cardholder, or the refusal's reason for the audit (always invalid_request)."""
        try:
            return sign_in_by_assertion(uow, self._verifier, client_id, token, now)
        except AssertionRejected as exc:
            return exc.reason


def sign_in_by_assertion(
    uow: UnitOfWork, verifier: ChannelAssertionVerifier, client_id: str, token: str, now: int
) -> ChannelSignIn:
    """The cardholder a ``login_hint_token`` from ``client_id`` vouches for (CIBA Core 7.1)."""
    assertion = verifier.verify(token)
    # Only the requesting client may vouch: another channel's assertion is not for this request.
    if assertion.channel_id != client_id:
        raise AssertionRejected("asserted by another channel")
    return vouched_holder(uow, assertion, now)


def vouched_holder(uow: UnitOfWork, assertion: ChannelAssertion, now: int) -> ChannelSignIn:
    """The cardholder behind a verified assertion: its ``sub`` must be an active e-card of the
    asserting channel whose card is usable now (also scan-to-sign-in's, idp.scan_signin)."""
    ecard = uow.ecards.own(assertion.channel_id, assertion.sign_no)
    if ecard is None:
        raise AssertionRejected("not this channel's e-card")
    if ecard.status != "active":
        raise AssertionRejected("e-card not active")
    card = uow.cards.get(ecard.card_id)
    if card is None or status_at(card, now) != "normal":
        raise AssertionRejected("card not usable")
    return ChannelSignIn(ecard.person_id, assertion.assurance)
