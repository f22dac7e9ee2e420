"""The Logout Token (OpenID Connect Back-Channel Logout 1.0 2.4) and its POST (2.5).

The outbox (``idp.events.outbox``) holds what a token says (``sid`` and the person); the
deliverer (``idp.notifications``) signs a fresh token at every attempt through ``LogoutRoute``, so
a retry hours after the logout is not already expired. ``jti`` is the outbox delivery id: the
same on every retry, so a portal that keeps the ``jti`` values it saw (2.6's optional replay
check) drops a second copy. Pure: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from channels.signing.security_event import SignJwt
from idp.notifications.deliverer import Target
from idp.notifications.signers import FORM_MEDIA_TYPE
from idp.notifications.signers import Envelope
from idp.notifications.signers import Outgoing

#: The outbox event of a back-channel logout (``X-Essc-Event``, ``essc notifications list``).
LOGOUT_EVENT = "session.logout"
#: 2.4: the one member of ``events``.
BACKCHANNEL_LOGOUT = "http://schemas.openid.net/event/backchannel-logout"
#: 2.4 (RFC 8725 3.11): the JOSE ``typ`` that keeps a logout token from passing as an ID token.
LOGOUT_TYP = "logout+jwt"
#: 2.4 recommends a short lifetime (two minutes in its example).
LOGOUT_TOKEN_TTL = 120

#: The ``sub`` the client knows the person by: ``(client_id, person_id) -> sub``.
Subject = Callable[[str, str], str]


def logout_token_claims(
    *, issuer: str, audience: str, sub: str, sid: str, jti: str, now: int
) -> dict[str, Any]:
    """2.4: ``iss``, ``aud``, ``iat``, ``exp``, ``jti``, ``events``, and both ``sub`` and ``sid``
    (the session that ended, so the portal ends exactly its session of it); never ``nonce``."""
    return {
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL,
        "jti": jti,
        "sub": sub,
        "sid": sid,
        "events": {BACKCHANNEL_LOGOUT: {}},
    }


class LogoutTokenSigner:
    """A ``NotificationSigner`` whose body is ``logout_token=<JWS>``, form-encoded (2.5)."""

    scheme = "backchannel-logout"

    def __init__(self, sign_jwt: SignJwt, *, issuer: str, alg: str, subject: Subject) -> None:
        self._sign_jwt = sign_jwt
        self._issuer = issuer
        self._alg = alg
        self._subject = subject

    def token(self, envelope: Envelope, now: int) -> str:
        claims = logout_token_claims(
            issuer=self._issuer,
            audience=envelope.client_id,
            sub=self._subject(envelope.client_id, str(envelope.payload["person_id"])),
            sid=str(envelope.payload["sid"]),
            jti=envelope.delivery_id,
            now=now,
        )
        return self._sign_jwt(claims, self._alg, LOGOUT_TYP)

    def sign(self, envelope: Envelope, now: int) -> Outgoing:
        body = urlencode({"logout_token": self.token(envelope, now)}).encode("ascii")
        return Outgoing(body, {"Content-Type": FORM_MEDIA_TYPE})


@dataclass(frozen=True)
class LogoutRoute:
    """The deliverer's ``Route`` for ``LOGOUT_EVENT``: to the client's ``backchannel_logout_uri``,
    signed with the algorithm of its ID tokens (2.4: the same keys as ID tokens)."""

    sign_jwt: SignJwt
    issuer: str
    subject: Subject
    url_field: str = "backchannel_logout_uri"

    def url(self, target: Target) -> str | None:
        return target.backchannel_logout_uri

    def signer(self, target: Target) -> LogoutTokenSigner:
        return LogoutTokenSigner(
            self.sign_jwt, issuer=self.issuer, alg=target.alg, subject=self.subject
        )
