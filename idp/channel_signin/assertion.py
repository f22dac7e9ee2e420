"""The channel assertion: a short-lived JWT a channel signs with its registered private_key_jwt
key to say which of its e-cards' holders it verified, and how (docs/channel-assertion.md).

Passed as ``login_hint_token`` (OIDC CIBA 7.1); every failure is ``invalid_request`` with a
reason for the audit, never an exception the caller has not named.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from channels.client import Client
from idp.interaction.assurance import ACR_CHANNEL_REALNAME
from idp.interaction.assurance import ACR_FACE
from idp.interaction.assurance import AMR_CHANNEL
from idp.interaction.assurance import AMR_FACE
from idp.interaction.assurance import Assurance
from idp.oauth.client_keys import ClientKeyCache
from idp.store.expiring import ExpiringSet

#: Asymmetric only: a shared secret would let essc-idp forge what a channel asserts.
ALGORITHMS = ("ES256", "PS256", "EdDSA", "RS256")
#: The longest a channel assertion may live (exp - iat), seconds.
MAX_LIFETIME = 300
#: ``verified_by`` values and the level and methods each one asserts.
METHODS: dict[str, tuple[str, tuple[str, ...]]] = {
    "realname": (ACR_CHANNEL_REALNAME, AMR_CHANNEL),
    "face": (ACR_FACE, AMR_FACE),
}
REQUIRED = ("iss", "aud", "sub", "exp", "iat", "jti", "auth_time", "verified_by")


class AssertionRejected(Exception):
    """The assertion does not stand; ``reason`` is for the audit, not for the user agent."""

    error = "invalid_request"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ChannelAssertion:
    channel_id: str
    sign_no: str
    assurance: Assurance
    jti: str


class ChannelAssertionVerifier:
    def __init__(
        self,
        issuer: str,
        clients: Callable[[str], Client | None],
        keys: ClientKeyCache,
        used: ExpiringSet,
        clock: Callable[[], float] = time.time,
        leeway: int = 30,
    ) -> None:
        self._issuer = issuer
        self._clients = clients
        self._keys = keys
        self._used = used
        self._clock = clock
        self._leeway = leeway

    def verify(self, token: str) -> ChannelAssertion:
        client, alg, kid = self._channel_of(token)
        claims = self._verified_claims(token, client, alg, kid)
        self._check_times(claims)
        acr, amr = METHODS[claims["verified_by"]]
        jti = claims["jti"]
        # Single use by the expiring set's unique key (RFC 7523 3 for jti), never read-then-write.
        if not self._used.add_once(f"{client.client_id}:{jti}", int(claims["exp"]) + self._leeway):
            raise AssertionRejected("replayed")
        return ChannelAssertion(
            channel_id=client.client_id,
            sign_no=claims["sub"],
            assurance=Assurance(acr=acr, amr=amr, auth_time=int(claims["auth_time"])),
            jti=jti,
        )

    def _channel_of(self, token: str) -> tuple[Client, str, str | None]:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AssertionRejected("malformed") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise AssertionRejected("alg not allowed")
        iss = unverified.get("iss")
        client = self._clients(iss) if isinstance(iss, str) and iss else None
        if client is None or not client.active:
            raise AssertionRejected("unknown channel")
        kid = header.get("kid")
        return client, alg, kid if isinstance(kid, str) else None

    def _verified_claims(
        self, token: str, client: Client, alg: str, kid: str | None
    ) -> dict[str, Any]:
        for key in self._keys.keys_for(client):
            if kid is not None and key.key_id != kid:
                continue
            try:
                claims: dict[str, Any] = jwt.decode(
                    token,
                    key.key,
                    algorithms=[alg],
                    audience=self._issuer,
                    issuer=client.client_id,
                    # Times against the injected clock in _check_times, not PyJWT's wall clock.
                    options={
                        "require": list(REQUIRED),
                        "verify_exp": False,
                        "verify_iat": False,
                        "verify_nbf": False,
                    },
                )
            except (jwt.InvalidSignatureError, jwt.InvalidKeyError, jwt.InvalidAlgorithmError):
                continue
            except jwt.InvalidAudienceError:
                raise AssertionRejected("wrong audience") from None
            except jwt.PyJWTError as exc:
                raise AssertionRejected(f"invalid: {type(exc).__name__}") from None
            return self._well_typed(claims)
        raise AssertionRejected("signature does not verify")

    @staticmethod
    def _well_typed(claims: dict[str, Any]) -> dict[str, Any]:
        for name in ("exp", "iat", "auth_time"):
            if not isinstance(claims[name], int) or isinstance(claims[name], bool):
                raise AssertionRejected(f"{name} is not a number")
        for name in ("sub", "jti"):
            if not isinstance(claims[name], str) or not 1 <= len(claims[name]) <= 256:
                raise AssertionRejected(f"{name} is malformed")
        if claims["verified_by"] not in METHODS:
            raise AssertionRejected("unknown verified_by")
        return claims

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self._clock()
        if claims["exp"] + self._leeway <= now:
            raise AssertionRejected("expired")
        if claims["iat"] - self._leeway > now or claims["auth_time"] - self._leeway > now:
            raise AssertionRejected("issued in the future")
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and nbf - self._leeway > now:
            raise AssertionRejected("not yet valid")
        if claims["exp"] - claims["iat"] > MAX_LIFETIME:
            raise AssertionRejected("lives longer than 5 minutes")
        if claims["auth_time"] > claims["iat"] + self._leeway:
            raise AssertionRejected("auth_time after iat")
