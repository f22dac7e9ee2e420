"""What the payment operations answer and refuse, and the audit record they write.

``payment_json`` is the merchant's view of a payment (never the person), ``channel_json`` the
holder's; ``Answer`` is an HTTP answer a retry with the same idempotency key gets again;
the refusals are RFC 7807 ``Problem``s. No Flask here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from idp.cardholders.pin import PinHasher
from idp.errors import Problem
from idp.events.audit import record_event
from idp.payments import states
from idp.store.payments import Payment


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


def channel_json(payment: Payment, merchant_name: str | None) -> dict[str, Any]:
    """What the holder sees in their channel: the payment and who was paid."""
    body = payment_json(payment)
    body.pop("merchant_order_id")
    return {**body, "merchant": {"client_id": payment.client_id, "name": merchant_name}}


def audit(
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
