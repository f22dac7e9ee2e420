"""The audit chain's head and its signed checkpoints (the records are ``security.AuditEvent``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from idp.store.base import Base

#: The one head row's id.
HEAD = 1


class AuditChainHead(Base):
    """One row: the last record's ``seq`` and ``hash``. A writing transaction takes it with
    ``UPDATE ... RETURNING``, so the row lock orders concurrent writers until they commit."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A compact JWS by the key ring over ``{seq, hash, iat}``; append-only like the records."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[int] = mapped_column(BigInteger)
    jws: Mapped[str] = mapped_column(Text)


#: Where a session keeps its audit records until it commits (``Session.info``).
PENDING_RECORDS = "essc_audit_pending"


def queue_record(session: Session, record: dict[str, Any]) -> None:
    """Queue an audit record on ``session``; ``idp.events.audit`` numbers, chains and inserts
    the queue when the session commits. Stores that may not import ``idp.events`` use this."""
    session.info.setdefault(PENDING_RECORDS, []).append(record)
