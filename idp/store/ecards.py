"""E-cards issued to channels, card lifecycle events, and the notification outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp.store.base import Base


class ECard(Base):
    """An e-card (电子社保卡) bound to (person, channel, channel subject).

    ``sign_no`` (签发号) is opaque. One active e-card per person per channel: a partial unique
    index enforces it in the database. One e-card per (channel, idempotency key): a unique index
    enforces it, so two concurrent issuances with one key cannot both commit (docs/ecards.md 3).
    ``status``: active, unbound, superseded.
    """

    __tablename__ = "ecards"
    __table_args__ = (
        Index(
            "uq_ecards_active_person_channel",
            "person_id",
            "client_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("uq_ecards_client_idempotency_key", "client_id", "idempotency_key", unique=True),
    )

    sign_no: Mapped[str] = mapped_column(String(43), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    card_id: Mapped[str] = mapped_column(ForeignKey("cards.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    channel_subject: Mapped[str] = mapped_column(String(128))
    level: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    credential_jti: Mapped[str | None] = mapped_column(String(43))
    issued_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    #: The request id a channel sent with the issuance; a retry with the same key is idempotent.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    #: The e-card this issuance superseded, so an idempotent replay answers exactly as the first.
    supersedes: Mapped[str | None] = mapped_column(String(43))


class CardEvent(Base):
    """Every card state change: who did it and which factor proved them present."""

    __tablename__ = "card_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    card_id: Mapped[str] = mapped_column(ForeignKey("cards.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    factor: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[int] = mapped_column(BigInteger)


class OutboxMessage(Base):
    """A notification to a channel, written in the same transaction as the change it reports.

    ``delivery_id`` is stable across retries so channels can drop duplicates; ``ordering_key``
    (the card) keeps messages about one card in order.
    """

    __tablename__ = "outbox"
    #: The deliverer claims only the oldest undelivered message per (channel, card).
    __table_args__ = (Index("ix_outbox_channel_card_order", "client_id", "ordering_key", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    ordering_key: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[int] = mapped_column(BigInteger, index=True)
    delivered_at: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(255))
