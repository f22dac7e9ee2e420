"""A merchant's day for reconciliation (China Standard Time): payments, captures, refunds and
the sums that settle. Read only. No Flask here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.channel_auth.caller import Channel
from idp.payments import limits as daily
from idp.payments import states
from idp.payments.answers import payment_json
from idp.store.payments import Payment
from idp.store.payments import PaymentRefund


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
