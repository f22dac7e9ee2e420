"""Access tokens as JWTs (RFC 9068) and opaque secrets (codes, refresh tokens).

Access tokens are short-lived and signed once; resource servers verify them against the JWKS.
The ``gid`` claim names the grant so this server's own introspection and userinfo can refuse a
token whose grant was revoked (code or refresh-token reuse, revocation, card status).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from channels.client import Client
from idp.oauth.storage import GrantRecord

AT_JWT_TYPE = "at+jwt"
#: The claims this issuer sets itself; a grant's extra claims never replace them (a ``gid`` or
#: ``cnf`` from elsewhere would escape revocation or the binding).
OWN_CLAIMS = frozenset(
    {"iss", "sub", "aud", "client_id", "iat", "exp", "jti", "scope"}
    | {"auth_time", "acr", "amr", "gid", "cnf"}
)


def new_secret() -> str:
    """256 random bits, base64url: codes, refresh tokens, session cookies, client secrets."""
    return secrets.token_urlsafe(32)


#: RFC 7800 3.1 confirmation (``cnf``) binding a token to its holder's key: ``{"x5t#S256": ...}``
#: for a client certificate (RFC 8705 3.1), ``{"jkt": ...}`` for a DPoP key (RFC 9449 6.1).
Confirmation = Mapping[str, str]


def token_type(cnf: Confirmation | None) -> str:
    """RFC 9449 5: a DPoP-bound token is of type ``DPoP``; any other, certificate-bound ones
    included (RFC 8705 3), is a ``Bearer`` token (RFC 6750)."""
    return "DPoP" if cnf is not None and "jkt" in cnf else "Bearer"


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    expires_in: int
    token_type: str


class AccessTokenIssuer:
    def __init__(
        self,
        sign: Callable[[dict[str, Any], str, str], str],
        *,
        issuer: str,
        audience: str,
        alg: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sign = sign
        self._issuer = issuer
        self._audience = audience
        self._alg = alg
        self._clock = clock

    def issue(
        self,
        client: Client,
        *,
        sub: str,
        scopes: tuple[str, ...],
        ttl: int,
        grant: GrantRecord | None = None,
        cnf: Confirmation | None = None,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> IssuedAccessToken:
        """An RFC 9068 access token; ``cnf`` binds it to a key, ``extra_claims`` adds claims
        such as RFC 8693 4.1 ``act`` (the party acting for ``sub``)."""
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": sub,
            "aud": self._audience,
            "client_id": client.client_id,
            "iat": now,
            "exp": now + ttl,
            "jti": secrets.token_urlsafe(16),
        }
        if scopes:
            claims["scope"] = " ".join(scopes)
        if grant is not None:
            claims.update(
                auth_time=grant.auth_time, acr=grant.acr, amr=list(grant.amr), gid=grant.id
            )
        if cnf is not None:
            claims["cnf"] = dict(cnf)
        if extra_claims:
            if not OWN_CLAIMS.isdisjoint(extra_claims):
                raise ValueError("extra claims may not replace the token's own claims")
            claims.update(extra_claims)
        token = self._sign(claims, self._alg, AT_JWT_TYPE)
        return IssuedAccessToken(token, ttl, token_type(cnf))
