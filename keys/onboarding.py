"""The platform operator's onboarding key: it signs software statements (RFC 7591 2.3).

This key is not in the key ring. The ring's keys sign tokens in every worker; the onboarding key
vouches that an organisation was approved, so it stays with the operator (a file on the
operator's machine, optionally encrypted) and the servers hold only its public JWK Set
(``ESSC_ONBOARDING_JWKS``). A compromised worker therefore cannot mint software statements.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from keys.jwk import public_jwk
from keys.jwk import thumbprint
from keys.jws import encode_header
from keys.jws import sign_compact

ALG = "ES256"


class OnboardingKeyError(ValueError):
    """The key file cannot be used (wrong passphrase, not a P-256 private key)."""


def generate(passphrase: bytes | None = None) -> bytes:
    """A new P-256 private key as PKCS#8 PEM, encrypted when a passphrase is given."""
    private = ec.generate_private_key(ec.SECP256R1())
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _load(pem: bytes, passphrase: bytes | None) -> ec.EllipticCurvePrivateKey:
    try:
        private = serialization.load_pem_private_key(pem, password=passphrase)
    except (ValueError, TypeError):
        raise OnboardingKeyError("cannot read the onboarding key (passphrase?)") from None
    if not isinstance(private, ec.EllipticCurvePrivateKey) or not isinstance(
        private.curve, ec.SECP256R1
    ):
        raise OnboardingKeyError("the onboarding key must be a P-256 private key")
    return private


def _jwk(private: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    jwk: dict[str, Any] = public_jwk(private.public_key())
    return {**jwk, "kid": thumbprint(jwk), "alg": ALG, "use": "sig"}


def public_jwks(pem: bytes, passphrase: bytes | None = None) -> dict[str, Any]:
    """The JWK Set to configure as ``ESSC_ONBOARDING_JWKS`` (public members only)."""
    return {"keys": [_jwk(_load(pem, passphrase))]}


def sign(pem: bytes, claims: dict[str, Any], *, typ: str, passphrase: bytes | None = None) -> str:
    """A compact JWS (RFC 7515) over ``claims`` with ``kid`` = the RFC 7638 thumbprint."""
    private = _load(pem, passphrase)
    header = encode_header(ALG, _jwk(private)["kid"], typ)
    return sign_compact(header, claims, private, ALG)
