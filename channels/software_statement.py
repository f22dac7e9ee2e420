"""Software statements (RFC 7591 2.3): what the platform operator vouches for about a channel.

The operator signs a JWT for an approved organisation. Its claims fix what the channel may become:
its kind, its name, the most scopes and grant types it may register, and for a second-tier
channel (essc-domain 1.2) its first-tier parent. They take precedence over the request's
metadata (RFC 7591 2.3 last paragraph). Pure: no Flask, no storage; single use (``jti``) is the
caller's job, after everything else passed, so a refused request does not burn a statement.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from channels.client import GRANT_TYPES
from channels.kinds import ALLOWED_SCOPES
from channels.kinds import DEFAULT_SCOPES
from channels.kinds import ChannelKind
from keys.ring import InvalidSignature
from keys.ring import check_times

#: The operator's choice of the FAPI 2.0 Security Profile for the channel (idp.oauth.fapi2).
FAPI2_CLAIM = "essc_fapi2_security_profile"

#: Explicit typing (RFC 8725 3.11): no other JWT the platform handles can pass as a statement.
TYP = "software-statement+jwt"
ALGS = ("ES256", "EdDSA", "PS256", "RS256")
#: Longest a statement may be valid; the operator hands it over, the channel registers soon.
MAX_LIFETIME = 90 * 24 * 3600
MAX_LENGTH = 8192


class StatementError(ValueError):
    """RFC 7591 3.2.2 ``invalid_software_statement`` / ``unapproved_software_statement``."""

    def __init__(self, error: str, description: str, *, detail: str | None = None) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.detail = detail or description


def invalid(description: str, detail: str | None = None) -> StatementError:
    return StatementError("invalid_software_statement", description, detail=detail)


def unapproved(description: str, detail: str | None = None) -> StatementError:
    return StatementError("unapproved_software_statement", description, detail=detail)


@dataclass(frozen=True)
class SoftwareStatement:
    """The verified claims, as the limits they impose."""

    jwt: str
    claims: dict[str, Any]
    jti: str
    exp: int
    software_id: str
    kind: ChannelKind
    client_name: str | None
    scopes: frozenset[str]
    grant_types: frozenset[str]
    parent_client_id: str | None
    #: ``essc_fapi2_security_profile``: the operator's choice of the FAPI 2.0 profile, or None.
    fapi2: bool | None = None


def trusted_keys(jwks_json: str) -> dict[str, jwt.PyJWK]:
    """Parse ``ESSC_ONBOARDING_JWKS``: public keys with a ``kid`` each; ``ValueError`` if not."""
    if not jwks_json.strip():
        return {}
    try:
        document = json.loads(jwks_json)
        keys = {str(k["kid"]): jwt.PyJWK(k) for k in document["keys"] if isinstance(k, dict)}
    except (ValueError, KeyError, TypeError, jwt.PyJWTError):
        raise ValueError("ESSC_ONBOARDING_JWKS must be a JWK Set whose keys have a kid") from None
    if not keys or any(private in k._jwk_data for k in keys.values() for private in ("d", "p")):
        raise ValueError("ESSC_ONBOARDING_JWKS must hold public keys only")
    return keys


def issue_claims(
    *,
    issuer: str,
    now: int,
    ttl: int,
    jti: str,
    software_id: str,
    kind: str,
    client_name: str,
    scopes: list[str],
    grant_types: list[str],
    parent_client_id: str | None,
    fapi2: bool | None = None,
) -> dict[str, Any]:
    """The claims ``essc channels statement`` signs; ``ValueError`` for an impossible grant."""
    channel_kind = ChannelKind(kind)
    if not 0 < ttl <= MAX_LIFETIME:
        raise ValueError("the statement lifetime must be 1 second to 90 days")
    if any(s not in ALLOWED_SCOPES[channel_kind] for s in scopes):
        raise ValueError("a scope is not allowed for this channel kind")
    if any(g not in GRANT_TYPES for g in grant_types):
        raise ValueError("unsupported grant type")
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": issuer,
        "iat": now,
        "exp": now + ttl,
        "jti": jti,
        "software_id": software_id,
        "client_name": client_name,
        "essc_channel_kind": channel_kind.value,
        "scope": " ".join(scopes or sorted(DEFAULT_SCOPES[channel_kind])),
        "grant_types": grant_types or list(GRANT_TYPES),
    }
    if parent_client_id:
        claims["essc_parent_client_id"] = parent_client_id
    if fapi2 is not None:
        claims[FAPI2_CLAIM] = fapi2
    return claims


class StatementVerifier:
    """Checks signature, ``typ``, ``iss``, ``aud``, times and claim shapes (RFC 7591 2.3)."""

    def __init__(
        self,
        keys: dict[str, jwt.PyJWK],
        *,
        issuer: str,
        leeway: int,
        clock: Callable[[], float],
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._leeway = leeway
        self._clock = clock

    def verify(self, token: object) -> SoftwareStatement:
        if not isinstance(token, str) or not 0 < len(token) <= MAX_LENGTH:
            raise invalid("software_statement must be a compact JWT")
        key, alg = self._key_for(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self._issuer,
                issuer=self._issuer,
                options={
                    "require": ["iss", "aud", "exp", "iat", "jti"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidIssuerError:
            raise unapproved("the software statement has another issuer") from None
        except jwt.PyJWTError as exc:
            raise invalid("the software statement does not verify", type(exc).__name__) from None
        self._check_times(claims)
        return statement_from_claims(token, claims)

    def _key_for(self, token: str) -> tuple[jwt.PyJWK, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise invalid("software_statement must be a compact JWT") from None
        if str(header.get("typ", "")).lower() != TYP:
            raise invalid("the software statement has the wrong typ")
        alg = header.get("alg")
        key = self._keys.get(str(header.get("kid", "")))
        if key is None:
            raise unapproved("the software statement is not signed by the operator")
        if alg not in ALGS or key.algorithm_name not in (alg, None, ""):
            raise invalid("the software statement alg is not allowed")
        return key, str(alg)

    def _check_times(self, claims: dict[str, Any]) -> None:
        try:
            check_times(claims, self._clock(), self._leeway)
        except InvalidSignature as exc:
            raise invalid(
                "the software statement is expired or not yet valid", exc.reason
            ) from None
        if claims["exp"] - claims["iat"] > MAX_LIFETIME:
            raise invalid("the software statement lives too long")


def statement_from_claims(token: str, claims: dict[str, Any]) -> SoftwareStatement:
    """The limits a verified statement imposes; also rebuilt from storage for RFC 7592 updates."""
    jti, software_id = claims.get("jti"), claims.get("software_id")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 96:
        raise invalid("the software statement jti is missing or malformed")
    if not isinstance(software_id, str) or not 0 < len(software_id) <= 128:
        raise invalid("the software statement has no software_id")
    try:
        kind = ChannelKind(str(claims.get("essc_channel_kind")))
    except ValueError:
        raise invalid("the software statement names no known channel kind") from None
    fapi2 = claims.get(FAPI2_CLAIM)
    if fapi2 is not None and not isinstance(fapi2, bool):
        raise invalid("the software statement's essc_fapi2_security_profile is not a boolean")
    return SoftwareStatement(
        jwt=token,
        claims=claims,
        jti=jti,
        exp=int(claims["exp"]),
        software_id=software_id,
        kind=kind,
        client_name=_optional_str(claims, "client_name"),
        scopes=frozenset(_words(claims, "scope", " ".join(sorted(DEFAULT_SCOPES[kind])))),
        grant_types=frozenset(_list(claims, "grant_types", list(GRANT_TYPES))),
        parent_client_id=_optional_str(claims, "essc_parent_client_id"),
        fapi2=fapi2,
    )


def _optional_str(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= 128:
        raise invalid("a software statement claim is malformed")
    return value


def _words(claims: dict[str, Any], name: str, default: str) -> list[str]:
    value = claims.get(name, default)
    if not isinstance(value, str):
        raise invalid("a software statement claim is malformed")
    return value.split()


def _list(claims: dict[str, Any], name: str, default: list[str]) -> list[str]:
    value = claims.get(name, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid("a software statement claim is malformed")
    return value
