"""The ``query_benefits`` power (issue 11 item 2: "query the principal's benefits and
payments"; docs/family.md "Benefits and payments"): what a relative may read for the principal,
and nothing more. No Flask here; the view reads it inside the request's one transaction.

What the product holds about a person's benefits is their pension eligibility certification
(``idp.family.pension``) and the payments made with their e-cards (``idp.payments``). The
answer is masked to what the power is for: the certification's state and dates (not its id or
evidence), and per payment when, how much, its state and who was paid; never a payment or code
id, the merchant's order number, an e-card's ``sign_no``, a card or ID number.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from idp.family.pension import Pension
from idp.payments.service import expire_if_due
from idp.store.channels import ChannelRow
from idp.store.ecards import ECard
from idp.store.payments import Payment
from idp.store.unit_of_work import UnitOfWork

POWER = "query_benefits"
#: The newest payments shown; the principal's own channel keeps the full list.
PAYMENTS = 20


def benefits(uow: UnitOfWork, pension: Pension, principal_id: str, now: int) -> dict[str, Any]:
    return {
        "pension_certification": _certification(uow, pension, principal_id),
        "payments": _payments(uow, principal_id, now),
    }


def _certification(uow: UnitOfWork, pension: Pension, principal_id: str) -> dict[str, Any]:
    standing = pension.standing(uow, principal_id)
    view: dict[str, Any] = {"state": standing.state.value}
    if standing.row is not None:
        row = standing.row
        view |= {
            "certified_at": row.certified_at,
            "valid_until": row.valid_until,
            "method": row.method,
        }
    return view


def _payments(uow: UnitOfWork, principal_id: str, now: int) -> list[dict[str, Any]]:
    session = uow.session
    rows = session.execute(
        select(Payment, ChannelRow.name)
        .join(ECard, ECard.sign_no == Payment.sign_no)
        .join(ChannelRow, ChannelRow.client_id == Payment.client_id, isouter=True)
        .where(ECard.person_id == principal_id)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(PAYMENTS)
    ).all()
    return [_payment(expire_if_due(session, payment, now), name) for payment, name in rows]


def _payment(payment: Payment, merchant: str | None) -> dict[str, Any]:
    return {
        "at": payment.created_at,
        "amount_fen": payment.amount_fen,
        "currency": payment.currency,
        "state": payment.state,
        "refunded_fen": payment.refunded_fen,
        "merchant": merchant,
    }
