"""Sessions that time out end like sessions that log out (OIDC Back-Channel Logout 1.0 2.5:
the OP sends a logout token when "a session ... ends", whatever ended it).

A browser session has an absolute lifetime (``ESSC_SESSION_TTL``); past it the cookie stops
working at once (idp.interaction.signin.find_session reads ``expires_at``), but the portals it
signed into hold their own sessions and never hear of it unless essc-idp tells them. The sweep
here, run by ``essc purge`` (cron, every minute: docs/operations.md), ends each timed-out
session once: one conditional UPDATE ... RETURNING picks and marks a batch, so two sweepers
running at once never end, revoke, queue or audit one session twice.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from idp.events.audit import record_event
from idp.logout.backchannel import queue_logout_tokens
from idp.store.grants import BrowserSession
from idp.store.grants import Grant

#: Sessions ended per transaction: a backlog (after downtime) drains in bounded steps.
BATCH = 500


def end_timed_out_sessions(s: Session, now: int, *, batch: int = BATCH) -> int:
    """End up to ``batch`` sessions whose lifetime has passed; how many this call ended."""
    due = (
        select(BrowserSession.cookie_hash)
        .where(BrowserSession.ended_at.is_(None), BrowserSession.expires_at <= now)
        .order_by(BrowserSession.expires_at)
        .limit(batch)
        .scalar_subquery()
    )
    ended = s.execute(
        update(BrowserSession)
        .where(BrowserSession.cookie_hash.in_(due), BrowserSession.ended_at.is_(None))
        .values(ended_at=BrowserSession.expires_at)
        .returning(BrowserSession.sid, BrowserSession.person_id)
        .execution_options(synchronize_session=False)
    ).all()
    by_person: dict[str, list[str]] = defaultdict(list)
    for sid, person_id in ended:
        by_person[person_id].append(sid)
    for person_id, sids in by_person.items():
        _end_grants_and_tell_portals(s, person_id, sids, now)
    return len(ended)


def _end_grants_and_tell_portals(s: Session, person_id: str, sids: list[str], now: int) -> None:
    revoked = s.execute(
        update(Grant)
        .where(Grant.sid.in_(sids), Grant.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="session_expired")
        .execution_options(synchronize_session=False)
    )
    queued = queue_logout_tokens(s, sids=sids, person_id=person_id, now=now)
    record_event(
        s,
        "session.expired",
        at=now,
        person_id=person_id,
        sessions=len(sids),
        grants_revoked=getattr(revoked, "rowcount", 0),
        logout_tokens=len(queued),
    )
