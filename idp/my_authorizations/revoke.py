"""Revoking what a portal or channel holds, for the signed-in citizen only.

Each revocation is conditional writes in the caller's transaction, decided by their row counts
(never read-then-delete): a second revoke of the same item, a double click or two tabs, changes
and audits nothing and answers ``ALREADY``. An item of another citizen, like one that does not
exist or an id that is not even well formed, answers ``NOT_FOUND``: nothing to tell them apart.

- a portal: its consent goes (the next sign-in asks again) and every grant of it for this
  citizen is revoked, so its refresh tokens fail (``invalid_grant``) and its access tokens
  introspect inactive from this commit on (``idp.oauth.access_tokens.grant_of``);
- a session: ended as a logout ends it (``idp.logout.service.end_session``), with its grants;
- an e-card: unbound (解除关联) as the channel's own unbind does, the channel's grants for the
  citizen revoked, and the channel told through the outbox (``ecard.unbound``).
"""

from __future__ import annotations

import enum
import re

from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from idp.ecards.service import SIGN_NO
from idp.events.audit import record_event
from idp.events.outbox import enqueue
from idp.logout.service import end_session
from idp.store.ecards import ECard
from idp.store.grants import BrowserSession
from idp.store.grants import Consent
from idp.store.grants import Grant
from idp.store.unit_of_work import UnitOfWork

#: ``Grant.revoked_reason`` of what the citizen revoked here.
REASON = "cardholder"
CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
SID = re.compile(r"[A-Za-z0-9_-]{1,43}")


class Outcome(enum.Enum):
    REVOKED = "revoked"
    ALREADY = "already"
    NOT_FOUND = "not_found"


def _rows(result: object) -> int:
    return int(getattr(result, "rowcount", 0))


def _revoke_grants(s: Session, person_id: str, client_id: str, now: int) -> int:
    return _rows(
        s.execute(
            update(Grant)
            .where(
                Grant.person_id == person_id,
                Grant.client_id == client_id,
                Grant.revoked_at.is_(None),
            )
            .values(revoked_at=now, revoked_reason=REASON)
            .execution_options(synchronize_session=False)
        )
    )


def revoke_portal(uow: UnitOfWork, person_id: str, client_id: str, *, now: int) -> Outcome:
    if not CLIENT_ID.fullmatch(client_id):
        return Outcome.NOT_FOUND
    s = uow.session
    consents = _rows(
        s.execute(
            delete(Consent)
            .where(Consent.person_id == person_id, Consent.client_id == client_id)
            .execution_options(synchronize_session=False)
        )
    )
    grants = _revoke_grants(s, person_id, client_id, now)
    if consents == 0 and grants == 0:
        held = s.scalar(
            select(exists().where(Grant.person_id == person_id, Grant.client_id == client_id))
        )
        return Outcome.ALREADY if held else Outcome.NOT_FOUND
    record_event(
        s,
        "authorization.revoked",
        at=now,
        actor="cardholder",
        person_id=person_id,
        client_id=client_id,
        request_id=uow.request_id,
        kind="portal",
        grants_revoked=grants,
    )
    return Outcome.REVOKED


def end_own_session(uow: UnitOfWork, person_id: str, sid: str, *, now: int) -> Outcome:
    if not SID.fullmatch(sid):
        return Outcome.NOT_FOUND
    s = uow.session
    row = s.scalar(
        select(BrowserSession).where(
            BrowserSession.sid == sid, BrowserSession.person_id == person_id
        )
    )
    if row is None:
        return Outcome.NOT_FOUND
    if row.expires_at <= now or not end_session(s, row, now=now, client_id=None):
        return Outcome.ALREADY
    record_event(
        s,
        "authorization.revoked",
        at=now,
        actor="cardholder",
        person_id=person_id,
        request_id=uow.request_id,
        kind="session",
        sid=sid,
    )
    return Outcome.REVOKED


def revoke_ecard(uow: UnitOfWork, person_id: str, sign_no: str, *, now: int) -> Outcome:
    """解除关联 by the cardholder. The card row is locked first, as every writer of one card's
    outbox messages does, so the channel gets this card's notifications in order."""
    if not SIGN_NO.fullmatch(sign_no):
        return Outcome.NOT_FOUND
    s = uow.session
    row = s.scalar(select(ECard).where(ECard.sign_no == sign_no, ECard.person_id == person_id))
    if row is None:
        return Outcome.NOT_FOUND
    uow.cards.hold(row.card_id)
    unbound = s.execute(
        update(ECard)
        .where(ECard.sign_no == sign_no, ECard.person_id == person_id, ECard.status == "active")
        .values(status="unbound", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if _rows(unbound) != 1:
        return Outcome.ALREADY
    s.refresh(row)
    row.evidence = {**row.evidence, "unbound": {"at": now, "factor": "session", "by": "cardholder"}}
    grants = _revoke_grants(s, person_id, row.client_id, now)
    _record_unbind(uow, row, grants, now)
    return Outcome.REVOKED


def _record_unbind(uow: UnitOfWork, row: ECard, grants: int, now: int) -> None:
    record_event(
        uow.session,
        "ecard.unbound",
        at=now,
        actor="cardholder",
        person_id=row.person_id,
        client_id=row.client_id,
        request_id=uow.request_id,
        sign_no=row.sign_no,
        factor="session",
        grants_revoked=grants,
    )
    enqueue(
        uow.session,
        client_id=row.client_id,
        ordering_key=row.card_id,
        event="ecard.unbound",
        payload={"sign_no": row.sign_no, "factor": "session", "by": "cardholder"},
        now=now,
    )
