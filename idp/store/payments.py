"""QR code redemptions and scan-to-pay payments (issue 9, items 4 and 5).

Exactly-once lives in these constraints, never in a read followed by a write:

- ``qr_redemptions.code_id`` is the primary key: a scanned code is redeemed by the one
  ``INSERT ... ON CONFLICT DO NOTHING`` that returns a row (``idp.qr.redemption``).
- ``payments`` is unique on (merchant, ``idempotency_key``): a retried or concurrent
  authorization finds the first payment instead of making a second.
- ``payment_refunds`` is unique on (merchant, ``idempotency_key``), and ``refunded_fen`` only
  grows by a conditional ``UPDATE`` that the ``CHECK`` backs: never more than was captured.
- ``payment_daily_spend`` is one row per e-card per day, raised by one conditional ``UPDATE``
  that cannot pass the daily limit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp.store.base import Base


class QrRedemption(Base):
    """A QR code redeemed online, once: by a merchant's redemption or a payment authorization.

    ``reference`` is what the verifier gets back instead of the person (a shop's payment
    reference, a transit operator's trip reference); ``sign_no`` stays here for the audit.
    """

    __tablename__ = "qr_redemptions"

    code_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    sign_no: Mapped[str] = mapped_column(String(43), index=True)
    reference: Mapped[str] = mapped_column(String(43), unique=True)
    redeemed_at: Mapped[int] = mapped_column(BigInteger)


class Payment(Base):
    """A scan-to-pay payment; ``state`` follows ``idp.payments.states.TRANSITIONS``.

    ``first_answer`` is the authorization's answer as the merchant first got it: a retry with
    the same idempotency key is answered with it, whatever happened since.
    """

    __tablename__ = "payments"
    __table_args__ = (
        Index("uq_payments_client_idempotency_key", "client_id", "idempotency_key", unique=True),
        Index("ix_payments_client_created", "client_id", "created_at"),
        Index("ix_payments_sign_no_created", "sign_no", "created_at"),
        Index("ix_payments_client_captured", "client_id", "captured_at"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("captured_fen >= 0 AND captured_fen <= amount_fen", name="captured_bound"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= captured_fen", name="refund_bound"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of the request's fields: the same key with another request is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    merchant_order_id: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(128))
    code_id: Mapped[str] = mapped_column(ForeignKey("qr_redemptions.code_id"), unique=True)
    sign_no: Mapped[str] = mapped_column(String(43))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(24))
    decline_reason: Mapped[str | None] = mapped_column(String(32))
    captured_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The day (China Standard Time, ``YYYY-MM-DD``) whose spend counter holds this payment.
    spend_day: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    authorized_at: Mapped[int | None] = mapped_column(BigInteger)
    captured_at: Mapped[int | None] = mapped_column(BigInteger)
    #: A pending payment is declined if the holder's PIN has not come by then.
    confirm_by: Mapped[int | None] = mapped_column(BigInteger)
    first_answer: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PaymentRefund(Base):
    """One refund of a captured payment; the same idempotency key is the same refund."""

    __tablename__ = "payment_refunds"
    __table_args__ = (
        Index(
            "uq_payment_refunds_client_idempotency_key", "client_id", "idempotency_key", unique=True
        ),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)


class PaymentDailySpend(Base):
    """What one e-card has spent on one day (China Standard Time), in fen."""

    __tablename__ = "payment_daily_spend"

    sign_no: Mapped[str] = mapped_column(String(43), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    spent_fen: Mapped[int] = mapped_column(BigInteger, default=0)
