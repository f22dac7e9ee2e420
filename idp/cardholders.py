"""Cardholders: enrolment, look-up by card or ID number, and PIN checks with lockout."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.gb11643 import InvalidIdNumber
from idp.gb11643 import mask_card_number
from idp.gb11643 import mask_id_number
from idp.gb11643 import normalize_id_number
from idp.pin import PinHasher
from idp.pin import check_pin_rules
from idp.store.people import Person
from idp.store.people import SocialSecurityCard
from keys import KeyRing

ID_CONTEXT = "person.id_number"
_REGION = "0123456789"


class EnrolmentError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PinCheck:
    ok: bool
    locked: bool


def add_cardholder(
    session: Session,
    keyring: KeyRing,
    hasher: PinHasher,
    *,
    name: str,
    id_number: str,
    region_code: str,
    card_number: str,
    pin: str,
    now: int,
) -> Person:
    try:
        id_number = normalize_id_number(id_number)
    except InvalidIdNumber as exc:
        raise EnrolmentError(f"ID number: {exc.reason}") from None
    if len(region_code) != 6 or any(c not in _REGION for c in region_code):
        raise EnrolmentError("region code must be 6 digits (GB/T 2260)")
    card_number = normalize_card_number(card_number)
    if not name.strip() or len(name) > 64:
        raise EnrolmentError("name is required (at most 64 characters)")
    check_pin_rules(pin, id_number)
    index = keyring.keyed_hash("id-number-index", id_number)
    if session.scalar(select(Person.id).where(Person.id_number_index == index)):
        raise EnrolmentError("a cardholder with this ID number exists")
    if session.scalar(
        select(SocialSecurityCard.id).where(SocialSecurityCard.card_number == card_number)
    ):
        raise EnrolmentError("this card number is taken")
    person = Person(
        id=str(uuid.uuid4()),
        id_number_enc=keyring.encrypt_field(id_number, context=ID_CONTEXT),
        id_number_index=index,
        id_number_masked=mask_id_number(id_number),
        name=name.strip(),
        region_code=region_code,
        pin_hash=hasher.hash(pin),
        pin_failures=0,
        created_at=now,
    )
    session.add(person)
    session.add(
        SocialSecurityCard(
            id=str(uuid.uuid4()),
            person_id=person.id,
            card_number=card_number,
            status="normal",
            region_code=region_code,
            issued_at=now,
            updated_at=now,
        )
    )
    return person


def normalize_card_number(value: str) -> str:
    """Card numbers are 6 to 20 ASCII letters and digits, kept upper case."""
    card_number = value.strip().upper()
    if not 6 <= len(card_number) <= 20 or not card_number.isalnum() or not card_number.isascii():
        raise EnrolmentError("card number must be 6 to 20 letters and digits")
    return card_number


def find_by_credential(session: Session, keyring: KeyRing, credential: str) -> Person | None:
    """A card number or an ID number (the sign-in form takes either)."""
    value = credential.strip().upper()
    if not value.isascii() or not value.isalnum():
        return None  # neither a card nor an ID number; a NUL byte would make PostgreSQL error
    if len(value) == 18:
        try:
            index = keyring.keyed_hash("id-number-index", normalize_id_number(value))
        except InvalidIdNumber:
            return None
        return session.scalar(select(Person).where(Person.id_number_index == index))
    return session.scalar(
        select(Person)
        .join(SocialSecurityCard, SocialSecurityCard.person_id == Person.id)
        .where(SocialSecurityCard.card_number == value)
        .where(SocialSecurityCard.status != "replaced")  # 补换: the old number stops
    )


def check_pin(
    person: Person | None,
    pin: str,
    hasher: PinHasher,
    *,
    now: int,
    max_failures: int,
    lockout_seconds: int,
) -> PinCheck:
    """Verify with lockout: ``max_failures`` wrong PINs lock the card for ``lockout_seconds``.

    An unknown credential still costs one argon2 verification, so timing tells nothing.
    """
    if person is None:
        hasher.verify(None, pin)
        return PinCheck(ok=False, locked=False)
    if person.pin_locked_until and person.pin_locked_until > now:
        return PinCheck(ok=False, locked=True)
    if hasher.verify(person.pin_hash, pin):
        person.pin_failures, person.pin_locked_until = 0, None
        return PinCheck(ok=True, locked=False)
    person.pin_failures = (person.pin_failures or 0) + 1
    if person.pin_failures >= max_failures:
        person.pin_failures, person.pin_locked_until = 0, now + lockout_seconds
        return PinCheck(ok=False, locked=True)
    return PinCheck(ok=False, locked=False)


def primary_card(session: Session, person_id: str) -> SocialSecurityCard | None:
    return session.scalar(
        select(SocialSecurityCard)
        .where(SocialSecurityCard.person_id == person_id)
        # After 补换 the successor is the card, even when both were issued in one second.
        .order_by(SocialSecurityCard.status == "replaced", SocialSecurityCard.issued_at.desc())
    )


def describe(person: Person, card: SocialSecurityCard | None) -> dict[str, str]:
    """Masked view for operators and CLI output."""
    return {
        "person_id": person.id,
        "name": person.name,
        "id_number_masked": person.id_number_masked,
        "region_code": person.region_code,
        "card_number_masked": mask_card_number(card.card_number) if card else "",
        "card_status": card.status if card else "",
    }
