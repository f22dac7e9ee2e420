"""The transactional outbox: notifications to channels are rows written in the same transaction
as the change they report, so a change and its notification commit or roll back together.

A deliverer (``idp.notifications``) sends them later, at least once, in order per card.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from idp.store.ecards import OutboxMessage


def enqueue(
    session: Session,
    *,
    client_id: str,
    ordering_key: str,
    event: str,
    payload: dict[str, Any],
    now: int,
) -> str:
    """Queue one notification for ``client_id``; returns its stable ``delivery_id``.

    ``ordering_key`` groups messages that must arrive in order (the physical card's id);
    ``event`` is a ``noun.verb`` name such as ``card.suspended`` or ``ecard.issued``.
    """
    delivery_id = str(uuid.uuid4())
    session.add(
        OutboxMessage(
            delivery_id=delivery_id,
            client_id=client_id,
            ordering_key=ordering_key,
            event=event,
            payload=payload,
            created_at=now,
            attempts=0,
            next_attempt_at=now,
        )
    )
    return delivery_id
