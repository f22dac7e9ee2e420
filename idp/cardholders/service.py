"""Cardholders: enrolment, look-up by card or ID number, and PIN checks with lockout."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from idp.cardholders.gb11643 import InvalidIdNumber
from idp.cardholders.gb11643 import mask_card_number
from idp.cardholders.gb11643 import mask_id_number
from idp.cardholders.gb11643 import normalize_id_number
from idp.cardholders.pin import PinHasher
from idp.cardholders.pin import check_pin_rules
from idp.store.card_repository import SqlCardRepository
from idp.store.people import Person
from idp.store.people import PinAttempts
from idp.store.people import SocialSecurityCard
from idp.store.unit_of_work import UnitOfWork

ID_CONTEXT = "person.id_number"
_REGION = "0123456789"


class EnrolmentError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PinCheck:
    """``tries_left``: wrong PINs still allowed before the lock (the page says so);
    ``locked_until``: when a lock ends, epoch seconds, if this check found or set one."""

    ok: bool
    locked: bool
    tries_left: int = 0
    locked_until: int | None = None


class FieldEncryption(Protocol):
    """``KeyRing.encrypt_field``: AES-256-GCM with ``context`` bound as associated data."""

    def __call__(self, plaintext: str, *, context: str) -> bytes: ...


class Cardholders:
    """Enrolment and PIN checks, with what they need: the key ring's blind index and field
    encryption, the PIN hasher, the clock and the lockout policy (``Provider.cardholders``)."""

    def __init__(
        self,
        *,
        keyed_hash: Callable[[str, str], str],
        encrypt_field: FieldEncryption,
        hasher: PinHasher,
        clock: Callable[[], int],
        max_failures: int,
        lockout_seconds: int,
    ) -> None:
        self._keyed_hash = keyed_hash
        self._encrypt_field = encrypt_field
        self._hasher = hasher
        self._now = clock
        self._max_failures = max_failures
        self._lockout_seconds = lockout_seconds

    def enrol(
        self,
        uow: UnitOfWork,
        *,
        name: str,
        id_number: str,
        region_code: str,
        card_number: str,
        pin: str,
    ) -> Person:
        """A cardholder and their card in normal status; refused with ``EnrolmentError`` or
        ``WeakPin`` before anything is written."""
        id_number, card_number = _checked_enrolment(name, id_number, region_code, card_number, pin)
        session, index = uow.session, self.id_number_index(id_number)
        if session.scalar(select(Person.id).where(Person.id_number_index == index)):
            raise EnrolmentError("a cardholder with this ID number exists")
        if session.scalar(
            select(SocialSecurityCard.id).where(SocialSecurityCard.card_number == card_number)
        ):
            raise EnrolmentError("this card number is taken")
        now = self._now()
        person = Person(
            id=str(uuid.uuid4()),
            id_number_enc=self._encrypt_field(id_number, context=ID_CONTEXT),
            id_number_index=index,
            id_number_masked=mask_id_number(id_number),
            name=name.strip(),
            region_code=region_code,
            pin_hash=self._hasher.hash(pin),
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

    def id_number_index(self, id_number: str) -> str:
        """The blind index an ID number is found by (the number itself is never stored)."""
        return self._keyed_hash("id-number-index", id_number)

    def check_pin(self, session: Session, person: Person | None, pin: str) -> PinCheck:
        """``check_pin`` with this deployment's hasher, clock and lockout policy."""
        return check_pin(
            session,
            person,
            pin,
            self._hasher,
            now=self._now(),
            max_failures=self._max_failures,
            lockout_seconds=self._lockout_seconds,
        )

    def find_by_credential(self, session: Session, credential: str) -> Person | None:
        """The cardholder a typed card or ID number names (``find_by_credential``)."""
        return find_by_credential(session, self._keyed_hash, credential)

    def sign_in(
        self, session: Session, person: Person | None, credential: str, pin: str
    ) -> PinCheck:
        """``sign_in_with_pin`` with this deployment's hasher, clock and lockout policy."""
        return sign_in_with_pin(
            session,
            self._keyed_hash,
            person,
            credential,
            pin,
            self._hasher,
            now=self._now(),
            max_failures=self._max_failures,
            lockout_seconds=self._lockout_seconds,
        )


def _checked_enrolment(
    name: str, id_number: str, region_code: str, card_number: str, pin: str
) -> tuple[str, str]:
    """The normalised ID and card numbers, once every field passes its rule."""
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
    return id_number, card_number


def normalize_card_number(value: str) -> str:
    """Card numbers are 6 to 20 ASCII letters and digits, kept upper case."""
    card_number = value.strip().upper()
    if not 6 <= len(card_number) <= 20 or not card_number.isalnum() or not card_number.isascii():
        raise EnrolmentError("card number must be 6 to 20 letters and digits")
    return card_number


def find_by_credential(
    session: Session, keyed_hash: Callable[[str, str], str], credential: str
) -> Person | None:
    """A card number or an ID number (the sign-in form takes either)."""
    value = credential.strip().upper()
    if not value.isascii() or not value.isalnum():
        return None  # neither a card nor an ID number; a NUL byte would make PostgreSQL error
    if len(value) == 18:
        try:
            index = keyed_hash("id-number-index", normalize_id_number(value))
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
    session: Session,
    person: Person | None,
    pin: str,
    hasher: PinHasher,
    *,
    now: int,
    max_failures: int,
    lockout_seconds: int,
    unknown_key: str | None = None,
) -> PinCheck:
    """Verify with lockout: ``max_failures`` PIN checks lock the PIN for ``lockout_seconds``
    unless one of them is right.

    A check is *admitted* before argon2 runs, by one conditional ``UPDATE ... RETURNING`` that
    counts it (``admit_pin_check``); once ``max_failures`` are admitted the same statement sets
    the lock, so however many attempts arrive at once, at most ``max_failures`` are verified per
    lock window. A right PIN resets the count. The counting write belongs to the caller's
    transaction, which must commit it on a wrong PIN too.

    ``person`` None: the credential names no cardholder. Its attempts are counted under
    ``unknown_key`` (``unknown_credential_key``) and it costs one argon2 verification, so its
    answers and their timing are those of a real card with a wrong PIN. No key: not counted.
    """
    if person is None and unknown_key is None:
        hasher.verify(None, pin)
        return PinCheck(ok=False, locked=False)
    admitted = admit_pin_check(
        session,
        person.id if person is not None else None,
        unknown_key,
        now=now,
        max_failures=max_failures,
        lockout_seconds=lockout_seconds,
    )
    if admitted is None:
        return PinCheck(
            ok=False, locked=True, locked_until=_locked_until(session, person, unknown_key)
        )
    if person is not None and hasher.verify(person.pin_hash, pin):
        session.execute(
            update(Person)
            .where(Person.id == person.id)
            .values(pin_failures=0, pin_locked_until=None)
            .execution_options(synchronize_session=False)
        )
        return PinCheck(ok=True, locked=False)
    if person is None:
        hasher.verify(None, pin)
    if admitted >= max_failures:
        return PinCheck(ok=False, locked=True, locked_until=now + lockout_seconds)
    return PinCheck(ok=False, locked=False, tries_left=max_failures - admitted)


def _locked_until(session: Session, person: Person | None, unknown_key: str | None) -> int | None:
    """The end of the lock that refused a check, read for the page; the lock itself was decided
    by the conditional UPDATE in ``admit_pin_check``."""
    if person is not None:
        return session.scalar(select(Person.pin_locked_until).where(Person.id == person.id))
    return session.scalar(
        select(PinAttempts.locked_until).where(PinAttempts.key_hash == unknown_key)
    )


def admit_pin_check(
    session: Session,
    person_id: str | None,
    unknown_key: str | None,
    *,
    now: int,
    max_failures: int,
    lockout_seconds: int,
) -> int | None:
    """Count one PIN check and return the count, or None while the PIN is locked.

    One statement, so concurrent checks cannot lose a count: PostgreSQL serialises the updates
    of one row and re-evaluates the ``WHERE`` on the row a concurrent one committed; SQLite has
    one writer. A lock whose time has passed starts a new window at 1.
    """
    model = Person if person_id is not None else PinAttempts
    failures = Person.pin_failures if person_id is not None else PinAttempts.failures
    until = Person.pin_locked_until if person_id is not None else PinAttempts.locked_until
    count = case((and_(until.is_not(None), until <= now), 1), else_=failures + 1)
    lock = case((count >= max_failures, now + lockout_seconds), else_=None)
    open_window = or_(until.is_(None), until <= now)
    if person_id is not None:
        return session.scalar(
            update(Person)
            .where(Person.id == person_id, open_window)
            .values(pin_failures=count, pin_locked_until=lock)
            .returning(Person.pin_failures)
            .execution_options(synchronize_session=False)
        )
    assert unknown_key is not None
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    first = max_failures <= 1
    statement = (
        insert(model)
        .values(
            key_hash=unknown_key,
            failures=1,
            locked_until=now + lockout_seconds if first else None,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=[PinAttempts.key_hash],
            set_={"failures": count, "locked_until": lock, "updated_at": now},
            where=open_window,
        )
        .returning(PinAttempts.failures)
    )
    return session.scalar(statement)


def unknown_credential_key(keyed_hash: Callable[[str, str], str], credential: str) -> str:
    """The lockout key of a credential that names no cardholder: a keyed hash of it as typed
    (trimmed, upper case; characters UTF-8 cannot carry escaped), so no number is stored."""
    value = credential.strip().upper().encode("utf-8", "backslashreplace").decode("utf-8")
    return keyed_hash("card-number-index", f"pin-attempts:{value}")


def sign_in_with_pin(
    session: Session,
    keyed_hash: Callable[[str, str], str],
    person: Person | None,
    credential: str,
    pin: str,
    hasher: PinHasher,
    *,
    now: int,
    max_failures: int,
    lockout_seconds: int,
) -> PinCheck:
    """The sign-in form's check of ``person``, the cardholder the typed ``credential`` names
    (None: nobody), with lockout; an unknown credential is locked out exactly as a known one.
    A blank credential is never counted (it names nothing, and counting it would lock every
    blank form)."""
    typed = credential.strip()
    unknown = unknown_credential_key(keyed_hash, credential) if person is None and typed else None
    return check_pin(
        session,
        person,
        pin,
        hasher,
        now=now,
        max_failures=max_failures,
        lockout_seconds=lockout_seconds,
        unknown_key=unknown,
    )


def purge_pin_attempts(session: Session, now: int) -> int:
    """Forget unknown-credential counters whose lock has passed (``essc purge``): the next
    attempt would start a new window at 1 anyway, as a card's does. A count still below the
    limit is kept, as a card's is."""
    result = session.execute(delete(PinAttempts).where(PinAttempts.locked_until <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def primary_card(session: Session, person_id: str) -> SocialSecurityCard | None:
    """The cardholder's current card (``CardRepository.primary_of``)."""
    return SqlCardRepository(session).primary_of(person_id)


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
