"""Family proxy (亲情服务) storage: relationships between an agent and a principal, and each
person's slot counters.

Every state change is one conditional ``UPDATE ... RETURNING``: two requests racing to consent,
end or expire the same relationship cannot both win. The limits (8 relatives per agent, a
configured number of agents per principal) are counters in ``family_slots`` taken by a
conditional ``UPDATE ... WHERE as_agent < :limit``: on PostgreSQL the row lock serialises
concurrent additions, so a ninth never slips in (docs/family.md "Limits").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from idp.store.base import Base

#: The states in which a relationship holds its two slots (and the pair is unique).
LIVE = ("requested", "active")
_LIVE_SQL = text("state IN ('requested', 'active')")


class FamilyRelationship(Base):
    """An agent (代办人) acting for a principal. ``relationship`` says what the principal is to
    the agent (``parent``: the principal is the agent's parent). ``expires_at`` is the request's
    deadline while ``requested`` and the consent's end while ``active``."""

    __tablename__ = "family_relationships"
    __table_args__ = (
        Index(
            "uq_family_relationships_live_pair",
            "agent_id",
            "principal_id",
            unique=True,
            postgresql_where=_LIVE_SQL,
            sqlite_where=_LIVE_SQL,
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    principal_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    relationship: Mapped[str] = mapped_column(String(16))
    #: The channel the agent asked in; pairwise references are computed for it.
    client_id: Mapped[str] = mapped_column(String(64))
    requested_powers: Mapped[list[str]] = mapped_column(JSON)
    #: What the principal (or, for a minor, the guardian's request) granted; empty until then.
    powers: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16))
    minor: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    consented_at: Mapped[int | None] = mapped_column(BigInteger)
    #: ``channel``, ``counter`` or ``guardian``; ``consent_evidence`` what proved it (no PIN,
    #: no ID number: the channel and assertion id, or the operator and their reference).
    consent_method: Mapped[str | None] = mapped_column(String(16))
    consent_evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: RFC 8693 4.4: who the principal's consent says may act (``{"client_id": ...}``), or
    #: null for the agent in any channel allowed token exchange.
    may_act: Mapped[dict[str, str] | None] = mapped_column(JSON)
    ended_at: Mapped[int | None] = mapped_column(BigInteger)
    #: ``agent``, ``principal``, ``operator`` or ``expiry``.
    ended_by: Mapped[str | None] = mapped_column(String(16))


class FamilySlots(Base):
    """How many live relationships a person has as agent and as principal."""

    __tablename__ = "family_slots"

    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    as_agent: Mapped[int] = mapped_column(Integer, default=0)
    as_principal: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class Ended:
    id: str
    agent_id: str
    principal_id: str
    client_id: str


class SqlFamilyRepository:
    """The relationship rows of one unit of work; never commits."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, relationship_id: str) -> FamilyRelationship | None:
        return self._s.get(FamilyRelationship, relationship_id)

    def live_of(self, person_id: str) -> Sequence[FamilyRelationship]:
        """Requested and active relationships where the person is either side."""
        return self._s.scalars(
            select(FamilyRelationship)
            .where(
                or_(
                    FamilyRelationship.agent_id == person_id,
                    FamilyRelationship.principal_id == person_id,
                ),
                FamilyRelationship.state.in_(LIVE),
            )
            .order_by(FamilyRelationship.requested_at, FamilyRelationship.id)
        ).all()

    def take_slots(
        self, agent_id: str, principal_id: str, max_relatives: int, max_agents: int
    ) -> str | None:
        """Count one more relationship for both people, or name the limit that refused it
        (``agent`` or ``principal``). Rows are locked in person-id order, so A adding B while
        B adds A cannot deadlock."""
        self._ensure_rows(agent_id, principal_id)
        steps = [
            (agent_id, FamilySlots.as_agent, max_relatives, "agent"),
            (principal_id, FamilySlots.as_principal, max_agents, "principal"),
        ]
        for person_id, column, limit, side in sorted(steps, key=lambda step: step[0]):
            taken = self._s.execute(
                update(FamilySlots)
                .where(FamilySlots.person_id == person_id, column < limit)
                .values({column: column + 1})
                .returning(FamilySlots.person_id)
            ).first()
            if taken is None:
                return side
        return None

    def add(self, row: FamilyRelationship) -> bool:
        """Insert; False if the pair already has a live relationship (the partial unique index
        decides, so two concurrent requests for one pair leave one)."""
        try:
            with self._s.begin_nested():
                self._s.add(row)
                self._s.flush()
        except IntegrityError:
            return False
        return True

    def activate(
        self,
        relationship_id: str,
        powers: list[str],
        expires_at: int,
        method: str,
        evidence: dict[str, Any],
        now: int,
        may_act: dict[str, str] | None = None,
    ) -> FamilyRelationship | None:
        """requested → active, once, while the request has not lapsed."""
        row = self._s.execute(
            update(FamilyRelationship)
            .where(
                FamilyRelationship.id == relationship_id,
                FamilyRelationship.state == "requested",
                FamilyRelationship.expires_at > now,
            )
            .values(
                state="active",
                powers=powers,
                expires_at=expires_at,
                consented_at=now,
                consent_method=method,
                consent_evidence=evidence,
                may_act=may_act,
            )
            .returning(FamilyRelationship.id)
        ).first()
        if row is None:
            return None
        found = self._s.get(FamilyRelationship, relationship_id, populate_existing=True)
        return found

    def end(self, relationship_id: str, by: str, now: int) -> Ended | None:
        """requested/active → ended, once; the two slots are given back."""
        rows = self._finish(
            [FamilyRelationship.id == relationship_id, FamilyRelationship.state.in_(LIVE)],
            "ended",
            by,
            now,
        )
        return rows[0] if rows else None

    def expire_due(self, person_id: str | None, now: int) -> list[Ended]:
        """Every live relationship of ``person_id`` (or of everyone) whose time has come →
        expired, each once; their slots are given back."""
        where = [FamilyRelationship.state.in_(LIVE), FamilyRelationship.expires_at <= now]
        if person_id is not None:
            where.append(
                or_(
                    FamilyRelationship.agent_id == person_id,
                    FamilyRelationship.principal_id == person_id,
                )
            )
        return self._finish(where, "expired", "expiry", now)

    def _finish(self, where: list[Any], state: str, by: str, now: int) -> list[Ended]:
        result = self._s.execute(
            update(FamilyRelationship)
            .where(*where)
            .values(state=state, ended_at=now, ended_by=by)
            .returning(
                FamilyRelationship.id,
                FamilyRelationship.agent_id,
                FamilyRelationship.principal_id,
                FamilyRelationship.client_id,
            )
            .execution_options(synchronize_session=False)
        ).all()
        ended = [Ended(*row) for row in result]
        for one in sorted(ended, key=lambda e: e.id):
            self._give_back(one.agent_id, one.principal_id)
        return ended

    def _give_back(self, agent_id: str, principal_id: str) -> None:
        steps = [(agent_id, FamilySlots.as_agent), (principal_id, FamilySlots.as_principal)]
        for person_id, column in sorted(steps, key=lambda step: step[0]):
            self._s.execute(
                update(FamilySlots)
                .where(FamilySlots.person_id == person_id, column > 0)
                .values({column: column - 1})
            )

    def _ensure_rows(self, *person_ids: str) -> None:
        dialect = self._s.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        for person_id in sorted(set(person_ids)):
            self._s.execute(
                insert(FamilySlots)
                .values(person_id=person_id, as_agent=0, as_principal=0)
                .on_conflict_do_nothing(index_elements=["person_id"])
            )

    def active_for(self, relationship_id: str, now: int) -> FamilyRelationship | None:
        """The relationship if it is active and unexpired now: read in the caller's
        transaction, so an ended relationship stops its tokens at once."""
        return self._s.scalar(
            select(FamilyRelationship).where(
                FamilyRelationship.id == relationship_id,
                FamilyRelationship.state == "active",
                FamilyRelationship.expires_at > now,
            )
        )

    def active_as_agent(self, agent_id: str, now: int) -> Sequence[FamilyRelationship]:
        return self._s.scalars(
            select(FamilyRelationship).where(
                FamilyRelationship.agent_id == agent_id,
                FamilyRelationship.state == "active",
                FamilyRelationship.expires_at > now,
            )
        ).all()
