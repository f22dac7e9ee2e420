"""Compact JWS signing (RFC 7515 7.1) for the algorithms of RFC 7518 3 and RFC 8037.

Signing is the token endpoint's hot path, so the protected header of each (key, typ) is encoded
once and reused, and the signature comes straight from pyca/cryptography. Verification stays
with PyJWT, which checks everything a verifier must.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from keys.algorithms import PrivateKey

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)  # RFC 7518 3.5
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def encode_header(alg: str, kid: str, typ: str) -> bytes:
    return _b64(_dumps({"alg": alg, "kid": kid, "typ": typ}).encode("utf-8"))


def sign_compact(header_b64: bytes, claims: dict[str, Any], key: PrivateKey, alg: str) -> str:
    return sign_compact_with(header_b64, claims, lambda data: signature(key, alg, data))


def sign_compact_with(
    header_b64: bytes, claims: dict[str, Any], sign: Callable[[bytes], bytes]
) -> str:
    """The compact JWS with a signing function: a key in memory, or one inside an HSM."""
    signing_input = header_b64 + b"." + _b64(_dumps(claims).encode("utf-8"))
    return (signing_input + b"." + _b64(sign(signing_input))).decode("ascii")


def signature(key: PrivateKey, alg: str, data: bytes) -> bytes:
    if alg == "ES256" and isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # RFC 7518 3.4: R || S
    if alg == "EdDSA" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if alg == "PS256" and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, _PSS, hashes.SHA256())
    if alg == "RS256" and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    raise ValueError("key does not match the algorithm")
