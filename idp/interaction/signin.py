"""Browser sessions, pending interactions, remembered consents and code issuance."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace

from sqlalchemy import BigInteger
from sqlalchemy import String
from sqlalchemy import bindparam
from sqlalchemy import exists
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from idp.cardholders.gb11643 import InvalidIdNumber
from idp.cardholders.gb11643 import mask_id_number
from idp.cardholders.gb11643 import normalize_id_number
from idp.interaction.assurance import ACR_PIN
from idp.interaction.assurance import AMR_PIN
from idp.oauth.authorize import AuthorizationRequest
from idp.oauth.tokens import new_secret
from idp.store.base import Base
from idp.store.grants import AuthorizationCode
from idp.store.grants import BrowserSession
from idp.store.grants import Consent
from idp.store.grants import Grant
from idp.store.grants import Interaction
from idp.store.grants import SessionClient
from idp.store.people import Person
from idp.store.people import SocialSecurityCard
from idp.store.people import usable_at

#: ``secrets.token_urlsafe(24)``: 32 base64url characters.
_INTERACTION_ID = re.compile(r"[A-Za-z0-9_-]{1,43}")


@dataclass(frozen=True)
class NewSession:
    cookie: str
    row: BrowserSession


def start_session(
    session: Session,
    token_hash: Callable[[str], str],
    *,
    person_id: str,
    now: int,
    ttl: int,
    acr: str = ACR_PIN,
    amr: tuple[str, ...] = AMR_PIN,
) -> NewSession:
    cookie = new_secret()
    row = BrowserSession(
        cookie_hash=token_hash(cookie),
        sid=secrets.token_urlsafe(24),
        person_id=person_id,
        auth_time=now,
        acr=acr,
        amr=list(amr),
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    return NewSession(cookie, row)


def reauthenticate(row: BrowserSession, *, now: int) -> None:
    """The same person signed in again with the PIN (``prompt=login``, ``max_age``): the
    session stays one session, so its ``sid`` is the one every portal of it already holds
    (OIDC Front/Back-Channel Logout), and it now says what just happened: a fresh
    ``auth_time`` at the PIN's level, even if an earlier sign-in was stronger."""
    row.auth_time = now
    row.acr = ACR_PIN
    row.amr = list(AMR_PIN)


def find_session(session: Session, cookie_hash: str, now: int) -> BrowserSession | None:
    row = session.get(BrowserSession, cookie_hash)
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    return row


@dataclass(frozen=True)
class SignedIn:
    """A live session with what ``GET /authorize`` asks of it for one client, read at once."""

    row: BrowserSession
    #: ``SqlTokenStore.person_may_sign_in`` for the session's cardholder, now.
    card_usable: bool
    #: The scopes the cardholder consented to for the client, if any consent is on record.
    consented: frozenset[str] | None
    #: The session already reached the client (its ``session_clients`` row exists).
    reached: bool

    def consent_covers(self, scopes: tuple[str, ...]) -> bool:
        return self.consented is not None and set(scopes) <= self.consented


_FOR_CLIENT = bindparam("for_client", type_=String)
_NOW = bindparam("now", type_=BigInteger)
#: The session, its card's status, the client's consent and whether the session reached the
#: client: one statement, built once, instead of four (issue 12).
_SIGNED_IN = select(
    BrowserSession,
    exists()
    .where(SocialSecurityCard.person_id == BrowserSession.person_id, usable_at(_NOW))
    .label("card_usable"),
    select(Consent.scopes)
    .where(Consent.person_id == BrowserSession.person_id, Consent.client_id == _FOR_CLIENT)
    .scalar_subquery()
    .label("consented"),
    exists()
    .where(SessionClient.sid == BrowserSession.sid, SessionClient.client_id == _FOR_CLIENT)
    .label("reached"),
).where(
    BrowserSession.cookie_hash == bindparam("cookie_hash"),
    BrowserSession.ended_at.is_(None),
    BrowserSession.expires_at > _NOW,
)


def find_signed_in(session: Session, cookie_hash: str, client_id: str, now: int) -> SignedIn | None:
    """``find_session`` plus what the authorization endpoint needs for ``client_id``."""
    params = {"cookie_hash": cookie_hash, "for_client": client_id, "now": now}
    found = session.execute(_SIGNED_IN, params).one_or_none()
    if found is None:
        return None
    row, card_usable, consented, reached = found
    scopes = None if consented is None else frozenset(consented)
    return SignedIn(row, bool(card_usable), scopes, bool(reached))


#: The blind index purpose of ID numbers (idp.cardholders.service.find_by_credential uses the same).
ID_NUMBER_INDEX = "id-number-index"
#: What the sign-in form takes: card numbers (6 to 20 letters and digits) or 18-character ID
#: numbers (GB 11643). Any other hint (a phone number, an e-mail address) is not kept at all.
_CREDENTIAL = re.compile(r"[A-Za-z0-9]{6,20}")


def stored_hint(
    request: AuthorizationRequest, index: Callable[[str, str], str]
) -> AuthorizationRequest:
    """The request as an interaction may store it: an ID-number ``login_hint`` (GB 11643) is
    replaced by its masked form plus its keyed blind index, so no table holds the number in
    clear; a card-number hint stays; any other hint is dropped (OIDC Core 3.1.2.1 makes the
    hint advisory). ``index`` is the key ring's ``keyed_hash``."""
    hint = (request.login_hint or "").strip().upper()
    if not _CREDENTIAL.fullmatch(hint):
        return replace(request, login_hint=None, login_hint_index=None)
    if len(hint) != 18:  # a card number; find_by_credential reads 18 characters as an ID
        return replace(request, login_hint=hint, login_hint_index=None)
    try:
        number = normalize_id_number(hint)
    except InvalidIdNumber:  # shaped like an ID number: still personal data, and useless
        return replace(request, login_hint=None, login_hint_index=None)
    return replace(
        request, login_hint=mask_id_number(number), login_hint_index=index(ID_NUMBER_INDEX, number)
    )


def hinted_person(session: Session, request: AuthorizationRequest) -> Person | None:
    """The cardholder an ID-number hint named, found by its blind index."""
    if request.login_hint_index is None:
        return None
    return session.scalar(select(Person).where(Person.id_number_index == request.login_hint_index))


def create_interaction(
    session: Session,
    request: AuthorizationRequest,
    *,
    browser_hash: str,
    now: int,
    ttl: int,
    hint_index: Callable[[str, str], str],
) -> Interaction:
    row = Interaction(
        id=secrets.token_urlsafe(24),
        client_id=request.client_id,
        request=stored_hint(request, hint_index).to_json(),
        browser_hash=browser_hash,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    return row


def find_interaction(
    session: Session, interaction_id: str, *, browser_hash: str, now: int
) -> Interaction | None:
    """Only the browser that started it, only before it expires, only once."""
    if not _INTERACTION_ID.fullmatch(interaction_id):
        return None  # also keeps a NUL byte away from PostgreSQL, which errors on it
    row = session.get(Interaction, interaction_id)
    if (
        row is None
        or row.browser_hash != browser_hash
        or row.expires_at <= now
        or row.completed_at is not None
    ):
        return None
    return row


def complete_interaction(session: Session, interaction_id: str, now: int) -> bool:
    result = session.execute(
        update(Interaction)
        .where(Interaction.id == interaction_id, Interaction.completed_at.is_(None))
        .values(completed_at=now)
    )
    return getattr(result, "rowcount", 0) == 1


def consent_covers(
    session: Session, person_id: str, client_id: str, scopes: tuple[str, ...]
) -> bool:
    row = session.scalar(
        select(Consent).where(Consent.person_id == person_id, Consent.client_id == client_id)
    )
    return row is not None and set(scopes) <= set(row.scopes)


def remember_consent(
    session: Session, person_id: str, client_id: str, scopes: tuple[str, ...], now: int
) -> None:
    row = session.scalar(
        select(Consent).where(Consent.person_id == person_id, Consent.client_id == client_id)
    )
    if row is None:
        session.add(
            Consent(
                person_id=person_id,
                client_id=client_id,
                scopes=sorted(scopes),
                created_at=now,
                updated_at=now,
            )
        )
    else:
        row.scopes = sorted(set(row.scopes) | set(scopes))
        row.updated_at = now


_INSERT_GRANT = insert(Base.metadata.tables[Grant.__tablename__])
_INSERT_CODE = insert(Base.metadata.tables[AuthorizationCode.__tablename__])


def issue_code(
    session: Session,
    token_hash: Callable[[str], str],
    request: AuthorizationRequest,
    browser: BrowserSession,
    *,
    acr: str,
    now: int,
    ttl: int,
    reached: bool = False,
) -> str:
    """A new grant and its one-time code (stored as a keyed hash). ``acr`` is the level the
    ID token asserts: the requested one the session met (idp.interaction.step_up.decide).
    ``reached``: the session is known to have reached the client already (``SignedIn``), so
    its ``session_clients`` row is not written again. Core inserts: two rows need no
    unit-of-work flush."""
    grant_id = str(uuid.uuid4())
    code = new_secret()
    session.execute(
        _INSERT_GRANT,
        {
            "id": grant_id,
            "client_id": request.client_id,
            "person_id": browser.person_id,
            "scopes": list(request.scopes),
            "sid": browser.sid,
            "auth_time": browser.auth_time,
            "acr": acr,
            "amr": list(browser.amr),
            "created_at": now,
        },
    )
    if not reached:
        touch(session, browser.sid, request.client_id, now)
    session.execute(
        _INSERT_CODE,
        {
            "code_hash": token_hash(code),
            "grant_id": grant_id,
            "client_id": request.client_id,
            "redirect_uri": request.redirect_uri,
            "code_challenge": request.code_challenge,
            "nonce": request.nonce,
            "dpop_jkt": request.dpop_jkt,
            "created_at": now,
            "expires_at": now + ttl,
        },
    )
    return code


def touch(session: Session, sid: str, client_id: str, now: int) -> None:
    """Remember that ``sid`` reached ``client_id`` (OIDC Back-Channel Logout 1.0 2.1: its
    logout token goes there); the primary key keeps one row per pair, also under concurrency."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(SessionClient)
        .values(sid=sid, client_id=client_id, created_at=now)
        .on_conflict_do_nothing(index_elements=[SessionClient.sid, SessionClient.client_id])
    )
