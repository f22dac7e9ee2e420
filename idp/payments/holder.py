"""The holder's side of scan-to-pay, through their channel: their payments, and the PIN that
confirms a payment above the no-PIN limit (charged to the daily limit atomically). No Flask
here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.cardholders.service import check_pin
from idp.channel_auth.caller import Channel
from idp.ecards.service import FactorRefused
from idp.ecards.service import find_own
from idp.errors import Problem
from idp.payments import limits as daily
from idp.payments import states
from idp.payments.answers import Policy
from idp.payments.answers import audit
from idp.payments.answers import channel_json
from idp.payments.lifecycle import expire_if_due
from idp.payments.requests import PAYMENT_ID
from idp.qr.redemption import usable_holder
from idp.store.channels import ChannelRow
from idp.store.payments import Payment
from idp.store.people import Person
from idp.store.unit_of_work import UnitOfWork

#: Payments a channel lists per page.
PAGE = 50


def holder_payments(
    uow: UnitOfWork, channel: Channel, sign_no: str, *, now: int, before: int | None = None
) -> dict[str, Any]:
    """The e-card's payments, newest first, ``PAGE`` at a time (``before``: a created_at)."""
    session = uow.session
    find_own(uow, channel, sign_no)
    query = (
        select(Payment, ChannelRow.name)
        .join(ChannelRow, ChannelRow.client_id == Payment.client_id, isouter=True)
        .where(Payment.sign_no == sign_no)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(PAGE)
    )
    if before is not None:
        query = query.where(Payment.created_at < before)
    rows = session.execute(query).all()
    payments = [channel_json(expire_if_due(session, p, now), name) for p, name in rows]
    more = len(payments) == PAGE
    return {"payments": payments, "next_before": payments[-1]["created_at"] if more else None}


def confirm(
    uow: UnitOfWork,
    channel: Channel,
    sign_no: str,
    payment_id: str,
    pin: str,
    policy: Policy,
    *,
    now: int,
) -> dict[str, Any]:
    """The holder's PIN, relayed by the channel, turns a pending payment into an authorized
    one, charged to today's limit; a locked PIN declines it."""
    session, request_id = uow.session, uow.request_id
    ecard = find_own(uow, channel, sign_no)
    payment = _pending_of(session, sign_no, payment_id, now)
    usable_holder(session, sign_no, now)
    person = session.get(Person, ecard.person_id)
    result = check_pin(
        session,
        person,
        pin,
        policy.pin_hasher,
        now=now,
        max_failures=policy.pin_max_failures,
        lockout_seconds=policy.pin_lockout_seconds,
    )
    if result.locked:
        _decline(session, payment, "pin_locked", ecard.person_id, request_id, now)
        raise FactorRefused(423, "pin-locked", "Too many wrong PINs; the payment is declined")
    if not result.ok:
        raise FactorRefused(403, "factor-failed", "The PIN is not correct")
    day = daily.china_day(now)
    if not daily.charge(session, sign_no, day, payment.amount_fen, policy.daily_limit_fen):
        declined = _decline(
            session, payment, "daily_limit_exceeded", ecard.person_id, request_id, now
        )
        return channel_json(declined, _merchant_name(session, payment))
    done = states.apply(
        session,
        payment.id,
        states.TRANSITIONS["confirm"],
        now=now,
        when=(Payment.confirm_by > now,),
        authorized_at=now,
        spend_day=day,
    )
    if done is None:  # reversed or expired meanwhile: the charge above rolls back with this
        raise Problem(409, "payment-not-pending", "The payment no longer waits for a PIN")
    audit(session, done, ecard.person_id, request_id, now, actor=channel.client_id, factor="pin")
    return channel_json(done, _merchant_name(session, done))


def _pending_of(session: Session, sign_no: str, payment_id: str, now: int) -> Payment:
    payment = (
        session.scalar(select(Payment).where(Payment.id == payment_id, Payment.sign_no == sign_no))
        if PAYMENT_ID.fullmatch(payment_id)
        else None
    )
    if payment is None:
        raise Problem(404, "payment-not-found", "No such payment for this e-card")
    payment = expire_if_due(session, payment, now)
    if payment.state != states.PENDING:
        raise Problem(
            409,
            "payment-not-pending",
            "The payment no longer waits for a PIN",
            state=payment.state,
            decline_reason=payment.decline_reason,
        )
    return payment


def _decline(
    session: Session,
    payment: Payment,
    reason: str,
    person_id: str,
    request_id: str | None,
    now: int,
) -> Payment:
    declined = states.apply(
        session, payment.id, states.TRANSITIONS["decline"], now=now, decline_reason=reason
    )
    if declined is None:
        raise Problem(409, "payment-not-pending", "The payment no longer waits for a PIN")
    audit(session, declined, person_id, request_id, now, actor="system")
    return declined


def _merchant_name(session: Session, payment: Payment) -> str | None:
    return session.scalar(select(ChannelRow.name).where(ChannelRow.client_id == payment.client_id))
