"""Online redemption of a scanned QR code: once, audited, answering only what the verifier may see.

A merchant (a hospital, a pharmacy, a shop, a transit operator) has verified a code and asks to
redeem it. The code is spent by one ``INSERT ... ON CONFLICT DO NOTHING`` on its code id (the
primary key of ``qr_redemptions``): of any number of concurrent redemptions exactly one gets the
row back; every other one, and every later replay, is refused naming when the code was first
used. A payment authorization spends its payment code the same way (``idp.payments``).

What the answer holds depends on the purpose: a hospital or pharmacy settles with the
cardholder's name and masked card number (``medical``); an identity check sees the masked name
(``identity``); a shop and a transit gate get an opaque reference, never the person
(``payment``, ``transit``). The audit event is written in the same transaction. No Flask here.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from idp.cardholders.gb11643 import mask_card_number
from idp.channel_auth.caller import Channel
from idp.ecards.requests import invalid
from idp.errors import Problem
from idp.events.audit import record_event
from idp.store.ecards import ECard
from idp.store.payments import QrRedemption
from idp.store.people import Person
from idp.store.people import SocialSecurityCard
from idp.store.people import status_at

PURPOSES = ("identity", "medical", "payment", "transit")
#: A scanned code as text: QR alphanumeric mode's characters (Base45, RFC 9285), bounded well
#: above the most a version 8 code at error correction M holds (221 characters).
CODE = re.compile(r"[0-9A-Z $%*+\-./:]{1,512}")


@dataclass(frozen=True)
class RedemptionRequest:
    code: str
    purpose: str


def parse_redemption(body: object) -> RedemptionRequest:
    """``{"code": "...", "purpose": "medical"}``: the purpose the verifier expects."""
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object")
    if set(body) - {"code", "purpose"}:
        raise invalid("body", "has an unknown member")
    code, purpose = body.get("code"), body.get("purpose")
    if purpose not in PURPOSES:
        raise invalid("purpose", "must be identity, medical, payment or transit")
    if not isinstance(code, str) or not CODE.fullmatch(code):
        raise invalid("code", "is missing or has the wrong shape")
    return RedemptionRequest(code, str(purpose))


@dataclass(frozen=True)
class ScannedCode:
    """A code whose signature, expiry and purpose were verified (``idp.qr`` opens it)."""

    code_id: str
    purpose: str
    sign_no: str
    #: The rows opening read, kept alive for the transaction (``OpenedCode.rows``).
    rows: tuple[object, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Holder:
    """The e-card behind a code, checked usable now: active, and its card normal. The person is
    read only by the purposes that show them (``person``); the e-card's foreign key already
    says they exist."""

    ecard: ECard
    card: SocialSecurityCard

    @property
    def person_id(self) -> str:
        return self.ecard.person_id

    def person(self, session: Session) -> Person:
        person = session.get(Person, self.ecard.person_id)
        if person is None:
            raise not_usable()
        return person


def not_usable() -> Problem:
    return Problem(409, "ecard-not-usable", "The e-card behind this code is not active")


def usable_holder(session: Session, sign_no: str, now: int) -> Holder:
    """A suspended, cancelled or replaced card stops its outstanding codes at once (item 6)."""
    ecard = session.get(ECard, sign_no)
    card = session.get(SocialSecurityCard, ecard.card_id) if ecard is not None else None
    if ecard is None or card is None or ecard.status != "active":
        raise not_usable()
    if status_at(card, now) != "normal":
        raise Problem(
            409,
            "card-not-usable",
            "The social security card cannot be used",
            "The card behind this code is suspended, cancelled or replaced.",
            card_status=status_at(card, now),
        )
    return Holder(ecard, card)


def spend(
    session: Session, code: ScannedCode, client_id: str, reference: str, now: int
) -> QrRedemption | None:
    """Spend the code; None if it was spent before (or a concurrent redemption just did).

    On PostgreSQL a concurrent insert of the same code id waits for the other transaction and
    then does nothing if it committed; SQLite has one writer. Either way one row comes back.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(QrRedemption)
        .values(
            code_id=code.code_id,
            purpose=code.purpose,
            client_id=client_id,
            sign_no=code.sign_no,
            reference=reference,
            redeemed_at=now,
        )
        .on_conflict_do_nothing(index_elements=[QrRedemption.code_id])
        .returning(QrRedemption)  # the new row itself: no second read of it
    )
    found: QrRedemption | None = session.scalars(statement).first()
    return found


def already_redeemed(session: Session, code_id: str) -> Problem:
    """The replay refusal names when the code was first used, never by whom."""
    first = session.scalar(select(QrRedemption.redeemed_at).where(QrRedemption.code_id == code_id))
    return Problem(
        409,
        "code-already-redeemed",
        "This code was already used",
        "A QR code is redeemed once; ask the holder to show a fresh code.",
        first_redeemed_at=first,
    )


def new_reference(prefix: str) -> str:
    """An opaque reference (22 random URL-safe characters after the prefix)."""
    return prefix + secrets.token_urlsafe(16)


def redeem(
    session: Session, merchant: Channel, code: ScannedCode, *, now: int, request_id: str | None
) -> dict[str, Any]:
    """Redeem once, audit, and answer what a verifier of this purpose may see."""
    holder = usable_holder(session, code.sign_no, now)
    redemption = spend(session, code, merchant.client_id, new_reference("rd_"), now)
    if redemption is None:
        raise already_redeemed(session, code.code_id)
    record_event(
        session,
        "qr.redeemed",
        at=now,
        actor=merchant.client_id,
        person_id=holder.person_id,
        client_id=merchant.client_id,
        request_id=request_id,
        code_id=code.code_id,
        purpose=code.purpose,
        sign_no=code.sign_no,
        reference=redemption.reference,
    )
    return {
        "redemption_id": redemption.reference,
        "purpose": code.purpose,
        "redeemed_at": now,
        **visible_to_verifier(session, code.purpose, holder, redemption.reference),
    }


def visible_to_verifier(
    session: Session, purpose: str, holder: Holder, reference: str
) -> dict[str, Any]:
    if purpose == "medical":  # medical insurance settlement needs who and which card
        return {
            "name": holder.person(session).name,
            "card_number_masked": mask_card_number(holder.card.card_number),
        }
    if purpose == "identity":
        return {"name_masked": mask_name(holder.person(session).name)}
    if purpose == "payment":
        return {"payment_reference": reference}
    return {"transit_reference": reference}


def mask_name(name: str) -> str:
    """``张*``, ``欧**``: the first character only (for most names, part of the family name)."""
    return name[:1] + "*" * max(len(name) - 1, 1)
