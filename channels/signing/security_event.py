"""RFC 8417 Security Event Tokens: how essc-idp signs for channels without a native scheme.

A channel on plain OAuth (``private_key_jwt``, ``tls_client_auth``, a client secret) has no
scheme of its own, so its notifications are SETs pushed as RFC 8935 describes. The ``Signer``
takes the key ring's JWT signing function (``keys.KeyRing.sign``), never a key; the ``Verifier``
is what the channel runs, with nothing but the issuer's public JWK Set (``/jwks.json``).

Claims (RFC 8417 2.2): ``iss``, ``aud`` (the channel), ``iat``, ``jti`` (the delivery id), ``toe``
(when the change happened) and ``events`` with one event URI in the issuer's namespace.
Contract for channels: ``docs/notifications.md`` section 4.1.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

import jwt

from channels.signing.scheme import SignatureError
from keys.algorithms import SIGNING_ALGS

NAME = "rfc8417-set"
#: RFC 8417 2.3 / RFC 8935 2: the ``typ`` header and the media type of a pushed SET.
SET_TYP = "secevent+jwt"
SET_MEDIA_TYPE = "application/secevent+jwt"
#: ``(claims, alg, typ) -> compact JWS``: the key ring's ``sign``.
SignJwt = Callable[[dict[str, Any], str, str], str]


def event_uri(issuer: str, event: str) -> str:
    """RFC 8417 2.2: an event identifier is a URI; the issuer's namespace keeps it unique."""
    return f"{issuer}/events/{event}"


class SecurityEventSigner:
    """Signs SETs for one issuer and algorithm through the key ring's signing function."""

    def __init__(self, sign_jwt: SignJwt, *, issuer: str, alg: str) -> None:
        self._sign_jwt = sign_jwt
        self._issuer = issuer
        self._alg = alg

    def claims(
        self, *, audience: str, jti: str, now: int, occurred: int, event: str, payload: Any
    ) -> dict[str, Any]:
        return {
            "iss": self._issuer,
            "aud": audience,
            "iat": now,
            "jti": jti,
            "toe": occurred,
            "events": {event_uri(self._issuer, event): payload},
        }

    def sign(self, claims: dict[str, Any]) -> str:
        return self._sign_jwt(claims, self._alg, SET_TYP)


class SecurityEventVerifier:
    """A channel's check of a SET, from the issuer's public JWK Set alone.

    ``unknown_key`` for a ``kid`` not in the set, ``bad_signature`` for a signature, issuer or
    audience that does not match, ``malformed`` for anything that is not a SET.
    """

    def __init__(self, jwks: Mapping[str, Any], *, issuer: str, audience: str) -> None:
        self._keys = {key["kid"]: jwt.PyJWK(dict(key)) for key in jwks.get("keys", [])}
        self._issuer = issuer
        self._audience = audience

    def verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise SignatureError("malformed") from None
        if header.get("typ") != SET_TYP or header.get("alg") not in SIGNING_ALGS:
            raise SignatureError("malformed")
        key = self._keys.get(str(header.get("kid")))
        if key is None:
            raise SignatureError("unknown_key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[header["alg"]],
                audience=self._audience,
                issuer=self._issuer,
                # iat is when we signed, not a validity bound: a receiver whose clock lags
                # still takes the event; duplicates are dropped by jti (docs/notifications.md).
                options={"require": ["iss", "aud", "iat", "jti", "events"], "verify_iat": False},
            )
        except jwt.InvalidTokenError:
            raise SignatureError("bad_signature") from None
        if not isinstance(claims.get("events"), dict):
            raise SignatureError("malformed")
        return claims
