"""What a merchant does with a payment after authorizing it: look, capture, reverse, refund.

Every state change is one conditional update (``idp.payments.states``); a refund raises
``refunded_fen`` only while it stays within ``captured_fen`` (one conditional ``UPDATE``,
backed by the table's ``CHECK``), and one refund per (merchant, idempotency key), answered
the same on a retry. Each runs in the caller's one transaction with its audit record.
No Flask here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from idp.channel_auth.caller import Channel
from idp.errors import Problem
from idp.payments import limits as daily
from idp.payments import states
from idp.payments.answers import Answer
from idp.payments.answers import Policy
from idp.payments.answers import audit
from idp.payments.answers import key_reused
from idp.payments.answers import not_found
from idp.payments.answers import payment_json
from idp.payments.answers import refused
from idp.payments.requests import PAYMENT_ID
from idp.payments.requests import Refund
from idp.qr.redemption import new_reference
from idp.store.ecards import ECard
from idp.store.payments import Payment
from idp.store.payments import PaymentRefund


def own_payment(session: Session, merchant: Channel, payment_id: str) -> Payment:
    if not PAYMENT_ID.fullmatch(payment_id):
        raise not_found()
    payment = session.scalar(
        select(Payment)
        .where(Payment.id == payment_id, Payment.client_id == merchant.client_id)
        .execution_options(populate_existing=True)
    )
    if payment is None:
        raise not_found()
    return payment


def _person_of(session: Session, payment: Payment) -> str | None:
    return session.scalar(select(ECard.person_id).where(ECard.sign_no == payment.sign_no))


def current(session: Session, merchant: Channel, payment_id: str, now: int) -> dict[str, Any]:
    """The payment now (the merchant polls a pending one)."""
    payment = expire_if_due(session, own_payment(session, merchant, payment_id), now)
    return payment_json(payment)


def expire_if_due(session: Session, payment: Payment, now: int) -> Payment:
    """A pending payment whose PIN did not come in time is declined."""
    if payment.state != states.PENDING or payment.confirm_by is None or payment.confirm_by > now:
        return payment
    declined = states.apply(
        session,
        payment.id,
        states.TRANSITIONS["decline"],
        now=now,
        when=(Payment.confirm_by <= now,),
        decline_reason="confirmation_expired",
    )
    if declined is None:  # confirmed or reversed a moment ago
        return session.get(Payment, payment.id, populate_existing=True) or payment
    audit(session, declined, _person_of(session, declined), None, now, actor="system")
    return declined


def capture(
    session: Session, merchant: Channel, payment_id: str, *, now: int, request_id: str | None
) -> dict[str, Any]:
    payment = own_payment(session, merchant, payment_id)
    done = states.apply(
        session,
        payment.id,
        states.TRANSITIONS["capture"],
        now=now,
        captured_fen=Payment.amount_fen,
        captured_at=now,
    )
    if done is None:
        payment = own_payment(session, merchant, payment_id)
        if payment.captured_fen > 0:  # captured before: a retry gets the payment
            return payment_json(payment)
        raise refused("capture", payment.state)
    audit(session, done, _person_of(session, done), request_id, now, actor=merchant.client_id)
    return payment_json(done)


def reverse(
    session: Session,
    merchant: Channel,
    payment_id: str,
    policy: Policy,
    *,
    now: int,
    request_id: str | None,
) -> dict[str, Any]:
    """Void an uncaptured payment within the window; an authorized one gives its amount back
    to the holder's daily limit."""
    payment = own_payment(session, merchant, payment_id)
    opened = now - policy.reversal_seconds
    done = states.apply(
        session,
        payment.id,
        states.TRANSITIONS["reverse"],
        now=now,
        when=(Payment.created_at >= opened,),
    )
    if done is None:
        payment = own_payment(session, merchant, payment_id)
        if payment.state == states.REVERSED:
            return payment_json(payment)
        if payment.state in states.TRANSITIONS["reverse"].sources:
            raise Problem(
                409,
                "reversal-window-closed",
                "The payment can no longer be reversed",
                f"A payment may be reversed for {policy.reversal_seconds} seconds.",
                state=payment.state,
            )
        raise refused("reverse", payment.state)
    if done.authorized_at is not None and done.spend_day is not None:
        daily.release(session, done.sign_no, done.spend_day, done.amount_fen)
    audit(session, done, _person_of(session, done), request_id, now, actor=merchant.client_id)
    return payment_json(done)


def refund(
    session: Session,
    merchant: Channel,
    payment_id: str,
    request: Refund,
    *,
    now: int,
    request_id: str | None,
) -> Answer:
    """Refund part or all of what was captured; the same key is the same refund."""
    payment = own_payment(session, merchant, payment_id)
    refund_id = _claim_refund(session, merchant, payment, request, now)
    if isinstance(refund_id, Answer):
        return refund_id
    done = _add_refund(session, payment.id, request.amount_fen, now)
    if done is None:
        raise _not_refundable(own_payment(session, merchant, payment_id), request.amount_fen)
    answer = {
        "refund_id": refund_id,
        "payment_id": done.id,
        "amount_fen": request.amount_fen,
        "created_at": now,
        "payment": payment_json(done),
    }
    row = session.get(PaymentRefund, refund_id)
    assert row is not None
    row.answer = answer
    audit(
        session,
        done,
        _person_of(session, done),
        request_id,
        now,
        actor=merchant.client_id,
        refund_id=refund_id,
        refund_fen=request.amount_fen,
    )
    return Answer(201, answer)


def _claim_refund(
    session: Session, merchant: Channel, payment: Payment, request: Refund, now: int
) -> str | Answer:
    """The new refund's id, or the first answer of the refund this key already made."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    refund_id = new_reference("rf_")
    claimed = session.scalar(
        insert(PaymentRefund)
        .values(
            id=refund_id,
            payment_id=payment.id,
            client_id=merchant.client_id,
            idempotency_key=request.idempotency_key,
            amount_fen=request.amount_fen,
            created_at=now,
            answer={},
        )
        .on_conflict_do_nothing(
            index_elements=[PaymentRefund.client_id, PaymentRefund.idempotency_key]
        )
        .returning(PaymentRefund.id)
    )
    if claimed is not None:
        return refund_id
    first = session.scalar(
        select(PaymentRefund).where(
            PaymentRefund.client_id == merchant.client_id,
            PaymentRefund.idempotency_key == request.idempotency_key,
        )
    )
    same = first is not None and (first.payment_id, first.amount_fen) == (
        payment.id,
        request.amount_fen,
    )
    if first is None or not same:
        raise key_reused()
    return Answer(201, dict(first.answer), replayed=True)


def _add_refund(session: Session, payment_id: str, amount: int, now: int) -> Payment | None:
    refundable = states.TRANSITIONS["refund_part"].sources
    full = Payment.refunded_fen + amount == Payment.captured_fen
    statement = (
        update(Payment)
        .where(Payment.id == payment_id, Payment.state.in_(sorted(refundable)))
        .where(Payment.refunded_fen + amount <= Payment.captured_fen)
        .values(
            refunded_fen=Payment.refunded_fen + amount,
            state=case((full, states.REFUNDED), else_=states.PARTIALLY_REFUNDED),
            updated_at=now,
        )
        .returning(Payment)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return session.scalars(statement).one_or_none()


def _not_refundable(payment: Payment, amount: int) -> Problem:
    if payment.state not in states.TRANSITIONS["refund_part"].sources:
        return refused("refund", payment.state)
    return Problem(
        409,
        "refund-exceeds-captured",
        "The refund is more than is left to refund",
        "Refunds of a payment never add up to more than was captured.",
        refundable_fen=payment.captured_fen - payment.refunded_fen,
    )
