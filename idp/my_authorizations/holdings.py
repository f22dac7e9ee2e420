"""What the citizen's portals and channels hold: consents (with their grants), browser sessions
and e-cards, read in the request's transaction. Only rows of ``person_id``; card numbers masked.

No Flask here; the page (``idp.my_authorizations.views``) turns these into words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.client import Client
from idp.cardholders.gb11643 import mask_card_number
from idp.store.ecards import ECard
from idp.store.grants import BrowserSession
from idp.store.grants import Consent
from idp.store.grants import Grant
from idp.store.grants import RefreshToken
from idp.store.people import SocialSecurityCard

FindClient = Callable[[str], Client | None]


@dataclass(frozen=True)
class PortalHolding:
    """A portal or channel the citizen consented to: ``last_used`` is the newest code or
    refresh token issued to it for them (``None`` if it never got one)."""

    client_id: str
    name: str | None
    scopes: tuple[str, ...]
    granted_at: int
    last_used: int | None


@dataclass(frozen=True)
class SessionHolding:
    sid: str
    signed_in_at: int
    auth_time: int
    acr: str
    expires_at: int
    this_browser: bool
    #: Display names of the portals this session signed in to that still hold its grants.
    portals: tuple[str, ...]


@dataclass(frozen=True)
class ECardHolding:
    sign_no: str
    channel: str | None
    level: int
    issued_at: int
    card_number_masked: str


@dataclass(frozen=True)
class Holdings:
    portals: tuple[PortalHolding, ...]
    sessions: tuple[SessionHolding, ...]
    ecards: tuple[ECardHolding, ...]


def holdings(
    s: Session, person_id: str, *, now: int, cookie_hash: str | None, find_client: FindClient
) -> Holdings:
    return Holdings(
        portals=_portals(s, person_id, find_client),
        sessions=_sessions(s, person_id, now, cookie_hash, find_client),
        ecards=_ecards(s, person_id, find_client),
    )


def _name(find_client: FindClient, client_id: str) -> str | None:
    client = find_client(client_id)
    return client.name if client else None


def _portals(s: Session, person_id: str, find_client: FindClient) -> tuple[PortalHolding, ...]:
    consents = s.scalars(
        select(Consent)
        .where(Consent.person_id == person_id)
        .order_by(Consent.updated_at.desc(), Consent.id.desc())
    ).all()
    return tuple(
        PortalHolding(
            client_id=c.client_id,
            name=_name(find_client, c.client_id),
            scopes=tuple(c.scopes),
            granted_at=c.created_at,
            last_used=_last_used(s, person_id, c.client_id),
        )
        for c in consents
    )


def _last_used(s: Session, person_id: str, client_id: str) -> int | None:
    mine = (Grant.person_id == person_id, Grant.client_id == client_id)
    granted = s.scalar(select(func.max(Grant.created_at)).where(*mine))
    refreshed = s.scalar(
        select(func.max(RefreshToken.created_at))
        .join(Grant, Grant.id == RefreshToken.grant_id)
        .where(*mine)
    )
    times = [t for t in (granted, refreshed) if t is not None]
    return max(times) if times else None


def _sessions(
    s: Session, person_id: str, now: int, cookie_hash: str | None, find_client: FindClient
) -> tuple[SessionHolding, ...]:
    rows = s.scalars(
        select(BrowserSession)
        .where(
            BrowserSession.person_id == person_id,
            BrowserSession.ended_at.is_(None),
            BrowserSession.expires_at > now,
        )
        .order_by(BrowserSession.created_at.desc())
    ).all()
    return tuple(
        SessionHolding(
            sid=row.sid,
            signed_in_at=row.created_at,
            auth_time=row.auth_time,
            acr=row.acr,
            expires_at=row.expires_at,
            this_browser=row.cookie_hash == cookie_hash,
            portals=_session_portals(s, row.sid, find_client),
        )
        for row in rows
    )


def _session_portals(s: Session, sid: str, find_client: FindClient) -> tuple[str, ...]:
    live = (Grant.sid == sid, Grant.revoked_at.is_(None))
    ids = s.scalars(select(Grant.client_id).where(*live).distinct()).all()
    return tuple(sorted(name for cid in ids if (name := _name(find_client, cid))))


def _ecards(s: Session, person_id: str, find_client: FindClient) -> tuple[ECardHolding, ...]:
    rows = s.execute(
        select(ECard, SocialSecurityCard.card_number)
        .join(SocialSecurityCard, SocialSecurityCard.id == ECard.card_id)
        .where(ECard.person_id == person_id, ECard.status == "active")
        .order_by(ECard.issued_at.desc())
    ).all()
    return tuple(
        ECardHolding(
            sign_no=row.sign_no,
            channel=_name(find_client, row.client_id),
            level=row.level,
            issued_at=row.issued_at,
            card_number_masked=mask_card_number(number),
        )
        for row, number in rows
    )
