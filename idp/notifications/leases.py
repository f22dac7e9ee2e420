"""The outbox as a work queue: lease due messages, record each attempt, list them for operators.

A message is *due* when it is undelivered, not parked, its ``next_attempt_at`` has come, and no
older message of the same channel and card (``client_id``, ``ordering_key``) is still
undelivered: only the head of each card's queue is ever handed out, so message k+1 never leaves
before message k was delivered. A message is leased (``attempts + 1``, ``next_attempt_at = now +
lease``) in a short transaction; on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets workers lease
side by side, and the conditional ``UPDATE ... WHERE attempts = :seen`` (one row or none)
makes a double lease impossible on any database. ``attempts`` is the fencing token: a worker
whose lease ran out cannot overwrite the schedule of the worker that took over.

A message is *parked* when ``attempts >= max_attempts`` and it is still undelivered; a parked
message keeps blocking its card's later messages until an operator re-queues it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import Literal

from sqlalchemy import ColumnElement
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import aliased

from idp.store.ecards import OutboxMessage

State = Literal["pending", "delivered", "parked"]
STATES: tuple[State, ...] = ("pending", "delivered", "parked")


@dataclass(frozen=True)
class Leased:
    """A leased message; ``attempts`` already counts this attempt."""

    id: int
    delivery_id: str
    client_id: str
    ordering_key: str
    event: str
    payload: dict[str, Any]
    created_at: int
    attempts: int


def _has_older_undelivered() -> ColumnElement[bool]:
    older = aliased(OutboxMessage)
    return exists().where(
        older.client_id == OutboxMessage.client_id,
        older.ordering_key == OutboxMessage.ordering_key,
        older.delivered_at.is_(None),
        older.id < OutboxMessage.id,
    )


def _due(now: int, max_attempts: int) -> list[ColumnElement[bool]]:
    return [
        OutboxMessage.delivered_at.is_(None),
        OutboxMessage.next_attempt_at <= now,
        OutboxMessage.attempts < max_attempts,
        ~_has_older_undelivered(),
    ]


def lease(
    session: Session, *, now: int, batch: int, max_attempts: int, lease_seconds: int
) -> list[Leased]:
    """Lease up to ``batch`` due messages, at most one per card, oldest first."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(*_due(now, max_attempts))
        .order_by(OutboxMessage.id)
        .limit(batch)
        .with_for_update(skip_locked=True, of=OutboxMessage)
    ).all()
    return [c for c in (_lease(session, row, now + lease_seconds) for row in rows) if c]


def _lease(session: Session, row: OutboxMessage, until: int) -> Leased | None:
    seen = row.attempts
    won = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row.id,
            OutboxMessage.attempts == seen,
            OutboxMessage.delivered_at.is_(None),
        )
        .values(attempts=seen + 1, next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return Leased(
        row.id,
        row.delivery_id,
        row.client_id,
        row.ordering_key,
        row.event,
        dict(row.payload),
        row.created_at,
        seen + 1,
    )


def mark_delivered(session: Session, message: Leased, *, now: int) -> bool:
    """Delivered is final, whoever's lease it was: a later duplicate send is harmless."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.delivered_at.is_(None))
        .values(delivered_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def mark_failed(session: Session, message: Leased, *, error: str, retry_at: int) -> bool:
    """Schedule the next attempt, only if this worker's lease is still the current one."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            OutboxMessage.attempts == message.attempts,
            OutboxMessage.delivered_at.is_(None),
        )
        .values(next_attempt_at=retry_at, last_error=error[:255])
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def next_due(session: Session, *, max_attempts: int) -> int | None:
    """When the next message becomes due: the earliest ``next_attempt_at`` of any card's head.

    Messages behind an undelivered head do not count; a parked head keeps its card waiting.
    """
    return session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.delivered_at.is_(None),
            OutboxMessage.attempts < max_attempts,
            ~_has_older_undelivered(),
        )
    )


def _state_filter(state: State, max_attempts: int) -> ColumnElement[bool]:
    if state == "delivered":
        return OutboxMessage.delivered_at.is_not(None)
    parked = OutboxMessage.attempts >= max_attempts
    return OutboxMessage.delivered_at.is_(None) & (parked if state == "parked" else ~parked)


def state_of(row: OutboxMessage, max_attempts: int) -> State:
    if row.delivered_at is not None:
        return "delivered"
    return "parked" if row.attempts >= max_attempts else "pending"


def listing(
    session: Session,
    *,
    max_attempts: int,
    state: State | None = None,
    client_id: str | None = None,
    limit: int = 1000,
) -> Sequence[dict[str, Any]]:
    """Messages for operators, oldest first. The payload is left out: it may name a person."""
    query = select(OutboxMessage).order_by(OutboxMessage.id).limit(limit)
    if state is not None:
        query = query.where(_state_filter(state, max_attempts))
    if client_id is not None:
        query = query.where(OutboxMessage.client_id == client_id)
    return [_describe(row, max_attempts) for row in session.scalars(query)]


def _describe(row: OutboxMessage, max_attempts: int) -> dict[str, Any]:
    return {
        "delivery_id": row.delivery_id,
        "client_id": row.client_id,
        "ordering_key": row.ordering_key,
        "event": row.event,
        "state": state_of(row, max_attempts),
        "attempts": row.attempts,
        "created_at": row.created_at,
        "next_attempt_at": row.next_attempt_at,
        "delivered_at": row.delivered_at,
        "last_error": row.last_error,
    }


def requeue(session: Session, delivery_id: str, *, now: int, max_attempts: int) -> bool:
    """Give a parked message a fresh set of attempts, due now; False if it is not parked."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.delivery_id == delivery_id,
            OutboxMessage.delivered_at.is_(None),
            OutboxMessage.attempts >= max_attempts,
        )
        .values(attempts=0, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
