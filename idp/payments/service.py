"""Scan-to-pay: a merchant charges a payment code; the holder confirms large payments by PIN.

Each operation runs in the caller's one transaction, so a payment, the code it spent, the
holder's daily spend, its audit event and its outbox notification commit or roll back together.
Exactly-once comes from constraints and conditional updates (``idp.store.payments``), never
from a read followed by a write:

- the idempotency key: the first payment for (merchant, key) is looked up first; a concurrent
  twin that spends the same code second waits on the code's primary key, finds the winner's
  payment and answers with the winner's first answer;
- the code: spent once (``idp.qr.redemption.spend``), whatever the key;
- the daily limit: one conditional counter update (``idp.payments.limits``);
- every state change: one conditional update (``idp.payments.states``); a refund raises
  ``refunded_fen`` only while it stays within ``captured_fen``.

Refusals are RFC 7807 ``Problem``s and write nothing (except a wrong PIN's lockout count);
a declined payment is an answer, stored and replayed like any other. No Flask here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.cardholders.pin import PinHasher
from idp.cardholders.service import check_pin
from idp.channel_auth.caller import Channel
from idp.ecards.service import FactorRefused
from idp.ecards.service import find_own
from idp.errors import Problem
from idp.events.audit import record_event
from idp.events.outbox import enqueue
from idp.payments import limits as daily
from idp.payments import states
from idp.payments.requests import PAYMENT_ID
from idp.payments.requests import Authorization
from idp.payments.requests import Refund
from idp.qr.redemption import ScannedCode
from idp.qr.redemption import already_redeemed
from idp.qr.redemption import new_reference
from idp.qr.redemption import spend
from idp.qr.redemption import usable_holder
from idp.store.channels import ChannelRow
from idp.store.ecards import ECard
from idp.store.payments import Payment
from idp.store.payments import PaymentRefund
from idp.store.people import Person
from idp.store.unit_of_work import UnitOfWork

#: Payments a channel lists per page.
PAGE = 50


@dataclass(frozen=True)
class Policy:
    """The limits and windows of ``idp.settings`` (``payment_*``), plus the PIN policy."""

    no_pin_limit_fen: int
    daily_limit_fen: int
    confirmation_seconds: int
    reversal_seconds: int
    pin_hasher: PinHasher
    pin_max_failures: int
    pin_lockout_seconds: int


@dataclass(frozen=True)
class Answer:
    """An HTTP answer to replay: the status and body the merchant first got."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def not_found() -> Problem:
    """Another merchant's payment is indistinguishable from none."""
    return Problem(404, "payment-not-found", "No such payment for this merchant")


def refused(action: str, state: str) -> Problem:
    return Problem(
        409,
        "transition-refused",
        f"A {state} payment cannot be {action}d",
        "docs/payments.md lists which state allows which operation.",
        state=state,
    )


def key_reused() -> Problem:
    return Problem(
        422,
        "idempotency-key-reused",
        "This idempotency key was used with a different request",
        "Send a new Idempotency-Key for a new request; a retry must repeat the request exactly.",
    )


# -- the merchant's view ---------------------------------------------------------------------
def payment_json(payment: Payment) -> dict[str, Any]:
    """What the merchant sees: the payment, never the person."""
    body: dict[str, Any] = {
        "payment_id": payment.id,
        "state": payment.state,
        "amount_fen": payment.amount_fen,
        "currency": payment.currency,
        "merchant_order_id": payment.merchant_order_id,
        "captured_fen": payment.captured_fen,
        "refunded_fen": payment.refunded_fen,
        "created_at": payment.created_at,
        "updated_at": payment.updated_at,
    }
    optional = {
        "description": payment.description,
        "authorized_at": payment.authorized_at,
        "captured_at": payment.captured_at,
        "decline_reason": payment.decline_reason,
        "confirm_by": payment.confirm_by if payment.state == states.PENDING else None,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


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


# -- authorization ---------------------------------------------------------------------------
def authorize(
    session: Session,
    merchant: Channel,
    request: Authorization,
    open_code: Callable[[], ScannedCode],
    policy: Policy,
    *,
    now: int,
    request_id: str | None,
) -> Answer:
    """Charge a payment code. A retry with the key answers as the first call did, even once
    the code has expired; so the key is looked up before the code is opened."""
    replay = _replay(session, merchant, request)
    if replay is not None:
        return replay
    code = open_code()
    holder = usable_holder(session, code.sign_no, now)
    payment_id = new_reference("py_")
    if spend(session, code, merchant.client_id, payment_id, now) is None:
        replay = _replay(session, merchant, request)  # a concurrent twin spent it: its answer
        if replay is not None:
            return replay
        raise already_redeemed(session, code.code_id)
    payment, answer = _insert(session, merchant, request, code, payment_id, policy, now)
    _audit(session, payment, holder.person_id, request_id, now, actor=merchant.client_id)
    if payment.state == states.PENDING:
        _ask_holder(session, holder.ecard, payment, merchant)
    return answer


def _replay(session: Session, merchant: Channel, request: Authorization) -> Answer | None:
    found = session.scalar(
        select(Payment).where(
            Payment.client_id == merchant.client_id,
            Payment.idempotency_key == request.idempotency_key,
        )
    )
    if found is None:
        return None
    if found.request_hash != request.fingerprint or found.first_answer is None:
        raise key_reused()
    first = found.first_answer
    return Answer(int(first["status"]), dict(first["body"]), replayed=True)


def _insert(
    session: Session,
    merchant: Channel,
    request: Authorization,
    code: ScannedCode,
    payment_id: str,
    policy: Policy,
    now: int,
) -> tuple[Payment, Answer]:
    """The payment and its first answer, written by one INSERT (the answer is known before)."""
    day = daily.china_day(now)
    state, reason = _first_state(session, code.sign_no, request.amount_fen, policy, day)
    payment = Payment(
        id=payment_id,
        client_id=merchant.client_id,
        idempotency_key=request.idempotency_key,
        request_hash=request.fingerprint,
        merchant_order_id=request.merchant_order_id,
        description=request.description,
        code_id=code.code_id,
        sign_no=code.sign_no,
        amount_fen=request.amount_fen,
        currency=request.currency,
        state=state,
        decline_reason=reason,
        captured_fen=0,
        refunded_fen=0,
        spend_day=day if state == states.AUTHORIZED else None,
        created_at=now,
        updated_at=now,
        authorized_at=now if state == states.AUTHORIZED else None,
        confirm_by=now + policy.confirmation_seconds if state == states.PENDING else None,
    )
    answer = Answer(201, payment_json(payment))
    payment.first_answer = {"status": answer.status, "body": answer.body}
    session.add(payment)
    try:
        session.flush()
    except IntegrityError:  # the key, taken at this moment by a request with another code
        raise key_reused() from None
    return payment, answer


def _first_state(
    session: Session, sign_no: str, amount: int, policy: Policy, day: str
) -> tuple[str, str | None]:
    """Within the no-PIN limit: charged now. Above it: pending, unless it cannot fit today
    anyway (an early answer only; the PIN's confirmation charges atomically)."""
    if amount > policy.no_pin_limit_fen:
        if daily.spent_on(session, sign_no, day) + amount > policy.daily_limit_fen:
            return states.DECLINED, "daily_limit_exceeded"
        return states.PENDING, None
    if daily.charge(session, sign_no, day, amount, policy.daily_limit_fen):
        return states.AUTHORIZED, None
    return states.DECLINED, "daily_limit_exceeded"


def _ask_holder(session: Session, ecard: ECard, payment: Payment, merchant: Channel) -> None:
    """Tell the e-card's channel a payment waits for the holder's PIN."""
    name = session.scalar(select(ChannelRow.name).where(ChannelRow.client_id == merchant.client_id))
    enqueue(
        session,
        client_id=ecard.client_id,
        ordering_key=ecard.card_id,
        event="payment.pending_confirmation",
        payload={
            "sign_no": ecard.sign_no,
            "payment_id": payment.id,
            "amount_fen": payment.amount_fen,
            "currency": payment.currency,
            "merchant_name": name,
            "confirm_by": payment.confirm_by,
        },
        now=payment.created_at,
    )


def _audit(
    session: Session,
    payment: Payment,
    person_id: str | None,
    request_id: str | None,
    now: int,
    *,
    actor: str,
    **detail: Any,
) -> None:
    record_event(
        session,
        f"payment.{payment.state}",
        at=now,
        actor=actor,
        person_id=person_id,
        client_id=payment.client_id,
        request_id=request_id,
        payment_id=payment.id,
        amount_fen=payment.amount_fen,
        state=payment.state,
        sign_no=payment.sign_no,
        **detail,
    )


def _person_of(session: Session, payment: Payment) -> str | None:
    return session.scalar(select(ECard.person_id).where(ECard.sign_no == payment.sign_no))


# -- what the merchant does next -------------------------------------------------------------
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
    _audit(session, declined, _person_of(session, declined), None, now, actor="system")
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
    _audit(session, done, _person_of(session, done), request_id, now, actor=merchant.client_id)
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
    _audit(session, done, _person_of(session, done), request_id, now, actor=merchant.client_id)
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
    _audit(
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


# -- the holder's side, through their channel ------------------------------------------------
def channel_json(payment: Payment, merchant_name: str | None) -> dict[str, Any]:
    """What the holder sees in their channel: the payment and who was paid."""
    body = payment_json(payment)
    body.pop("merchant_order_id")
    return {**body, "merchant": {"client_id": payment.client_id, "name": merchant_name}}


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
    _audit(session, done, ecard.person_id, request_id, now, actor=channel.client_id, factor="pin")
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
    _audit(session, declined, person_id, request_id, now, actor="system")
    return declined


def _merchant_name(session: Session, payment: Payment) -> str | None:
    return session.scalar(select(ChannelRow.name).where(ChannelRow.client_id == payment.client_id))


# -- reconciliation --------------------------------------------------------------------------
def statement(session: Session, merchant: Channel, day: str, *, now: int) -> dict[str, Any]:
    """The merchant's day (China Standard Time), to reconcile with its own books: the payments
    created that day as they stand now, the captures and refunds made that day (of payments of
    any day), and the day's sums: money captured less money refunded is what settles."""
    start, end = daily.day_bounds(day)
    mine = Payment.client_id == merchant.client_id
    created = session.scalars(
        select(Payment)
        .where(mine, Payment.created_at >= start, Payment.created_at < end)
        .order_by(Payment.created_at, Payment.id)
    ).all()
    captures = session.scalars(
        select(Payment)
        .where(mine, Payment.captured_at >= start, Payment.captured_at < end)
        .order_by(Payment.captured_at, Payment.id)
    ).all()
    refunds = session.scalars(
        select(PaymentRefund)
        .where(PaymentRefund.client_id == merchant.client_id)
        .where(PaymentRefund.created_at >= start, PaymentRefund.created_at < end)
        .order_by(PaymentRefund.created_at, PaymentRefund.id)
    ).all()
    captured = sum(p.captured_fen for p in captures)
    refunded = sum(r.amount_fen for r in refunds)
    return {
        "merchant": merchant.client_id,
        "day": day,
        "utc_offset": "+08:00",
        "complete": now >= end,
        "generated_at": now,
        "payments": [payment_json(p) for p in created],
        "captures": [
            {"payment_id": p.id, "captured_fen": p.captured_fen, "captured_at": p.captured_at}
            for p in captures
        ],
        "refunds": [
            {
                "refund_id": r.id,
                "payment_id": r.payment_id,
                "amount_fen": r.amount_fen,
                "created_at": r.created_at,
            }
            for r in refunds
        ],
        "totals": {
            "payments": len(created),
            "authorized_fen": sum(p.amount_fen for p in created if p.state in states.SPENDING),
            "captured_fen": captured,
            "refunded_fen": refunded,
            "net_fen": captured - refunded,
        },
    }
