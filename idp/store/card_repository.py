"""The physical cards and their e-cards as the card and e-card services store them: a Protocol
per domain and its SQL implementation over a unit of work's session.

The services (``idp.ecards.service``, ``idp.cards.lifecycle``) reach these rows only through
``uow.ecards`` and ``uow.cards``, so the queries, their locks and the constraints they rely on
are here, next to the models, and nothing here commits.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.store.ecards import CardEvent
from idp.store.ecards import ECard
from idp.store.locks import lock_row
from idp.store.people import SocialSecurityCard


class ECardRepository(Protocol):
    def by_idempotency_key(self, client_id: str, key: str) -> ECard | None:
        """The channel's e-card issued with this idempotency key."""
        ...

    def own(self, client_id: str, sign_no: str, *, lock: bool = False) -> ECard | None:
        """The channel's e-card ``sign_no``, locked for the transaction when ``lock``."""
        ...

    def reread(self, row: ECard) -> None:
        """Load ``row`` again: another transaction may have changed it before our lock."""
        ...

    def active_of(self, person_id: str, client_id: str) -> ECard | None:
        """The cardholder's active e-card in this channel, locked."""
        ...

    def active_on_card(self, card_id: str) -> list[ECard]:
        """The card's active e-cards (one per channel), locked, oldest first."""
        ...

    def supersede(self, row: ECard, now: int) -> None:
        """Mark ``row`` superseded, written at once: the partial unique index on active
        e-cards must see it before the new e-card is inserted."""
        ...

    def add(self, row: ECard) -> bool:
        """Insert ``row`` now; False when a unique index refused it (a concurrent issuance
        with the same idempotency key or for the same cardholder and channel)."""
        ...


class CardRepository(Protocol):
    def get(self, card_id: str, *, lock: bool = False) -> SocialSecurityCard | None:
        """The card; with ``lock``, ``FOR UPDATE`` and read again after the lock."""
        ...

    def hold(self, card_id: str) -> SocialSecurityCard | None:
        """The card, locked on both backends (``store.locks.lock_row``), read after the lock."""
        ...

    def by_number(self, card_number: str) -> SocialSecurityCard | None:
        """The card with this (normalised) number, locked and read after the lock."""
        ...

    def primary_of(self, person_id: str) -> SocialSecurityCard | None:
        """The cardholder's current card: after 补换 the successor, not the replaced one."""
        ...

    def number_taken(self, card_number: str) -> bool: ...

    def add(self, card: SocialSecurityCard) -> bool:
        """Insert ``card`` now; False when its number is taken (a concurrent replacement)."""
        ...

    def lapsed_suspensions(self, now: int) -> list[SocialSecurityCard]:
        """Suspended cards whose time has passed, locked, skipping cards locked elsewhere."""
        ...

    def add_event(self, event: CardEvent) -> None: ...


class SqlECardRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def by_idempotency_key(self, client_id: str, key: str) -> ECard | None:
        return self._session.scalar(
            select(ECard).where(ECard.client_id == client_id, ECard.idempotency_key == key)
        )

    def own(self, client_id: str, sign_no: str, *, lock: bool = False) -> ECard | None:
        query = select(ECard).where(ECard.sign_no == sign_no, ECard.client_id == client_id)
        return self._session.scalar(query.with_for_update() if lock else query)

    def reread(self, row: ECard) -> None:
        self._session.refresh(row)

    def active_of(self, person_id: str, client_id: str) -> ECard | None:
        return self._session.scalar(
            select(ECard)
            .where(ECard.person_id == person_id, ECard.client_id == client_id)
            .where(ECard.status == "active")
            .with_for_update()
        )

    def active_on_card(self, card_id: str) -> list[ECard]:
        return list(
            self._session.scalars(
                select(ECard)
                .where(ECard.card_id == card_id, ECard.status == "active")
                .order_by(ECard.issued_at, ECard.sign_no)
                .with_for_update()
            )
        )

    def supersede(self, row: ECard, now: int) -> None:
        row.status, row.updated_at = "superseded", now
        self._session.flush()

    def add(self, row: ECard) -> bool:
        self._session.add(row)
        try:
            self._session.flush()
        except IntegrityError:
            return False
        return True


class SqlCardRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, card_id: str, *, lock: bool = False) -> SocialSecurityCard | None:
        if not lock:
            return self._session.get(SocialSecurityCard, card_id)
        return self._session.get(
            SocialSecurityCard, card_id, with_for_update=True, populate_existing=True
        )

    def hold(self, card_id: str) -> SocialSecurityCard | None:
        return lock_row(self._session, SocialSecurityCard, card_id)

    def by_number(self, card_number: str) -> SocialSecurityCard | None:
        return self._session.scalar(
            select(SocialSecurityCard)
            .where(SocialSecurityCard.card_number == card_number)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    def primary_of(self, person_id: str) -> SocialSecurityCard | None:
        return self._session.scalar(
            select(SocialSecurityCard)
            .where(SocialSecurityCard.person_id == person_id)
            # After 补换 the successor is the card, even when both were issued in one second.
            .order_by(SocialSecurityCard.status == "replaced", SocialSecurityCard.issued_at.desc())
        )

    def number_taken(self, card_number: str) -> bool:
        found = self._session.scalar(
            select(SocialSecurityCard.id).where(SocialSecurityCard.card_number == card_number)
        )
        return found is not None

    def add(self, card: SocialSecurityCard) -> bool:
        self._session.add(card)
        try:
            self._session.flush()
        except IntegrityError:
            return False
        return True

    def lapsed_suspensions(self, now: int) -> list[SocialSecurityCard]:
        return list(
            self._session.scalars(
                select(SocialSecurityCard)
                .where(SocialSecurityCard.status == "suspended")
                .where(SocialSecurityCard.suspended_until <= now)
                .order_by(SocialSecurityCard.suspended_until)
                .with_for_update(skip_locked=True)
                .execution_options(populate_existing=True)
            ).all()
        )

    def add_event(self, event: CardEvent) -> None:
        self._session.add(event)
