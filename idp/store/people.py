"""Cardholders and their physical social security cards."""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import ColumnElement
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp.store.base import Base


class Person(Base):
    """A cardholder. The ID number is stored encrypted, found by a keyed blind index, and shown
    only in its masked form."""

    __tablename__ = "persons"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_index: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(6))
    pin_hash: Mapped[str | None] = mapped_column(String(128))
    #: PIN checks admitted since the last right PIN (``idp.cardholders.service.check_pin``): counted
    #: by one conditional ``UPDATE ... RETURNING`` before the PIN is verified.
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    pin_locked_until: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)


class PinAttempts(Base):
    """The PIN lockout counter of a sign-in credential that names no cardholder.

    An unknown card or ID number is locked out exactly as a real card is, so the answers do not
    tell whether a card exists. ``key_hash`` is a keyed hash of the credential: the table holds
    no card or ID number. ``essc purge`` deletes rows whose lock has passed.
    """

    __tablename__ = "pin_attempts"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[int | None] = mapped_column(BigInteger, index=True)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class SocialSecurityCard(Base):
    """The physical card (社会保障卡). ``status``: normal, suspended, cancelled, replaced."""

    __tablename__ = "cards"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    card_number: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="normal")
    region_code: Mapped[str] = mapped_column(String(6))
    issued_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    #: A temporary suspension (临时挂失) lifts by itself at this time.
    suspended_until: Mapped[int | None] = mapped_column(BigInteger)
    #: The card that replaced this one (补换); its e-cards moved there.
    replaced_by: Mapped[str | None] = mapped_column(String(36))
    #: Level 2 e-cards (payment, settlement) need the card's bank account linked and activated.
    bank_account_linked: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Card production progress (制卡进度): applied, producing, ready, collected.
    production_stage: Mapped[str] = mapped_column(String(16), default="collected")
    production_updated_at: Mapped[int | None] = mapped_column(BigInteger)


def status_at(card: SocialSecurityCard, now: int) -> str:
    """The status a reader sees at ``now``: a temporary suspension (临时挂失) whose
    ``suspended_until`` has passed reads as ``normal`` whether or not ``essc cards lift-expired``
    has run yet (issue 3, section 4; essc-domain.md 1.7: it "lifts automatically")."""
    if card.status == "suspended" and card.suspended_until is not None:
        return "normal" if card.suspended_until <= now else "suspended"
    return card.status


def usable_at(now: int | ColumnElement[int]) -> ColumnElement[bool]:
    """SQL for ``status_at(card, now) == "normal"``: the card may sign in and back tokens.
    ``now`` may be a bound parameter, for statements built once (idp.store.token_store)."""
    return or_(
        SocialSecurityCard.status == "normal",
        and_(
            SocialSecurityCard.status == "suspended",
            SocialSecurityCard.suspended_until <= now,
        ),
    )
