"""OpenID Connect RP-Initiated Logout 1.0: checking a logout request and ending a session.

A logout request is checked whole before anything changes (section 3): a forged hint or an
unregistered ``post_logout_redirect_uri`` leaves the session as it was and never redirects.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from sqlalchemy import update
from sqlalchemy.orm import Session

from channels.client import Client
from idp.events.audit import record_event
from idp.logout.backchannel import queue_logout_tokens
from idp.store.grants import BrowserSession
from idp.store.grants import Grant
from keys.ring import InvalidSignature

#: Longer values are not ours: ID tokens and registered URIs are far shorter.
MAX_PARAM = 4096


class LogoutRefused(Exception):
    """Why a logout request cannot go on; ``key`` names the page text (idp.interaction.i18n)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class LogoutRequest:
    client: Client | None
    redirect_uri: str | None
    state: str | None
    #: The ``sid`` of a valid ``id_token_hint``; ``None`` without a hint.
    hint_sid: str | None

    def location(self) -> str | None:
        """Section 3: the registered URI with ``state`` added, keeping the URI's own query."""
        if self.redirect_uri is None:
            return None
        parts = urlsplit(self.redirect_uri)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if self.state is not None:
            query.append(("state", self.state))
        return urlunsplit(parts._replace(query=urlencode(query)))


def _param(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if len(value) > MAX_PARAM:
        raise LogoutRefused("bad_request")
    return value


def _hint_claims(
    token: str, verify: Callable[..., dict[str, Any]], issuer: str
) -> tuple[list[str], str | None]:
    """Section 2: a hint we issued, expired or not (its signature and ``iss`` still count)."""
    try:
        claims = verify(token, issuer=issuer, require=("iss", "aud"), check_expiry=False)
    except InvalidSignature:
        raise LogoutRefused("logout_bad_hint") from None
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    sid = claims.get("sid")
    return [a for a in audiences if isinstance(a, str)], sid if isinstance(sid, str) else None


def parse_logout_request(
    params: Mapping[str, str],
    *,
    verify: Callable[..., dict[str, Any]],
    issuer: str,
    find_client: Callable[[str], Client | None],
) -> LogoutRequest:
    hint = _param(params, "id_token_hint")
    client_id = _param(params, "client_id")
    redirect_uri = _param(params, "post_logout_redirect_uri")
    state = _param(params, "state")
    sid = None
    if hint is not None:
        audiences, sid = _hint_claims(hint, verify, issuer)
        # Section 2: a client_id given with a hint must be the hint's audience.
        if client_id is None and len(audiences) == 1:
            client_id = audiences[0]
        elif client_id is None or client_id not in audiences:
            raise LogoutRefused("logout_bad_hint")
    client = find_client(client_id) if client_id is not None else None
    if client_id is not None and (client is None or not client.active):
        raise LogoutRefused("logout_bad_hint")
    # Section 3: exactly one of the client's registered URIs; no client, no redirect.
    registered = client.post_logout_redirect_uris if client else ()
    if redirect_uri is not None and redirect_uri not in registered:
        raise LogoutRefused("logout_bad_uri")
    return LogoutRequest(client, redirect_uri, state, sid)


def end_session(s: Session, row: BrowserSession, *, now: int, client_id: str | None) -> bool:
    """End the session, revoke its grants and queue its logout tokens in the caller's
    transaction; once only.

    Every grant made in the session (its codes, access and refresh tokens) ends with it:
    essc-idp does not offer ``offline_access``, the one grant Back-Channel Logout 1.0 2.7 lets
    outlive a logout. The conditional UPDATE's row count decides: a second logout of the same
    session (two tabs, a replayed form) changes, queues and audits nothing.
    """
    ended = s.execute(
        update(BrowserSession)
        .where(BrowserSession.cookie_hash == row.cookie_hash, BrowserSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(ended, "rowcount", 0) != 1:
        return False
    revoked = s.execute(
        update(Grant)
        .where(Grant.sid == row.sid, Grant.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="logout")
        .execution_options(synchronize_session=False)
    )
    queued = queue_logout_tokens(s, sids=[row.sid], person_id=row.person_id, now=now)
    record_event(
        s,
        "session.logout",
        at=now,
        person_id=row.person_id,
        client_id=client_id,
        grants_revoked=getattr(revoked, "rowcount", 0),
        logout_tokens=len(queued),
    )
    return True
