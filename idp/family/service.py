"""Family proxy relationships: request, consent (in the principal's channel or at a counter),
end and expiry (docs/family.md). Called by the views and ``essc family`` inside one unit of
work; every change is audited in the same transaction, naming both people by their internal
ids and masked names, never an ID number."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from idp.cardholders.service import Cardholders
from idp.channel_signin.assertion import AssertionRejected
from idp.channel_signin.assertion import ChannelAssertionVerifier
from idp.errors import KeepsWrites
from idp.errors import Problem
from idp.events.audit import record_event
from idp.family import rules
from idp.family.formats import AddRequest
from idp.family.formats import ConsentRequest
from idp.family.formats import invalid
from idp.store.family import Ended
from idp.store.family import FamilyRelationship
from idp.store.family import SqlFamilyRepository
from idp.store.people import Person
from idp.store.people import SocialSecurityCard
from idp.store.people import status_at
from idp.store.unit_of_work import UnitOfWork


class PinRefused(Problem, KeepsWrites):
    """A wrong or locked PIN: the failure counted towards the lockout must be committed."""


def not_found() -> Problem:
    return Problem(404, "relationship-not-found", "No such relationship of yours")


class Family:
    def __init__(
        self,
        *,
        cardholders: Cardholders,
        assertions: ChannelAssertionVerifier,
        clock: Callable[[], int],
        max_agents: int,
        request_seconds: int,
    ) -> None:
        self._cardholders = cardholders
        self._assertions = assertions
        self._now = clock
        self._max_agents = max_agents
        self._request_seconds = request_seconds

    # -- asking ---------------------------------------------------------------------------
    def request(
        self, uow: UnitOfWork, agent_id: str, client_id: str, wanted: AddRequest
    ) -> FamilyRelationship:
        """The agent asks; a minor's relationship is active at once (the guardian's request
        is the consent), anyone else's waits for the principal."""
        session, now = uow.session, self._now()
        principal = self._cardholders.find_by_credential(session, wanted.id_number)
        if principal is None or principal.name != wanted.name:
            raise Problem(404, "principal-not-found", "No cardholder with this ID number and name")
        if principal.id == agent_id:
            raise invalid("principal", "an agent cannot act for themselves")
        minor = rules.is_minor(wanted.id_number, now)
        if minor and wanted.relationship not in rules.GUARDIAN_RELATIONSHIPS:
            raise invalid("relationship", "a minor is added by a guardian: child or other")
        repo = SqlFamilyRepository(session)
        self._expire(uow, repo, agent_id, now)
        self._expire(uow, repo, principal.id, now)
        refused = repo.take_slots(agent_id, principal.id, rules.MAX_RELATIVES, self._max_agents)
        if refused == "agent":
            raise Problem(409, "too-many-relatives", "An agent has at most 8 relatives")
        if refused == "principal":
            raise Problem(409, "too-many-agents", "This person has as many agents as allowed")
        row = self._new_row(agent_id, principal.id, client_id, wanted, minor, now)
        if not repo.add(row):
            raise Problem(409, "relationship-exists", "You already have this relationship")
        self._audit(uow, "family.requested", row, now, client_id=client_id)
        if minor:
            self._audit(uow, "family.consented", row, now, method="guardian")
        return row

    def _new_row(
        self,
        agent_id: str,
        principal_id: str,
        client_id: str,
        wanted: AddRequest,
        minor: bool,
        now: int,
    ) -> FamilyRelationship:
        active = dict(
            state=rules.State.ACTIVE.value,
            powers=list(wanted.powers),
            expires_at=rules.guardian_expiry(now, wanted.id_number),
            consented_at=now,
            consent_method="guardian",
            consent_evidence={"declared_by": "agent", "client_id": client_id},
        )
        waiting = dict(
            state=rules.State.REQUESTED.value,
            powers=[],
            expires_at=now + self._request_seconds,
        )
        return FamilyRelationship(
            id=str(uuid.uuid4()),
            agent_id=agent_id,
            principal_id=principal_id,
            relationship=wanted.relationship,
            client_id=client_id,
            requested_powers=list(wanted.powers),
            minor=minor,
            requested_at=now,
            **(active if minor else waiting),
        )

    # -- consenting -----------------------------------------------------------------------
    def consent_in_channel(
        self, uow: UnitOfWork, relationship_id: str, consent: ConsentRequest
    ) -> FamilyRelationship:
        """The principal consents in their own channel: a channel assertion for their e-card
        (docs/channel-assertion.md) and their PIN, naming each power and the expiry."""
        now = self._now()
        row = self._waiting(uow, relationship_id, consent.powers, now)
        try:
            asserted = self._assertions.verify(consent.assertion)
        except AssertionRejected as exc:
            raise Problem(
                403, "consent-refused", "The channel assertion is not accepted", reason=exc.reason
            ) from None
        ecard = uow.ecards.own(asserted.channel_id, asserted.sign_no)
        if ecard is None or ecard.status != "active" or ecard.person_id != row.principal_id:
            raise Problem(403, "consent-refused", "The assertion is not for this principal")
        card = uow.cards.get(ecard.card_id)
        if card is None or status_at(card, now) != "normal":
            raise Problem(403, "consent-refused", "The principal's card is not usable")
        if consent.may_act is not None and consent.may_act["client_id"] not in (
            row.client_id,
            asserted.channel_id,
        ):
            # The principal can name the channel the request came from or their own, no other.
            raise invalid("may_act.client_id", "the agent's channel or the consenting one")
        self._check_pin(uow, row.principal_id, consent.pin)
        evidence = {
            "channel": asserted.channel_id,
            "assertion_jti": asserted.jti,
            "acr": asserted.assurance.acr,
        }
        return self._activate(
            uow,
            row,
            consent.powers,
            consent.valid_days,
            "channel",
            evidence,
            may_act=consent.may_act,
        )

    def consent_at_counter(
        self,
        uow: UnitOfWork,
        relationship_id: str,
        powers: tuple[str, ...],
        valid_days: int,
        *,
        operator: str,
        evidence: str,
    ) -> FamilyRelationship:
        """An operator records the principal's consent given in person, with its evidence."""
        row = self._waiting(uow, relationship_id, powers, self._now())
        proof = {"operator": operator, "evidence": evidence}
        return self._activate(uow, row, powers, valid_days, "counter", proof)

    def _waiting(
        self, uow: UnitOfWork, relationship_id: str, powers: tuple[str, ...], now: int
    ) -> FamilyRelationship:
        row = SqlFamilyRepository(uow.session).get(relationship_id)
        if row is None:
            raise not_found()
        if row.state != rules.State.REQUESTED.value or row.expires_at <= now:
            raise Problem(409, "relationship-not-requested", "Nothing waits for consent here")
        if not set(powers) <= set(row.requested_powers):
            raise invalid("powers", "consent may grant only powers the agent asked for")
        return row

    def _check_pin(self, uow: UnitOfWork, person_id: str, pin: str) -> None:
        person = uow.session.get(Person, person_id)
        check = self._cardholders.check_pin(uow.session, person, pin)
        if check.locked:
            raise PinRefused(
                423, "pin-locked", "The PIN is locked", locked_until=check.locked_until
            )
        if not check.ok:
            raise PinRefused(403, "wrong-pin", "The PIN is wrong", tries_left=check.tries_left)

    def _activate(
        self,
        uow: UnitOfWork,
        row: FamilyRelationship,
        powers: tuple[str, ...],
        valid_days: int,
        method: str,
        evidence: dict[str, Any],
        *,
        may_act: dict[str, str] | None = None,
    ) -> FamilyRelationship:
        now = self._now()
        repo = SqlFamilyRepository(uow.session)
        expires_at = rules.consent_expiry(now, valid_days)
        done = repo.activate(row.id, list(powers), expires_at, method, evidence, now, may_act)
        if done is None:  # a concurrent consent, end or expiry won
            raise Problem(409, "relationship-not-requested", "Nothing waits for consent here")
        extra = {} if may_act is None else {"may_act": may_act}
        self._audit(uow, "family.consented", done, now, method=method, **extra)
        return done

    # -- ending ---------------------------------------------------------------------------
    def end(self, uow: UnitOfWork, relationship_id: str, person_id: str | None) -> Ended:
        """Either side ends it at any time (``person_id``), or an operator (None)."""
        now = self._now()
        repo = SqlFamilyRepository(uow.session)
        row = repo.get(relationship_id)
        if row is None or person_id not in (None, row.agent_id, row.principal_id):
            raise not_found()
        by = (
            "operator"
            if person_id is None
            else ("agent" if person_id == row.agent_id else "principal")
        )
        ended = repo.end(relationship_id, by, now)
        if ended is None:
            raise Problem(409, "relationship-ended", "The relationship has already ended")
        self._audit(uow, "family.ended", row, now, by=by)
        return ended

    def live_of(self, uow: UnitOfWork, person_id: str) -> Sequence[FamilyRelationship]:
        repo = SqlFamilyRepository(uow.session)
        self._expire(uow, repo, person_id, self._now())
        return repo.live_of(person_id)

    def expire_all(self, uow: UnitOfWork) -> int:
        """``essc family expire``: end every relationship whose time has come."""
        return len(self._expire(uow, SqlFamilyRepository(uow.session), None, self._now()))

    def _expire(
        self, uow: UnitOfWork, repo: SqlFamilyRepository, person_id: str | None, now: int
    ) -> list[Ended]:
        ended = repo.expire_due(person_id, now)
        for one in ended:
            record_event(
                uow.session,
                "family.expired",
                at=now,
                person_id=one.principal_id,
                client_id=one.client_id,
                request_id=uow.request_id,
                agent=one.agent_id,
                relationship_id=one.id,
            )
        return ended

    def _audit(
        self, uow: UnitOfWork, event: str, row: FamilyRelationship, now: int, **detail: Any
    ) -> None:
        record_event(
            uow.session,
            event,
            at=now,
            person_id=row.principal_id,
            client_id=detail.pop("client_id", row.client_id),
            request_id=uow.request_id,
            agent=row.agent_id,
            relationship_id=row.id,
            relationship=row.relationship,
            powers=list(row.powers or row.requested_powers),
            **detail,
        )


def usable_card(uow: UnitOfWork, person_id: str, now: int) -> SocialSecurityCard | None:
    """The person's card if it is in normal status now (a lapsed suspension counts)."""
    cards = uow.session.scalars(
        select(SocialSecurityCard).where(SocialSecurityCard.person_id == person_id)
    ).all()
    return next((c for c in cards if status_at(c, now) == "normal"), None)
