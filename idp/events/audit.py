"""The audit trail: ``noun.verb`` events written in the same transaction as what they record.

Details never hold secrets or full ID numbers; callers pass masked values only
(``tests/events/test_audit_privacy.py`` checks what the flows write).

Each record joins the hash chain (``idp.events.chain``) when its transaction commits: the
``before_commit`` hook below flushes the transaction's other writes, then takes the chain head
with one ``UPDATE ... RETURNING`` (PostgreSQL holds that row's lock until the commit, SQLite
its write lock), numbers and hashes the transaction's records after it and inserts them. Two
transactions can therefore neither fork the chain nor skip a number, and the lock is held only
for the last statements of a transaction. A rolled-back transaction leaves no record and no
gap.
"""

from __future__ import annotations

from typing import Any
from typing import cast

from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import event as sa_event
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from idp.events.chain import GENESIS
from idp.events.chain import link
from idp.store.audit_chain import HEAD
from idp.store.audit_chain import PENDING_RECORDS
from idp.store.audit_chain import AuditChainHead
from idp.store.audit_chain import queue_record
from idp.store.security import AuditEvent

_HEAD = cast(Table, AuditChainHead.__table__)
_EVENTS = cast(Table, AuditEvent.__table__)
#: Core, built once: binds ``count``.
_TAKE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD)
    .values(seq=_HEAD.c.seq + bindparam("count"))
    .returning(_HEAD.c.seq, _HEAD.c.hash)
)
#: Binds ``head_hash``.
_SET_HASH = update(_HEAD).where(_HEAD.c.id == HEAD).values(hash=bindparam("head_hash"))
_COLUMNS = ("at", "event", "actor", "person_id", "client_id", "request_id", "detail")
_CHAINED = ("seq", "prev_hash", "hash")
#: Binds a record's columns as ``r_<column>`` (a bare ``seq`` or ``hash`` would also set the
#: head's columns in ``_APPEND_ONE``); executed with one parameter set per record.
_INSERT = insert(_EVENTS).values(
    {name: bindparam("r_" + name, type_=_EVENTS.c[name].type) for name in (*_COLUMNS, *_CHAINED)}
)
#: PostgreSQL: one record and the head's new hash (``head_hash``) in one statement.
_APPEND_ONE = _INSERT.add_cte(_SET_HASH.cte("head"))


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
    """Queue one record; it is numbered, chained and inserted when ``session`` commits."""
    record = dict(
        at=at,
        event=event,
        actor=actor,
        person_id=person_id,
        client_id=client_id,
        request_id=request_id,
        detail=detail,
    )
    queue_record(session, record)


@sa_event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    pending: list[dict[str, Any]] = session.info.pop(PENDING_RECORDS, [])
    if not pending:
        return
    session.flush()  # everything else first, so the head's lock is held as briefly as can be
    last, prev_hash = _take_head(session, len(pending))
    seq = last - len(pending)
    rows = []
    for record in pending:
        seq += 1
        digest = link(prev_hash, seq, record)
        chained = {**record, "seq": seq, "prev_hash": prev_hash, "hash": digest}
        rows.append({"r_" + name: value for name, value in chained.items()})
        prev_hash = digest
    _append(session, rows, prev_hash)


def _append(session: Session, rows: list[dict[str, Any]], head_hash: str) -> None:
    """Insert the chained records and move the head's hash to the last one: precompiled Core
    statements (no ORM flush while the head's lock is held). On PostgreSQL a transaction's one
    record is one statement, the head's ``UPDATE`` a data-modifying CTE of the ``INSERT``: one
    round trip fewer under the lock."""
    if len(rows) == 1 and session.get_bind().dialect.name == "postgresql":
        session.execute(_APPEND_ONE, {**rows[0], "head_hash": head_hash})
        return
    session.execute(_SET_HASH, {"head_hash": head_hash})
    session.execute(_INSERT, rows)


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, _previous: Any) -> None:
    session.info.pop(PENDING_RECORDS, None)


def _take_head(session: Session, count: int) -> tuple[int, str]:
    """Reserve ``count`` numbers: ``(the last one, the hash of the record before the first)``."""
    values = {"count": count}
    row = session.execute(_TAKE_HEAD, values).one_or_none()
    if row is None:
        _restore_head(session)
        row = session.execute(_TAKE_HEAD, values).one()
    return int(row[0]), str(row[1])


def _restore_head(session: Session) -> None:
    """The head row is missing (an emptied database): start it at the last stored record, so
    numbers stay unique; a concurrent writer restoring it too is harmless."""
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).one_or_none()
    seq, digest = (int(last[0]), str(last[1])) if last else (0, GENESIS)
    values = dict(id=HEAD, seq=seq, hash=digest)
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(AuditChainHead).values(values).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(AuditChainHead).values(values).on_conflict_do_nothing())
