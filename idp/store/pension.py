"""Pension eligibility certifications (养老待遇资格认证; docs/family.md "Pension eligibility
certification"): one row per certification of a person, numbered by ``cycle``.

Exactly once per period: a certification takes the next ``cycle`` after the person's newest,
and ``(person_id, cycle)`` is unique, so two concurrent certifications of one lapsed (or due)
person leave one row; the loser reads the winner's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from idp.store.base import Base


class PensionCertification(Base):
    """A person proved alive and eligible at ``certified_at``, valid until ``valid_until``;
    ``method`` is ``self`` (their own face in their channel) or ``agent`` (a relative with the
    ``pension_certification`` power, confirmed by the person's own face in the same flow)."""

    __tablename__ = "pension_certifications"
    __table_args__ = (UniqueConstraint("person_id", "cycle"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    cycle: Mapped[int] = mapped_column(Integer)
    certified_at: Mapped[int] = mapped_column(BigInteger)
    valid_until: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("persons.id"))
    relationship_id: Mapped[str | None] = mapped_column(String(36))
    #: The face assertion behind it: channel, assertion id, level and face time; no ID number.
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)


class SqlPensionRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def newest(self, person_id: str) -> PensionCertification | None:
        return self._s.scalars(
            select(PensionCertification)
            .where(PensionCertification.person_id == person_id)
            .order_by(PensionCertification.cycle.desc())
            .limit(1)
        ).first()

    def add(self, row: PensionCertification) -> bool:
        """Insert; False when another certification took this cycle first."""
        try:
            with self._s.begin_nested():
                self._s.add(row)
                self._s.flush()
        except IntegrityError:
            return False
        return True
