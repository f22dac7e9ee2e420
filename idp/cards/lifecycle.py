"""The physical card's lifecycle: suspend (临时挂失), resume (解挂), cancel (注销), replace (补换).

Issue 3, section 4, and essc-domain.md 1.7. The allowed transitions are the ``TRANSITIONS``
table; anything else raises ``TransitionRefused`` before a single row is written. Each change
writes, in the caller's unit of work (one transaction; nothing here commits), the card row, a
``CardEvent`` (who and which factor, essc-domain.md 1.6), an audit event, and one outbox
notification per active e-card, so the change and its notifications commit or roll back
together. Taking a card out of ``normal`` also revokes the cardholder's grants and ends their
browser sessions: every token, refresh token, code and session stops at once, and a resume does
not bring back what a finder of the lost card may have signed into. Reads never wait for
``lift_expired_suspensions``: ``status_at`` already reads a lapsed suspension as normal. No
Flask here; ``docs/card-lifecycle.md`` is the prose."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from idp.cardholders.gb11643 import mask_card_number
from idp.cardholders.service import EnrolmentError
from idp.cardholders.service import normalize_card_number
from idp.events.audit import record_event
from idp.events.outbox import enqueue
from idp.logout.backchannel import queue_logout_tokens
from idp.store.ecards import CardEvent
from idp.store.ecards import ECard
from idp.store.grants import BrowserSession
from idp.store.grants import Grant
from idp.store.people import SocialSecurityCard
from idp.store.people import status_at
from idp.store.unit_of_work import UnitOfWork

#: Factors that prove the cardholder present (essc-domain.md 1.6); ``system`` for automatic lifts.
FACTORS = frozenset({"pin", "face", "counter", "sms", "system"})
SYSTEM = "system"
#: 制卡进度 stages in order (``SocialSecurityCard.production_stage``), with the words users see.
PRODUCTION_STAGES = ("applied", "producing", "ready", "collected")
PRODUCTION_LABELS = {
    "applied": "已申请",
    "producing": "制卡中",
    "ready": "待领取",
    "collected": "已领卡",
}


@dataclass(frozen=True)
class Transition:
    action: str
    event: str
    sources: frozenset[str]
    target: str


TRANSITIONS = {
    t.action: t
    for t in (
        Transition("suspend", "card.suspended", frozenset({"normal"}), "suspended"),
        Transition("resume", "card.resumed", frozenset({"suspended"}), "normal"),
        Transition("cancel", "card.cancelled", frozenset({"normal", "suspended"}), "cancelled"),
        Transition("replace", "card.replaced", frozenset({"normal", "suspended"}), "replaced"),
    )
}

#: Why a refused transition is refused, where the table alone would not say it plainly.
_REFUSALS = {
    ("resume", "replaced"): "a replacement was requested; 解挂 is possible only before 补换",
    ("resume", "normal"): "the card is not suspended (a lapsed suspension has lifted by itself)",
    ("suspend", "suspended"): "the card is already suspended",
}


class CardLifecycleError(Exception):
    """A refused card change; ``reason`` is safe to show an operator or a channel."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CardNotFound(CardLifecycleError):
    pass


class TransitionRefused(CardLifecycleError):
    def __init__(self, action: str, status: str) -> None:
        default = f"cannot {action} a {status} card"
        if status in ("cancelled", "replaced"):
            default = f"the card is {status}; that is final"
        super().__init__(_REFUSALS.get((action, status), default))
        self.action, self.status = action, status


@dataclass(frozen=True)
class Actor:
    """Who asked (operator id, channel client_id, or ``system``) and the factor that proved the
    cardholder present."""

    id: str
    factor: str

    def __post_init__(self) -> None:
        if not self.id.strip() or len(self.id) > 64 or not self.id.isprintable():
            raise CardLifecycleError("actor must be 1 to 64 printable characters")
        if self.factor not in FACTORS:
            raise CardLifecycleError("factor must be one of " + ", ".join(sorted(FACTORS)))
        if (self.id == SYSTEM) != (self.factor == SYSTEM):
            raise CardLifecycleError("only the system actor uses the system factor")


SYSTEM_ACTOR = Actor(SYSTEM, SYSTEM)


@dataclass(frozen=True)
class CardChange:
    """What a transition did, masked: safe for CLI output, audit and logs."""

    card_number_masked: str
    from_status: str
    to_status: str
    at: int
    actor: str
    factor: str
    suspended_until: int | None
    new_card_number_masked: str | None
    notified: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        body = {k: v for k, v in self.__dict__.items() if v is not None}
        body["notified"] = list(self.notified)
        return body


# -- look-up -------------------------------------------------------------------------------------
def find_card(uow: UnitOfWork, card_number: str) -> SocialSecurityCard:
    """The card, locked for the rest of the transaction so two changes cannot interleave."""
    try:
        number = normalize_card_number(card_number)
    except EnrolmentError as exc:
        raise CardNotFound(exc.reason) from None
    card = uow.cards.by_number(number)
    if card is None:
        raise CardNotFound("no card has this number")
    return card


# -- the transitions -----------------------------------------------------------------------------
def suspend(
    uow: UnitOfWork, card: SocialSecurityCard, actor: Actor, *, now: int, seconds: int
) -> CardChange:
    """临时挂失 until ``now + seconds`` (``settings.suspension_seconds``, 7 days by default)."""
    _check("suspend", card, now)
    if card.status == "suspended":  # lapsed: record its automatic lift before the new one
        _apply(uow, card, TRANSITIONS["resume"], SYSTEM_ACTOR, now)
    return _apply(uow, card, TRANSITIONS["suspend"], actor, now, until=now + seconds)


def resume(uow: UnitOfWork, card: SocialSecurityCard, actor: Actor, *, now: int) -> CardChange:
    """解挂: refused once a replacement was requested (essc-domain.md 1.7)."""
    _check("resume", card, now, stored=True)
    return _apply(uow, card, TRANSITIONS["resume"], actor, now)


def cancel(uow: UnitOfWork, card: SocialSecurityCard, actor: Actor, *, now: int) -> CardChange:
    """注销: final; the cardholder's e-cards stay bound but nothing signs in with them."""
    _check("cancel", card, now)
    return _apply(uow, card, TRANSITIONS["cancel"], actor, now)


def replace(
    uow: UnitOfWork,
    card: SocialSecurityCard,
    actor: Actor,
    *,
    new_card_number: str,
    now: int,
    production_stage: str = "collected",
) -> CardChange:
    """补换: a new card (new number, normal, same person) takes over the active e-cards; the
    old number stops. ``production_stage`` is ``collected`` for on-the-spot issue (立等可取)."""
    _check("replace", card, now)
    if production_stage not in PRODUCTION_STAGES:
        raise CardLifecycleError("production stage must be one of " + ", ".join(PRODUCTION_STAGES))
    new = _new_card(uow, card, new_card_number, production_stage, now)
    card.replaced_by = new.id
    return _apply(uow, card, TRANSITIONS["replace"], actor, now, successor=new)


def lift_expired_suspensions(uow: UnitOfWork, now: int) -> list[CardChange]:
    """Resume, as ``system``, every suspension whose ``suspended_until`` has passed.

    Reads already treat them as normal; this records the event and notifies the channels.
    ``SKIP LOCKED`` leaves a card an operator is changing right now to that operator.
    """
    cards = uow.cards.lapsed_suspensions(now)
    return [_apply(uow, card, TRANSITIONS["resume"], SYSTEM_ACTOR, now) for card in cards]


def _check(action: str, card: SocialSecurityCard, now: int, *, stored: bool = False) -> None:
    """Refuse before any write. Resume goes by the stored status, so an operator may still
    resume a lapsed suspension the lifter has not reached; the others by what readers see."""
    status = card.status if stored else status_at(card, now)
    if status not in TRANSITIONS[action].sources:
        raise TransitionRefused(action, status)


def _new_card(
    uow: UnitOfWork, old: SocialSecurityCard, number: str, stage: str, now: int
) -> SocialSecurityCard:
    try:
        number = normalize_card_number(number)
    except EnrolmentError as exc:
        raise CardLifecycleError(f"new card number: {exc.reason}") from None
    if uow.cards.number_taken(number):
        raise CardLifecycleError("the new card number is taken")
    new = SocialSecurityCard(
        id=str(uuid.uuid4()),
        person_id=old.person_id,
        card_number=number,
        status="normal",
        region_code=old.region_code,
        issued_at=now,
        updated_at=now,
        # [U] the financial account is assumed to carry over, so level 2 e-cards stay valid.
        bank_account_linked=old.bank_account_linked,
        production_stage=stage,
        production_updated_at=now,
    )
    if not uow.cards.add(new):  # a concurrent replacement took the number first
        raise CardLifecycleError("the new card number is taken")
    return new


def _apply(
    uow: UnitOfWork,
    card: SocialSecurityCard,
    transition: Transition,
    actor: Actor,
    now: int,
    *,
    until: int | None = None,
    successor: SocialSecurityCard | None = None,
) -> CardChange:
    before = card.status
    card.status, card.suspended_until, card.updated_at = transition.target, until, now
    ecards = uow.ecards.active_on_card(card.id)
    if successor is not None:
        for ecard in ecards:
            ecard.card_id, ecard.updated_at = successor.id, now
    if transition.target != "normal":
        _stop_sign_ins(uow.session, card.person_id, transition.event, now)
    change = CardChange(
        card_number_masked=mask_card_number(card.card_number),
        from_status=before,
        to_status=card.status,
        at=now,
        actor=actor.id,
        factor=actor.factor,
        suspended_until=until,
        new_card_number_masked=mask_card_number(successor.card_number) if successor else None,
        notified=(),
    )
    _record(uow, card, transition, change, successor)
    delivery_ids = [_notify(uow.session, card.id, e, transition.event, change) for e in ecards]
    return dataclasses.replace(change, notified=tuple(delivery_ids))


def _stop_sign_ins(session: Session, person_id: str, reason: str, now: int) -> None:
    """Revoke every live grant (its codes, access and refresh tokens), end the sessions and
    queue their back-channel logout tokens.

    Grants and browser sessions are the token store's rows (``idp.store.grants``), not the
    cards': this statement is the lifecycle's one write to them, and has no repository here."""
    session.execute(
        update(Grant)
        .where(Grant.person_id == person_id, Grant.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    ended = session.scalars(
        update(BrowserSession)
        .where(BrowserSession.person_id == person_id, BrowserSession.ended_at.is_(None))
        .values(ended_at=now)
        .returning(BrowserSession.sid)
        .execution_options(synchronize_session=False)
    ).all()
    # OIDC Back-Channel Logout 1.0: the portals of each ended session learn it, in this commit.
    queue_logout_tokens(session, sids=ended, person_id=person_id, now=now)


def _record(
    uow: UnitOfWork,
    card: SocialSecurityCard,
    transition: Transition,
    change: CardChange,
    successor: SocialSecurityCard | None,
) -> None:
    reason = f"replaced by {successor.id}" if successor else None
    if change.actor == SYSTEM:
        reason = "suspension lapsed"
    uow.cards.add_event(
        CardEvent(
            card_id=card.id,
            from_status=change.from_status,
            to_status=change.to_status,
            actor=change.actor,
            factor=change.factor,
            reason=reason,
            at=change.at,
        )
    )
    detail = {k: v for k, v in change.as_json().items() if k not in ("at", "actor", "notified")}
    record_event(
        uow.session,
        transition.event,
        at=change.at,
        actor=change.actor,
        person_id=card.person_id,
        card_id=card.id,
        **detail,
    )


def _notify(session: Session, card_id: str, ecard: ECard, event: str, change: CardChange) -> str:
    """One message per active e-card (one per channel). Ordered with the old card's messages,
    so a channel never hears of a suspension after the replacement that ended it."""
    payload: dict[str, Any] = {
        "sign_no": ecard.sign_no,
        "card_number_masked": change.card_number_masked,
        "status": change.to_status,
        "at": change.at,
    }
    if change.suspended_until is not None:
        payload["suspended_until"] = change.suspended_until
    if change.new_card_number_masked is not None:
        payload["new_card_number_masked"] = change.new_card_number_masked
    return enqueue(
        session,
        client_id=ecard.client_id,
        ordering_key=card_id,
        event=event,
        payload=payload,
        now=change.at,
    )


# -- the service -------------------------------------------------------------------------------
class CardLifecycle:
    """The transitions at this deployment's clock and suspension length (``Provider.cards``):
    the counter's commands and a channel's change on the cardholder's behalf go through it."""

    def __init__(self, *, clock: Callable[[], int], suspension_seconds: int) -> None:
        self._now = clock
        self._suspension_seconds = suspension_seconds

    def change(
        self, uow: UnitOfWork, action: str, card_number: str, actor: Actor, **extra: Any
    ) -> CardChange:
        """Find and lock the card, then ``apply`` ``action`` to it now."""
        card = find_card(uow, card_number)
        return self.apply(uow, card, action, actor, now=self._now(), **extra)

    def apply(
        self,
        uow: UnitOfWork,
        card: SocialSecurityCard,
        action: str,
        actor: Actor,
        *,
        now: int,
        **extra: Any,
    ) -> CardChange:
        """``suspend`` (for ``suspension_seconds``), ``resume``, ``cancel`` or ``replace``
        (``new_card_number``, ``production_stage``) of a card the caller has locked."""
        if action == "suspend":
            return suspend(uow, card, actor, now=now, seconds=self._suspension_seconds)
        if action == "resume":
            return resume(uow, card, actor, now=now)
        if action == "cancel":
            return cancel(uow, card, actor, now=now)
        if action == "replace":
            return replace(uow, card, actor, now=now, **extra)
        raise CardLifecycleError(f"unknown card action {action!r}")

    def lift_expired(self, uow: UnitOfWork) -> list[CardChange]:
        return lift_expired_suspensions(uow, self._now())


# -- 制卡进度 -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProductionProgress:
    """Card production progress (制卡进度, essc-domain.md 1.7; no official API found [U])."""

    stage: str
    label: str
    step: int
    steps: int
    updated_at: int | None

    @property
    def done(self) -> bool:
        return self.step == self.steps

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "done": self.done}


def production_progress(card: SocialSecurityCard) -> ProductionProgress:
    stage = card.production_stage
    if stage not in PRODUCTION_STAGES:
        raise CardLifecycleError("the card has an unknown production stage")
    return ProductionProgress(
        stage=stage,
        label=PRODUCTION_LABELS[stage],
        step=PRODUCTION_STAGES.index(stage) + 1,
        steps=len(PRODUCTION_STAGES),
        updated_at=card.production_updated_at,
    )
