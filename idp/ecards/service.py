"""E-card issuance (签发), unbinding and status for channels (issue 3, sections 3 and 6).

An ordered list of small checks per operation, all inside the caller's unit of work (one
transaction, ``idp.store.unit_of_work``), so the e-card row, the superseded row, the audit event
and the outbox message commit or roll back together; nothing here commits. Refusals are RFC 7807
``Problem``s (``docs/ecards.md`` lists them). No Flask here.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.cardholders.gb11643 import mask_card_number
from idp.cardholders.service import Cardholders
from idp.channel_auth.caller import Channel
from idp.ecards import credential as ecard_credential
from idp.ecards.requests import IssueRequest
from idp.ecards.requests import PresenceProof
from idp.ecards.requests import UnbindRequest
from idp.errors import KeepsWrites
from idp.errors import Problem
from idp.events.audit import record_event
from idp.events.outbox import enqueue
from idp.store.ecards import ECard
from idp.store.people import Person
from idp.store.people import SocialSecurityCard
from idp.store.people import status_at
from idp.store.unit_of_work import UnitOfWork

#: A face check the channel asserts must be this recent, and not in the future [U].
FACE_MAX_AGE = 600
FACE_SKEW = 30
SIGN_NO = re.compile(r"[A-Za-z0-9_\-]{43}")


@dataclass(frozen=True)
class IssuedECard:
    sign_no: str
    level: int
    status: str
    issued_at: int
    credential: str
    supersedes: str | None
    replayed: bool

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "sign_no": self.sign_no,
            "level": self.level,
            "status": self.status,
            "issued_at": self.issued_at,
            "credential": self.credential,
            "credential_format": "dc+sd-jwt",
        }
        if self.supersedes:
            body["supersedes"] = self.supersedes
        return body


class FactorRefused(Problem, KeepsWrites):
    """A wrong PIN: the failure counter (lockout) must be committed, nothing else is written."""


def mismatch() -> Problem:
    """One answer for an unknown ID number, a different name or region: nothing to enumerate."""
    return Problem(
        422,
        "cardholder-mismatch",
        "No cardholder matches these details",
        "The name, ID number and region code do not match one cardholder.",
    )


# -- the service -------------------------------------------------------------------------------
class ECardService:
    """签发, status and 解除关联 for channels (``Provider.ecards``), with what they need: the
    cardholders (matching, PIN checks with lockout), the credential's signer and keyed hash, the
    issuer and the clock."""

    def __init__(
        self,
        *,
        cardholders: Cardholders,
        sign: Callable[[dict[str, Any], str], str],
        keyed_hash: Callable[[str, str], str],
        issuer: str,
        clock: Callable[[], int],
    ) -> None:
        self._cardholders = cardholders
        self._sign = sign
        self._keyed_hash = keyed_hash
        self._issuer = issuer
        self._now = clock

    def issue(self, uow: UnitOfWork, channel: Channel, request: IssueRequest) -> IssuedECard:
        """签发: match the cardholder and card, check the level, supersede, insert, audit and
        notify."""
        now = self._now()
        index = self._cardholders.id_number_index(request.id_number)
        replay = _replay(uow, channel, request, index)
        if replay is not None:
            return self._result(*replay, request, replayed=True)
        _check_face_time(request.evidence.face_verified_at, now)
        person = _match_cardholder(uow.session, request, index)
        card = _usable_card(uow, person, request, now)
        # Concurrent issuances for one cardholder queue on the card's lock: the first inserts,
        # each later one finds its e-card here and answers the same (docs/ecards.md 3).
        replay = _replay(uow, channel, request, index)
        if replay is not None:
            return self._result(*replay, request, replayed=True)
        _check_level(channel, request.level, card)
        old = _supersede(uow, person.id, channel.client_id, now)
        row = _insert(uow, channel, request, person, card, old, now)
        _record_issue(uow.session, uow.request_id, channel, row, card, now)
        return self._result(row, card, request, replayed=False)

    def status(self, uow: UnitOfWork, channel: Channel, sign_no: str) -> dict[str, Any]:
        """E-card status, level, physical card status and production progress (制卡进度)."""
        return ecard_status(uow, channel, sign_no, self._now())

    def unbind(
        self, uow: UnitOfWork, channel: Channel, sign_no: str, request: UnbindRequest
    ) -> dict[str, Any]:
        """解除关联: needs the cardholder present, by PIN (checked here) or a fresh face check."""
        session, now = uow.session, self._now()
        row = find_own(uow, channel, sign_no, lock=True)
        if row.status != "active":
            raise Problem(
                409, "ecard-not-active", "The e-card is not active", ecard_status=row.status
            )
        factor = self.prove_presence(session, row, request, now)
        row.status, row.updated_at = "unbound", now
        row.evidence = {**row.evidence, "unbound": {"at": now, **factor}}
        _record_unbind(session, uow.request_id, channel, row, factor, now)
        return {"sign_no": row.sign_no, "status": row.status, "unbound_at": now}

    def prove_presence(
        self, session: Session, row: ECard, proof: PresenceProof, now: int
    ) -> dict[str, Any]:
        """The cardholder behind ``row`` is present: a fresh face check, or the PIN (a wrong
        one counts toward the lockout, and ``FactorRefused`` keeps that count)."""
        if proof.factor == "face":
            assert proof.face_verified_at is not None
            _check_face_time(proof.face_verified_at, now)
            return {"factor": "face", "face_verified_at": proof.face_verified_at}
        person = session.get(Person, row.person_id)
        result = self._cardholders.check_pin(session, person, proof.pin or "")
        if result.locked:
            raise FactorRefused(423, "pin-locked", "Too many wrong PINs; the PIN is locked for now")
        if not result.ok:
            raise FactorRefused(403, "factor-failed", "The PIN is not correct")
        return {"factor": "pin"}

    def _result(
        self, row: ECard, card: SocialSecurityCard, request: IssueRequest, *, replayed: bool
    ) -> IssuedECard:
        credential = ecard_credential.build(
            ecard_credential.CredentialSubject(
                sign_no=row.sign_no,
                jti=row.credential_jti or row.sign_no,
                issued_at=row.issued_at,
                level=row.level,
                client_id=row.client_id,
                name=request.name,
                id_number=request.id_number,
                card_number=card.card_number,
                region_code=request.region_code,
            ),
            issuer=self._issuer,
            sign=self._sign,
            keyed_hash=self._keyed_hash,
        )
        return IssuedECard(
            row.sign_no,
            row.level,
            row.status,
            row.issued_at,
            credential.combined,
            row.supersedes,
            replayed,
        )


# -- issuance steps --------------------------------------------------------------------------
def _replay(
    uow: UnitOfWork, channel: Channel, request: IssueRequest, index: str
) -> tuple[ECard, SocialSecurityCard] | None:
    """Same idempotency key and same body: the e-card issued then; another body: 409."""
    row = uow.ecards.by_idempotency_key(channel.client_id, request.idempotency_key)
    if row is None:
        return None
    person = uow.session.get(Person, row.person_id)
    card = uow.cards.get(row.card_id)
    same = (
        person is not None
        and card is not None
        and person.id_number_index == index
        and person.name == request.name
        and card.region_code == request.region_code
        and row.channel_subject == request.channel_subject
        and row.level == request.level
        and row.evidence.get("real_name_level") == request.evidence.real_name_level
        and row.evidence.get("face_verified_at") == request.evidence.face_verified_at
    )
    if not same:
        raise Problem(
            409,
            "idempotency-key-reused",
            "This idempotency key was used with a different request",
            "Send a new idempotency_key for a new request.",
        )
    assert card is not None
    return row, card


def _check_face_time(face_verified_at: int, now: int) -> None:
    if not now - FACE_MAX_AGE <= face_verified_at <= now + FACE_SKEW:
        raise Problem(
            422,
            "stale-face-check",
            "The face check is too old or in the future",
            f"The face check must be at most {FACE_MAX_AGE} seconds old.",
            field="evidence.face_verified_at",
        )


def _match_cardholder(session: Session, request: IssueRequest, index: str) -> Person:
    person = session.scalar(select(Person).where(Person.id_number_index == index))
    if person is None or person.name != request.name:
        raise mismatch()
    return person


def _usable_card(
    uow: UnitOfWork, person: Person, request: IssueRequest, now: int
) -> SocialSecurityCard:
    found = uow.cards.primary_of(person.id)
    if found is None or found.region_code != request.region_code:
        raise mismatch()
    # Lock the card row: a suspension committing at the same moment either sees this e-card
    # (and notifies its channel) or is seen here (and refuses the issuance); so does another
    # issuance for this cardholder.
    card = uow.cards.hold(found.id)
    assert card is not None
    if status_at(card, now) != "normal":
        raise Problem(
            409,
            "card-not-usable",
            "The social security card cannot be used",
            "The card is suspended, cancelled or replaced; the cardholder must visit a counter.",
            card_status=status_at(card, now),
        )
    return card


def _check_level(channel: Channel, level: int, card: SocialSecurityCard) -> None:
    """Level 2 (payment and settlement) needs a payment channel and a linked bank account."""
    if level != 2:
        return
    if not channel.may_pay:
        raise Problem(
            403,
            "level-not-allowed",
            "This channel may not issue level 2 e-cards",
            "Level 2 needs a UnionPay or bank channel, or the essc.payment grant; "
            "a second-tier channel also needs its parent to have it.",
        )
    if not card.bank_account_linked:
        raise Problem(
            409,
            "bank-account-not-linked",
            "The card's bank account is not linked",
            "Level 2 needs the card's financial account activated at the bank.",
        )


def _supersede(uow: UnitOfWork, person_id: str, client_id: str, now: int) -> ECard | None:
    """One active e-card per person per channel: the old one is superseded first."""
    old = uow.ecards.active_of(person_id, client_id)
    if old is not None:
        uow.ecards.supersede(old, now)
    return old


def _insert(
    uow: UnitOfWork,
    channel: Channel,
    request: IssueRequest,
    person: Person,
    card: SocialSecurityCard,
    old: ECard | None,
    now: int,
) -> ECard:
    """The new e-card. The unique indexes refuse a second row for the idempotency key, and a
    second active e-card for the cardholder in this channel: the loser's transaction rolls back
    whole and it answers ``409 concurrent-issuance``; its retry finds the winner's e-card."""
    row = ECard(
        sign_no=secrets.token_urlsafe(32),
        person_id=person.id,
        card_id=card.id,
        client_id=channel.client_id,
        channel_subject=request.channel_subject,
        level=request.level,
        status="active",
        evidence=request.evidence.as_json(),
        credential_jti=secrets.token_urlsafe(16),
        issued_at=now,
        updated_at=now,
        idempotency_key=request.idempotency_key,
        supersedes=old.sign_no if old else None,
    )
    if not uow.ecards.add(row):
        raise Problem(
            409,
            "concurrent-issuance",
            "Another issuance for this cardholder is in progress",
            "Retry the request with the same idempotency_key.",
        )
    return row


# -- queries ---------------------------------------------------------------------------------
def find_own(uow: UnitOfWork, channel: Channel, sign_no: str, *, lock: bool = False) -> ECard:
    """The channel's own e-card; anyone else's is indistinguishable from none (404)."""
    if not SIGN_NO.fullmatch(sign_no):
        raise Problem(404, "ecard-not-found", "No such e-card for this channel")
    row = uow.ecards.own(channel.client_id, sign_no, lock=lock)
    if row is None:
        raise Problem(404, "ecard-not-found", "No such e-card for this channel")
    return row


def ecard_status(uow: UnitOfWork, channel: Channel, sign_no: str, now: int) -> dict[str, Any]:
    """E-card status, level, physical card status and production progress (制卡进度)."""
    row = find_own(uow, channel, sign_no)
    card = uow.cards.get(row.card_id)
    assert card is not None  # a foreign key
    return {
        "sign_no": row.sign_no,
        "status": row.status,
        "level": row.level,
        "channel_subject": row.channel_subject,
        "issued_at": row.issued_at,
        "updated_at": row.updated_at,
        "card": {
            "status": status_at(card, now),
            "card_number_masked": mask_card_number(card.card_number),
            "region_code": card.region_code,
            "suspended_until": card.suspended_until,
            "production_stage": card.production_stage,
            "production_updated_at": card.production_updated_at,
            "bank_account_linked": card.bank_account_linked,
        },
    }


# -- what issuance and unbinding record, in the same transaction ------------------------------
def _record_issue(
    session: Session,
    request_id: str | None,
    channel: Channel,
    row: ECard,
    card: SocialSecurityCard,
    now: int,
) -> None:
    superseded = row.supersedes
    record_event(
        session,
        "ecard.issued",
        at=now,
        actor=channel.client_id,
        person_id=row.person_id,
        client_id=channel.client_id,
        request_id=request_id,
        sign_no=row.sign_no,
        level=row.level,
        supersedes=superseded,
        evidence=row.evidence,
    )
    payload = {"sign_no": row.sign_no, "level": row.level, "supersedes": superseded}
    enqueue(
        session,
        client_id=channel.client_id,
        ordering_key=card.id,
        event="ecard.issued",
        payload=payload,
        now=now,
    )


def _record_unbind(
    session: Session,
    request_id: str | None,
    channel: Channel,
    row: ECard,
    factor: dict[str, Any],
    now: int,
) -> None:
    record_event(
        session,
        "ecard.unbound",
        at=now,
        actor=channel.client_id,
        person_id=row.person_id,
        client_id=channel.client_id,
        request_id=request_id,
        sign_no=row.sign_no,
        **factor,
    )
    enqueue(
        session,
        client_id=channel.client_id,
        ordering_key=row.card_id,
        event="ecard.unbound",
        payload={"sign_no": row.sign_no, "factor": factor["factor"]},
        now=now,
    )
