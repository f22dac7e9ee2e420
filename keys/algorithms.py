"""The signature algorithms essc-idp signs with, and how to make a key for each (RFC 7518 3)."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import rsa

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey

#: ES256 is the default (small, fast, FAPI 2.0); EdDSA for modern clients; PS256 for FAPI
#: clients on RSA; RS256 only because OIDC Core 15.1 makes it mandatory to implement.
SIGNING_ALGS: tuple[str, ...] = ("ES256", "EdDSA", "PS256", "RS256")
RSA_BITS = 2048


def generate_private_key(alg: str) -> PrivateKey:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg in ("PS256", "RS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    raise ValueError("unsupported signing algorithm")
