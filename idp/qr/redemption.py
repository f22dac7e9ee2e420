"""Online redemption of a scanned QR code: once, audited, answering only what the verifier may see.

A merchant (a hospital, a pharmacy, a shop, a transit operator) has verified a code and asks to
redeem it. The code is spent by one ``INSERT ... ON CONFLICT DO NOTHING`` on its code id (the
primary key of ``qr_redemptions``): of any number of concurrent redemptions exactly one gets the
row back; every other one, and every later replay, is refused naming when the code was first
used. A payment authorization spends its payment code the same way (``idp.payments``).

What the answer holds depends on the purpose: a hospital or pharmacy settles with the
cardholder's name and masked card number (``medical``); an identity check sees the masked name
(``identity``); a shop and a transit gate get an opaque reference, never the person
(``payment``, ``transit``). The audit event is written in the same transaction. Every
statement is precompiled Core (``idp.qr.redemption_sql``): a redemption is the code's opening
``SELECT``, the spending ``INSERT`` and the audit record. No Flask here.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from idp.cardholders.gb11643 import mask_card_number
from idp.channel_auth.caller import Channel
from idp.ecards.requests import invalid
from idp.errors import Problem
from idp.events.audit import record_event
from idp.qr import redemption_sql as sql

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
class Holder:
    """The e-card behind a code and what a verifier of some purposes may see, read with the
    code in one statement (``redemption_sql.HOLDER_BY_CODE``), checked usable by whoever read
    it: the e-card active, its card normal."""

    sign_no: str
    person_id: str
    #: The e-card's channel (a pending payment's notification goes there).
    client_id: str
    card_id: str
    card_number: str
    name: str


@dataclass(frozen=True)
class ScannedCode:
    """A code whose signature, expiry and purpose were verified (``idp.qr`` opens it)."""

    code_id: str
    purpose: str
    holder: Holder

    @property
    def sign_no(self) -> str:
        return self.holder.sign_no


def holder_of(row: Any) -> Holder:
    """A ``Holder`` from a row of ``HOLDER_BY_CODE`` or ``HOLDER_BY_SIGN_NO``."""
    return Holder(row.sign_no, row.person_id, row.client_id, row.card_id, row.card_number, row.name)


def not_usable() -> Problem:
    return Problem(409, "ecard-not-usable", "The e-card behind this code is not active")


def usable_holder(session: Session, sign_no: str, now: int) -> Holder:
    """A suspended, cancelled or replaced card stops its outstanding codes at once (item 6)."""
    row = session.execute(sql.HOLDER_BY_SIGN_NO, {"sign_no": sign_no, "now": now}).first()
    if row is None or row.ecard_status != "active" or row.card_number is None or row.name is None:
        raise not_usable()
    if row.card_status != "normal":
        raise Problem(
            409,
            "card-not-usable",
            "The social security card cannot be used",
            "The card behind this code is suspended, cancelled or replaced.",
            card_status=row.card_status,
        )
    return holder_of(row)


def spend(session: Session, code: ScannedCode, client_id: str, reference: str, now: int) -> bool:
    """Spend the code with ``reference``; False if it was spent before (or a concurrent
    redemption just did). One ``INSERT ... ON CONFLICT DO NOTHING RETURNING``
    (``redemption_sql.spend_statement``): exactly one caller gets the row back."""
    statement = sql.spend_statement(session.get_bind().dialect.name)
    values = {
        "code_id": code.code_id,
        "purpose": code.purpose,
        "client_id": client_id,
        "sign_no": code.sign_no,
        "reference": reference,
        "redeemed_at": now,
    }
    return session.execute(statement, values).first() is not None


def already_redeemed(session: Session, code_id: str) -> Problem:
    """The replay refusal names when the code was first used, never by whom."""
    first = session.execute(sql.FIRST_REDEEMED, {"code_id": code_id}).scalar()
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
    """Redeem once, audit, and answer what a verifier of this purpose may see. The code's
    e-card and card were checked usable when it was opened, in this transaction."""
    reference = new_reference("rd_")
    if not spend(session, code, merchant.client_id, reference, now):
        raise already_redeemed(session, code.code_id)
    holder = code.holder
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
        reference=reference,
    )
    return {
        "redemption_id": reference,
        "purpose": code.purpose,
        "redeemed_at": now,
        **visible_to_verifier(code.purpose, holder, reference),
    }


def visible_to_verifier(purpose: str, holder: Holder, reference: str) -> dict[str, Any]:
    if purpose == "medical":  # medical insurance settlement needs who and which card
        return {"name": holder.name, "card_number_masked": mask_card_number(holder.card_number)}
    if purpose == "identity":
        return {"name_masked": mask_name(holder.name)}
    if purpose == "payment":
        return {"payment_reference": reference}
    return {"transit_reference": reference}


def mask_name(name: str) -> str:
    """``张*``, ``欧**``: the first character only (for most names, part of the family name)."""
    return name[:1] + "*" * max(len(name) - 1, 1)
