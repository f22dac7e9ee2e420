"""ID tokens (OIDC Core 2, 3.1.3.6): signed with the client's ``id_token_signed_response_alg``,
then encrypted when it registered ``id_token_encrypted_response_alg`` (``idp.oidc.jwe``)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any
from typing import Protocol

from channels.client import Client
from idp.oidc.jwe import encrypt_id_token
from keys.jwk import b64url

_HASHES = {"ES256": hashlib.sha256, "PS256": hashlib.sha256, "RS256": hashlib.sha256}


def half_hash(value: str, alg: str) -> str:
    """``at_hash`` (OIDC Core 3.1.3.6): left half of the hash the signature alg uses.

    EdDSA with Ed25519 hashes with SHA-512 (OIDC Core errata; RFC 8037).
    """
    digest = _HASHES.get(alg, hashlib.sha512)(value.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


class Authentication(Protocol):
    """The sign-in an ID token describes (OIDC Core 2): ``idp.oauth.storage.GrantRecord`` is one."""

    @property
    def sid(self) -> str | None: ...
    @property
    def auth_time(self) -> int: ...
    @property
    def acr(self) -> str: ...
    @property
    def amr(self) -> tuple[str, ...]: ...


class IdTokenIssuer:
    def __init__(
        self,
        sign: Callable[[dict[str, Any], str, str], str],
        *,
        issuer: str,
        ttl: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sign = sign
        self._issuer = issuer
        self._ttl = ttl
        self._clock = clock

    def issue(
        self,
        client: Client,
        *,
        sub: str,
        grant: Authentication,
        nonce: str | None,
        access_token: str | None,
    ) -> str:
        now = int(self._clock())
        alg = client.id_token_signed_response_alg
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": sub,
            "aud": client.client_id,
            "iat": now,
            "exp": now + self._ttl,
            "auth_time": grant.auth_time,
            "acr": grant.acr,
            "amr": list(grant.amr),
        }
        if grant.sid:
            claims["sid"] = grant.sid
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            claims["at_hash"] = half_hash(access_token, alg)
        # OIDC Core 16.14: signed, then encrypted when the client registered encryption.
        return encrypt_id_token(self._sign(claims, alg, "JWT"), client)
