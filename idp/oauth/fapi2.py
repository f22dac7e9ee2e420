"""The FAPI 2.0 Security Profile (OpenID FAPI 2.0 Security Profile, Final) per client.

A client registered with ``essc_fapi2_security_profile`` (payment-kind channels and merchants
by default when they onboard, ``channels.kinds.FAPI2_KINDS``) is held to the profile. Each rule
is one small named check, in the order ``REGISTRATION`` runs them (node-oidc-provider's
ordered checks); ``docs/security-profile.md`` gives each one's reason and clause. Registration
refuses what the profile forbids (``InvalidClientMetadata``) and turns on what it implies
(PAR, DPoP, no refresh rotation), so the existing per-client switches enforce those at run
time; the rest are enforced where the request is (``assertion_max_age``, ``allowed_algs``,
``allows_secret``, ``code_ttl``). No Flask, no SQLAlchemy here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from channels.client import Client
from channels.registration import JWK_ALGS
from channels.registration import ClientMetadata
from channels.registration import InvalidClientMetadata

#: FAPI 2.0 5.4.1 (1.2): the only JWS algorithms, for every JWT the client or server makes.
ALGS = ("ES256", "PS256", "EdDSA")
#: The longest a client assertion may live (``exp - iat`` and ``exp - now``), in seconds.
MAX_ASSERTION_AGE = 120
#: FAPI 2.0 5.3.2.1 (11): authorization codes live at most 60 seconds.
MAX_CODE_TTL = 60
#: FAPI 2.0 5.3.2.1 (6): private_key_jwt, or mutual TLS (RFC 8705 2) once it is registered.
AUTH_METHODS = ("private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth")

MetadataCheck = Callable[[ClientMetadata], ClientMetadata]


def _refuse(description: str) -> InvalidClientMetadata:
    return InvalidClientMetadata("invalid_client_metadata", description)


# -- registration: what the profile forbids -------------------------------------------------
def check_asymmetric_client_authentication(m: ClientMetadata) -> ClientMetadata:
    """5.3.2.1 (3, 6): confidential clients that authenticate with private_key_jwt or mTLS;
    a shared secret can be replayed by whoever reads it."""
    if m.token_endpoint_auth_method not in AUTH_METHODS:
        raise _refuse("a FAPI 2.0 client authenticates with private_key_jwt or mutual TLS")
    return m


def check_key_algorithms(m: ClientMetadata) -> ClientMetadata:
    """5.4.1 (1.2): every registered key is used with ES256, PS256 or EdDSA; an RSA key
    without ``alg`` would be used with RS256 (``channels.registration.JWK_ALGS``)."""
    for key in (m.jwks or {}).get("keys", []):
        kty, crv = key.get("kty", ""), key.get("crv", "")
        default = JWK_ALGS.get(kty, {}).get(crv, ("",))[0]
        if key.get("alg", default) not in ALGS:
            raise _refuse("a FAPI 2.0 client's keys are ES256, PS256 or EdDSA keys")
    return m


def check_id_token_algorithm(m: ClientMetadata) -> ClientMetadata:
    """5.4.1 (1.2): ID tokens for the client are signed with ES256, PS256 or EdDSA."""
    if m.id_token_signed_response_alg not in ALGS:
        raise _refuse("a FAPI 2.0 client's id_token_signed_response_alg is ES256, PS256 or EdDSA")
    return m


# -- registration: what the profile implies ------------------------------------------------
def imply_pushed_requests(m: ClientMetadata) -> ClientMetadata:
    """5.3.2.2 (3): authorization requests only through PAR (RFC 9126 6)."""
    return replace(m, require_pushed_authorization_requests=True)


def imply_sender_constrained_tokens(m: ClientMetadata) -> ClientMetadata:
    """5.3.2.1 (4, 5): sender-constrained access tokens only: DPoP (RFC 9449 5.2), unless
    the client's tokens are bound to its certificate (RFC 8705 3, the mTLS hook below)."""
    if certificate_bound(m):
        return m
    return replace(m, dpop_bound_access_tokens=True)


def imply_no_refresh_rotation(m: ClientMetadata) -> ClientMetadata:
    """5.3.2.1 (9): no refresh-token rotation; the token is sender-constrained instead."""
    return replace(m, rotate_refresh_tokens=False)


#: The order the registration checks run in; the first to refuse decides the answer.
REGISTRATION: tuple[MetadataCheck, ...] = (
    check_asymmetric_client_authentication,
    check_key_algorithms,
    check_id_token_algorithm,
    imply_pushed_requests,
    imply_sender_constrained_tokens,
    imply_no_refresh_rotation,
)


def profiled(metadata: ClientMetadata) -> ClientMetadata:
    """The metadata to store: unchanged without the profile, else through ``REGISTRATION``."""
    if not metadata.fapi2_security_profile:
        return metadata
    for check in REGISTRATION:
        metadata = check(metadata)
    return metadata


def certificate_bound(m: ClientMetadata) -> bool:
    """The mTLS hook: RFC 8705 3.4 ``tls_client_certificate_bound_access_tokens``, which the
    certificate-bound tokens' work adds to the metadata; until then no client has it."""
    return bool(getattr(m, "tls_client_certificate_bound_access_tokens", False))


# -- run time: where the request is --------------------------------------------------------
def allows_secret(client: Client) -> bool:
    """5.3.2.1 (6) at the endpoints: a FAPI 2.0 client never authenticates with a secret,
    whatever its row says."""
    return not client.fapi2_security_profile


def allowed_algs(client: Client, algs: tuple[str, ...]) -> tuple[str, ...]:
    """5.4.1 (1.2): of ``algs``, those ``client`` may sign its assertions and request
    objects with."""
    return tuple(a for a in algs if a in ALGS) if client.fapi2_security_profile else algs


def assertion_max_age(client: Client, configured: int) -> int:
    """A FAPI 2.0 client's assertion lives at most two minutes (``MAX_ASSERTION_AGE``)."""
    return min(configured, MAX_ASSERTION_AGE) if client.fapi2_security_profile else configured


def code_ttl(client: Client | None, configured: int) -> int:
    """5.3.2.1 (11): a FAPI 2.0 client's codes live at most 60 seconds, whatever
    ``ESSC_AUTHORIZATION_CODE_TTL`` says."""
    if client is not None and client.fapi2_security_profile:
        return min(configured, MAX_CODE_TTL)
    return configured
