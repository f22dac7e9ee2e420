"""Scan-to-pay authorization: a merchant charges a payment code, once per idempotency key.

The hot path of issue 9's benchmark, so every statement is precompiled SQLAlchemy Core (no
ORM flush, no identity map): the key's look-up, the code's opening ``SELECT``
(``idp.qr.redemption_sql``), the code's spending ``INSERT ... ON CONFLICT DO NOTHING``, the
daily limit's conditional upsert and the payment's ``INSERT`` with its first answer, then the
audit record at commit. Exactly-once comes from constraints, never from a read followed by a
write:

- the idempotency key: the first payment for (merchant, key) is looked up first; a concurrent
  twin that spends the same code second waits on the code's primary key, finds the winner's
  payment and answers with the winner's first answer; a twin with another code loses on the
  unique (merchant, key) index and is refused;
- the code: spent once (``idp.qr.redemption.spend``), whatever the key;
- the daily limit: one conditional counter upsert (``idp.payments.limits``).

A declined payment is an answer, stored and replayed like any other. No Flask here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.channel_auth.caller import Channel
from idp.events.outbox import enqueue
from idp.payments import charge_sql
from idp.payments import limits as daily
from idp.payments import states
from idp.payments.answers import Answer
from idp.payments.answers import Policy
from idp.payments.answers import audit
from idp.payments.answers import key_reused
from idp.payments.answers import payment_json
from idp.payments.requests import Authorization
from idp.qr.redemption import Holder
from idp.qr.redemption import ScannedCode
from idp.qr.redemption import already_redeemed
from idp.qr.redemption import new_reference
from idp.qr.redemption import spend
from idp.qr.redemption_sql import table_of
from idp.store.channels import ChannelRow
from idp.store.payments import Payment

_payments = Payment.__table__.c
#: The first payment of (merchant, key). Binds ``client_id`` and ``key``.
_BY_KEY = select(_payments.request_hash, _payments.first_answer).where(
    _payments.client_id == bindparam("client_id"),
    _payments.idempotency_key == bindparam("key"),
)
_INSERT = table_of(Payment).insert()
_MERCHANT_NAME = select(ChannelRow.__table__.c.name).where(
    ChannelRow.__table__.c.client_id == bindparam("client_id")
)


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
    the code has expired; so the key is looked up before the code is opened. Opening checked
    the code's e-card and card usable, in this transaction."""
    replay = _replay(session, merchant, request)
    if replay is not None:
        return replay
    code = open_code()
    payment_id = new_reference("py_")
    made = _spend_and_charge(session, merchant, request, code, payment_id, policy, now)
    if made is None:
        replay = _replay(session, merchant, request)  # a concurrent twin spent it: its answer
        if replay is not None:
            return replay
        raise already_redeemed(session, code.code_id)
    payment, answer = made
    audit(session, payment, code.holder.person_id, request_id, now, actor=merchant.client_id)
    if payment.state == states.PENDING:
        _ask_holder(session, code.holder, payment, merchant)
    return answer


def _replay(session: Session, merchant: Channel, request: Authorization) -> Answer | None:
    values = {"client_id": merchant.client_id, "key": request.idempotency_key}
    found = session.execute(_BY_KEY, values).first()
    if found is None:
        return None
    if found.request_hash != request.fingerprint or found.first_answer is None:
        raise key_reused()
    first: dict[str, Any] = found.first_answer
    return Answer(int(first["status"]), dict(first["body"]), replayed=True)


def _spend_and_charge(
    session: Session,
    merchant: Channel,
    request: Authorization,
    code: ScannedCode,
    payment_id: str,
    policy: Policy,
    now: int,
) -> tuple[Payment, Answer] | None:
    """Spend the code and write the payment with its first answer; None if the code was spent
    before. The ``Payment`` returned is transient, never added to the session: it only shapes
    the answer and the audit record. On PostgreSQL, within the no-PIN limit, one statement
    (``idp.payments.charge_sql``); else the code's ``INSERT``, the daily limit's upsert and the
    payment's ``INSERT``, one after the other."""
    day = daily.china_day(now)
    row = _Row(merchant, request, code, payment_id, policy, now, day)
    at_once = request.amount_fen <= policy.no_pin_limit_fen
    if at_once and session.get_bind().dialect.name == "postgresql":
        return _charge_at_once(session, row, policy)
    if not spend(session, code, merchant.client_id, payment_id, now):
        return None
    state = _first_state(session, row.sign_no, row.amount_fen, policy, day)
    payment, answer, values = row.outcome(*state)
    try:
        session.execute(_INSERT, values)
    except IntegrityError:  # the key, taken at this moment by a request with another code
        raise key_reused() from None
    return payment, answer


def _charge_at_once(session: Session, row: _Row, policy: Policy) -> tuple[Payment, Answer] | None:
    authorized = row.outcome(states.AUTHORIZED, None)
    declined = row.outcome(states.DECLINED, "daily_limit_exceeded")
    # Only the statement's own parameters: SQLAlchemy would take another key named as a column
    # of a table the statement writes for a value to set.
    values = {
        **{name: authorized[2][name] for name in charge_sql.SAME},
        "purpose": row.purpose,
        "day": row.day,
        "limit": policy.daily_limit_fen,
        "answer_authorized": authorized[2]["first_answer"],
        "answer_declined": declined[2]["first_answer"],
    }
    try:
        state = session.execute(charge_sql.CHARGE, values).scalar()
    except IntegrityError:  # the key, taken at this moment by a request with another code
        raise key_reused() from None
    if state is None:
        return None
    payment, answer, _ = authorized if state == states.AUTHORIZED else declined
    return payment, answer


class _Row:
    """The payment's columns but its outcome, which the daily limit decides."""

    def __init__(
        self,
        merchant: Channel,
        request: Authorization,
        code: ScannedCode,
        payment_id: str,
        policy: Policy,
        now: int,
        day: str,
    ) -> None:
        self.sign_no, self.purpose, self.day = code.sign_no, code.purpose, day
        self.amount_fen = request.amount_fen
        self._confirm_by = now + policy.confirmation_seconds
        self._now = now
        self._values: dict[str, Any] = dict(
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
            captured_fen=0,
            refunded_fen=0,
            created_at=now,
            updated_at=now,
            captured_at=None,
        )

    def outcome(self, state: str, reason: str | None) -> tuple[Payment, Answer, dict[str, Any]]:
        """The payment in ``state``, its first answer, and the row's values with the answer."""
        authorized = state == states.AUTHORIZED
        values = {
            **self._values,
            "state": state,
            "decline_reason": reason,
            "spend_day": self.day if authorized else None,
            "authorized_at": self._now if authorized else None,
            "confirm_by": self._confirm_by if state == states.PENDING else None,
        }
        payment = Payment(**values)
        answer = Answer(201, payment_json(payment))
        values["first_answer"] = {"status": answer.status, "body": answer.body}
        return payment, answer, values


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


def _ask_holder(session: Session, holder: Holder, payment: Payment, merchant: Channel) -> None:
    """Tell the e-card's channel a payment waits for the holder's PIN."""
    name = session.execute(_MERCHANT_NAME, {"client_id": merchant.client_id}).scalar()
    enqueue(
        session,
        client_id=holder.client_id,
        ordering_key=holder.card_id,
        event="payment.pending_confirmation",
        payload={
            "sign_no": holder.sign_no,
            "payment_id": payment.id,
            "amount_fen": payment.amount_fen,
            "currency": payment.currency,
            "merchant_name": name,
            "confirm_by": payment.confirm_by,
        },
        now=payment.created_at,
    )
