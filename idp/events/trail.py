"""Checking and checkpointing the stored audit trail: ``essc audit verify`` and ``checkpoint``.

A checkpoint is a compact JWS by the key ring (ES256, ``typ`` ``essc-audit-checkpoint+jwt``)
over ``{seq, hash, iat}`` of the last record, stored in ``audit_checkpoints`` and printed, so
an operator can also keep it away from the database. Changing or removing any record up to a
checkpoint then shows against the signature, even if the chain after it is rebuilt.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.events.chain import FIELDS
from idp.events.verify import Problem
from idp.events.verify import Walk
from idp.events.verify import check_tail
from idp.events.verify import walk
from idp.store.audit_chain import HEAD
from idp.store.audit_chain import AuditChainHead
from idp.store.audit_chain import AuditCheckpoint
from idp.store.security import AuditEvent
from keys import InvalidSignature

TYP = "essc-audit-checkpoint+jwt"
_COLUMNS = [getattr(AuditEvent, name) for name in ("seq", "prev_hash", "hash", *FIELDS)]

Sign = Callable[[dict[str, Any]], str]
VerifySignature = Callable[[str], dict[str, Any]]


class UnsoundTrail(Exception):
    """The trail has problems, so no checkpoint vouches for it."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the audit trail")
        self.problems = problems


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: int
    jws: str


def records(session: Session, after: int = 0) -> Iterator[Mapping[str, Any]]:
    """The records after ``seq`` ``after``, in ``seq`` order, read in batches."""
    query = select(*_COLUMNS).where(AuditEvent.seq > after).order_by(AuditEvent.seq)
    for row in session.execute(query.execution_options(yield_per=1000)).mappings():
        yield dict(row)


def verify(session: Session, verify_signature: VerifySignature) -> Walk:
    """Walk the whole trail; check the head and every checkpoint's signature and hash."""
    signed, problems = _checkpoints(session, verify_signature)
    state = walk(records(session), marks={seq for seq, _, _ in signed})
    state.problems.extend(problems)
    head = session.get(AuditChainHead, HEAD)
    check_tail(state, (head.seq, head.hash) if head else None, signed)
    state.problems.sort()
    return state


def checkpoint(session: Session, sign: Sign, now: int) -> Checkpoint:
    """Check the records since the last checkpoint, then sign the last one (or answer the
    existing checkpoint when nothing was written since)."""
    last = session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1))
    state = Walk()
    if last is not None:
        state.last_seq, state.last_hash = last.seq, last.hash
    state = walk(records(session, after=state.last_seq), start=state)
    if state.problems:
        raise UnsoundTrail(sorted(state.problems))
    if last is not None and last.seq == state.last_seq:
        return Checkpoint(last.seq, last.hash, last.at, last.jws)
    if state.last_seq == 0:
        raise UnsoundTrail([Problem(0, "nothing to checkpoint: the trail is empty")])
    claims = {"seq": state.last_seq, "hash": state.last_hash, "iat": now}
    made = Checkpoint(state.last_seq, state.last_hash, now, sign(claims))
    session.add(AuditCheckpoint(seq=made.seq, hash=made.hash, at=made.at, jws=made.jws))
    return made


def _checkpoints(
    session: Session, verify_signature: VerifySignature
) -> tuple[list[tuple[int, str, str]], list[Problem]]:
    """The checkpoints whose signature holds, as ``(seq, hash, when)``, and the others'
    problems. What counts is what was signed, not the row's own columns."""
    signed, problems = [], []
    for row in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)):
        try:
            claims = verify_signature(row.jws)
            signed.append((int(claims["seq"]), str(claims["hash"]), _when(int(claims["iat"]))))
        except (InvalidSignature, KeyError, TypeError, ValueError):
            problems.append(Problem(row.seq, "checkpoint: its signature does not verify"))
            continue
        if int(claims["seq"]) != row.seq or str(claims["hash"]) != row.hash:
            problems.append(Problem(row.seq, "checkpoint: its row differs from what was signed"))
    return signed, problems


def _when(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
