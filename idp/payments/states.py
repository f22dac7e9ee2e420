"""The payment's states and the only ways between them (docs/payments.md, "States").

A payment is born ``authorized`` (within the no-PIN limit and the daily limit),
``pending_confirmation`` (above the no-PIN limit: the holder's PIN is awaited) or ``declined``.
Every later change is one row of ``TRANSITIONS``, made by one conditional
``UPDATE payments ... WHERE id = :id AND state IN (:sources) [AND ...] RETURNING``: two
concurrent changes of one payment cannot both apply, and nothing is read and written back.
No Flask here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import update
from sqlalchemy.orm import Session

from idp.store.payments import Payment

AUTHORIZED = "authorized"
DECLINED = "declined"
PENDING = "pending_confirmation"
REVERSED = "reversed"
CAPTURED = "captured"
REFUNDED = "refunded"
PARTIALLY_REFUNDED = "partially_refunded"
STATES = (AUTHORIZED, DECLINED, PENDING, REVERSED, CAPTURED, REFUNDED, PARTIALLY_REFUNDED)
#: The states a payment can be created in.
INITIAL = frozenset({AUTHORIZED, PENDING, DECLINED})
#: States in which the payment's amount counts against the holder's daily limit.
SPENDING = frozenset({AUTHORIZED, CAPTURED, PARTIALLY_REFUNDED, REFUNDED})


@dataclass(frozen=True)
class Transition:
    action: str
    event: str
    sources: frozenset[str]
    target: str


TRANSITIONS = {
    t.action: t
    for t in (
        Transition("confirm", "payment.authorized", frozenset({PENDING}), AUTHORIZED),
        Transition("decline", "payment.declined", frozenset({PENDING}), DECLINED),
        Transition("reverse", "payment.reversed", frozenset({AUTHORIZED, PENDING}), REVERSED),
        Transition("capture", "payment.captured", frozenset({AUTHORIZED}), CAPTURED),
        Transition(
            "refund_part",
            "payment.refunded",
            frozenset({CAPTURED, PARTIALLY_REFUNDED}),
            PARTIALLY_REFUNDED,
        ),
        Transition(
            "refund_all", "payment.refunded", frozenset({CAPTURED, PARTIALLY_REFUNDED}), REFUNDED
        ),
    )
}


def apply(
    session: Session,
    payment_id: str,
    transition: Transition,
    *,
    now: int,
    when: tuple[ColumnElement[bool], ...] = (),
    **values: Any,
) -> Payment | None:
    """The payment after ``transition``, or None if its state (or ``when``) did not allow it."""
    statement = (
        update(Payment)
        .where(Payment.id == payment_id, Payment.state.in_(sorted(transition.sources)), *when)
        .values(state=transition.target, updated_at=now, **values)
        .returning(Payment)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return session.scalars(statement).one_or_none()
