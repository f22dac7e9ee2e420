"""Access tokens as JWTs (RFC 9068) and opaque secrets (codes, refresh tokens).

Access tokens are short-lived and signed once; resource servers verify them against the JWKS.
The ``gid`` claim names the grant so this server's own introspection and userinfo can refuse a
token whose grant was revoked (code or refresh-token reuse, revocation, card status).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from channels.client import Client
from idp.oauth.storage import GrantRecord

AT_JWT_TYPE = "at+jwt"


def new_secret() -> str:
    """256 random bits, base64url: codes, refresh tokens, session cookies, client secrets."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    jti: str
    expires_in: int
    claims: dict[str, Any]


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
    ) -> IssuedAccessToken:
        now = int(self._clock())
        jti = secrets.token_urlsafe(16)
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": sub,
            "aud": self._audience,
            "client_id": client.client_id,
            "iat": now,
            "exp": now + ttl,
            "jti": jti,
        }
        if scopes:
            claims["scope"] = " ".join(scopes)
        if grant is not None:
            claims.update(
                auth_time=grant.auth_time, acr=grant.acr, amr=list(grant.amr), gid=grant.id
            )
        return IssuedAccessToken(self._sign(claims, self._alg, AT_JWT_TYPE), jti, ttl, claims)
