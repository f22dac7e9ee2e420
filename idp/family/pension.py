"""Pension eligibility certification (养老待遇资格认证, issue 11 item 3; docs/family.md).

A certification needs a fresh face of the pensioner: a channel assertion (docs/channel-
assertion.md) for one of their active e-cards, ``verified_by: face``, whose ``auth_time`` is
within ``Settings.face_acr_max_age``. The pensioner sends it with their own token; a relative
sends it with a delegated token (RFC 8693) carrying the ``pension_certification`` power, so
the relative starts and the pensioner confirms in the same flow. The row and its audit event
are written in one transaction.

Idempotent: while the person is ``certified`` (not yet due), certifying again answers the
standing certification and consumes nothing, so a retried request gets the same answer; a
lapsed or due person takes the next ``cycle``, unique per person, so concurrent requests
leave one row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from idp.channel_signin.assertion import AssertionRejected
from idp.channel_signin.assertion import ChannelAssertionVerifier
from idp.errors import Problem
from idp.events.audit import record_event
from idp.family import pension_rules as rules
from idp.interaction.assurance import ACR_FACE
from idp.oauth.storage import DelegationRecord
from idp.store.pension import PensionCertification
from idp.store.pension import SqlPensionRepository
from idp.store.people import status_at
from idp.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Standing:
    """A person's certification state now, and the certification behind it (if any)."""

    state: rules.State
    row: PensionCertification | None
    created: bool = False


def refused(reason: str, title: str = "The face confirmation is not accepted") -> Problem:
    return Problem(403, "certification-refused", title, reason=reason)


class Pension:
    def __init__(
        self,
        *,
        assertions: ChannelAssertionVerifier,
        clock: Callable[[], int],
        face_max_age: int,
        due_days: int,
    ) -> None:
        self._assertions = assertions
        self._now = clock
        self._face_max_age = face_max_age
        self._due_days = due_days

    def standing(self, uow: UnitOfWork, person_id: str) -> Standing:
        row = SqlPensionRepository(uow.session).newest(person_id)
        until = row.valid_until if row is not None else None
        return Standing(rules.state_at(until, self._now(), self._due_days), row)

    def certify(
        self,
        uow: UnitOfWork,
        person_id: str,
        client_id: str,
        assertion: str,
        by: DelegationRecord | None = None,
    ) -> Standing:
        """The person (``by`` None) or their agent under ``by`` certifies with the person's
        fresh face assertion."""
        now = self._now()
        standing = self.standing(uow, person_id)
        if standing.state == rules.State.CERTIFIED:
            return standing
        evidence = self._face_of(uow, person_id, assertion, now)
        cycle = standing.row.cycle + 1 if standing.row is not None else 1
        row = PensionCertification(
            id=str(uuid.uuid4()),
            person_id=person_id,
            cycle=cycle,
            certified_at=now,
            valid_until=rules.valid_until(now),
            method="self" if by is None else "agent",
            client_id=client_id,
            agent_id=by.agent_id if by is not None else None,
            relationship_id=by.id if by is not None else None,
            evidence=evidence,
        )
        if not SqlPensionRepository(uow.session).add(row):
            return self.standing(uow, person_id)  # a concurrent certification won
        self._audit(uow, row, by)
        return Standing(rules.state_at(row.valid_until, now, self._due_days), row, True)

    def _face_of(self, uow: UnitOfWork, person_id: str, token: str, now: int) -> dict[str, Any]:
        try:
            asserted = self._assertions.verify(token)
        except AssertionRejected as exc:
            raise refused(exc.reason) from None
        if asserted.assurance.acr != ACR_FACE:
            raise refused("not a face verification", "The confirmation must be by face")
        age = now - asserted.assurance.auth_time
        if not -self._face_max_age <= age <= self._face_max_age:
            raise refused("face too old", "The face verification is too old; verify again")
        ecard = uow.ecards.own(asserted.channel_id, asserted.sign_no)
        if ecard is None or ecard.status != "active" or ecard.person_id != person_id:
            raise refused("another person", "The face verification is not of this pensioner")
        card = uow.cards.get(ecard.card_id)
        if card is None or status_at(card, now) != "normal":
            raise refused("card not usable", "The pensioner's card is not usable")
        return {
            "channel": asserted.channel_id,
            "assertion_jti": asserted.jti,
            "acr": asserted.assurance.acr,
            "auth_time": asserted.assurance.auth_time,
        }

    def _audit(
        self, uow: UnitOfWork, row: PensionCertification, by: DelegationRecord | None
    ) -> None:
        family: dict[str, Any] = (
            {}
            if by is None
            else {"agent": by.agent_id, "relationship_id": by.id, "relationship": by.relationship}
        )
        record_event(
            uow.session,
            "pension.certified",
            at=row.certified_at,
            person_id=row.person_id,
            client_id=row.client_id,
            request_id=uow.request_id,
            certification_id=row.id,
            valid_until=row.valid_until,
            method=row.method,
            **family,
        )
