"""Helpers for the QR tests: an e-card to make codes for, and the card changes that stop it."""

from __future__ import annotations

from typing import Any

from idp.cards import lifecycle as cards
from idp.ecards import service as ecards
from idp.ecards.requests import parse_issue
from idp.store.ecards import ECard
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import channel_of
from tests.ecard_helpers import issue_body
from tests.ecard_helpers import set_card
from tests.support import CARD

OPERATOR = cards.Actor("op-0042", "counter")


def _services(provider: Any) -> ecards.Services:
    return ecards.Services(
        keyring=provider.keyring,
        issuer=provider.issuer,
        alg=provider.settings.default_signing_alg,
        now=provider.now,
        pin_hasher=provider.pin_hasher,
        pin_max_failures=provider.settings.pin_max_failures,
        pin_lockout_seconds=provider.settings.pin_lockout_seconds,
    )


def issue_in(provider: Any, channel: Any, *, level: int = 2, key: str = "req-bank-0001") -> str:
    """An e-card of the test cardholder in ``channel`` (already registered); its sign_no."""
    body = parse_issue(issue_body(provider, "bank", level=level, idempotency_key=key))
    with provider.db.transaction() as s:
        sign_no: str = ecards.issue_ecard(s, _services(provider), channel, body).sign_no
    return sign_no


def issue_ecard(provider: Any, cardholder: dict[str, str], *, level: int = 2) -> tuple[Any, str]:
    """A level ``level`` e-card in a new bank channel: (registered channel, sign_no)."""
    if level == 2:
        set_card(provider, cardholder["person_id"], bank_account_linked=True)
    registered = add_channel(provider, "bank")
    return registered, issue_in(provider, channel_of(provider, registered.client_id), level=level)


def codes(provider: Any, sign_no: str, purpose: Any, count: int = 1) -> list[str]:
    with provider.db.transaction() as s:
        ecard = s.get(ECard, sign_no)
        assert ecard is not None
        found: list[str] = provider.qr.issue(s, ecard, purpose, count)
        return found


def change_card(provider: Any, action: str, number: str = CARD["card_number"]) -> None:
    with provider.db.transaction() as s:
        card = cards.find_card(s, number)
        if action == "suspend":
            cards.suspend(s, card, OPERATOR, now=provider.now(), seconds=3600)
        else:
            getattr(cards, action)(s, card, OPERATOR, now=provider.now())
