"""The audit trail: ``noun.verb`` events written in the same transaction as what they record.

Details never hold secrets or full ID numbers; callers pass masked values only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from idp.store.security import AuditEvent


def record_event(
    session: Session,
    event: str,
    *,
    at: int,
    actor: str | None = None,
    person_id: str | None = None,
    client_id: str | None = None,
    request_id: str | None = None,
    **detail: Any,
) -> None:
    session.add(
        AuditEvent(
            at=at,
            event=event,
            actor=actor,
            person_id=person_id,
            client_id=client_id,
            request_id=request_id,
            detail=detail,
        )
    )
