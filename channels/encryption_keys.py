"""The client's keys that ID tokens are encrypted to (OIDC Registration 2, OIDC Core 10.2).

A client that registers ``id_token_encrypted_response_alg`` puts a public key with
``use: enc`` in its ``jwks`` (RFC 7517 4.2); the provider encrypts each ID token to it with
``ECDH-ES+A256KW`` (RFC 7518 4.6) and ``A256GCM`` (RFC 7518 5.3). Only elliptic-curve keys on
the NIST curves fit ECDH-ES here; each is parsed, and its point checked to be on its curve
(pyca/cryptography refuses one that is not: an invalid-curve attack needs such a point).
Pure: no Flask, no storage.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

#: What ``id_token_encryption_alg_values_supported`` / ``enc_values_supported`` announce.
ID_TOKEN_ENCRYPTION_ALGS = ("ECDH-ES+A256KW",)
ID_TOKEN_ENCRYPTION_ENCS = ("A256GCM",)
#: RFC 7518 6.2.1.1: the curves, with the size of their coordinates in bytes.
_CURVES: dict[str, tuple[ec.EllipticCurve, int]] = {
    "P-256": (ec.SECP256R1(), 32),
    "P-384": (ec.SECP384R1(), 48),
    "P-521": (ec.SECP521R1(), 66),
}
_PRIVATE = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_B64URL = re.compile(r"[A-Za-z0-9_-]{1,100}")
_KEY_OPS = (["wrapKey"], ["deriveKey"], ["deriveBits"], ["encrypt"])


def is_encryption_key(key: object) -> bool:
    return isinstance(key, dict) and key.get("use") == "enc"


def check_encryption_jwk(key: dict[str, Any]) -> None:
    """``ValueError`` (a short public reason) unless ``key`` is a public EC key for
    ``ECDH-ES+A256KW`` on a NIST curve whose point is on that curve."""
    if key.get("kty") != "EC" or key.get("crv") not in _CURVES:
        raise ValueError("a jwks enc key must be EC on P-256, P-384 or P-521")
    if any(member in key for member in _PRIVATE):
        raise ValueError("jwks must hold public keys only")
    if key.get("alg", ID_TOKEN_ENCRYPTION_ALGS[0]) not in ID_TOKEN_ENCRYPTION_ALGS:
        raise ValueError("a jwks enc key's alg is not supported")
    if "key_ops" in key and key["key_ops"] not in _KEY_OPS:
        raise ValueError("a jwks enc key's key_ops are not for encryption")
    kid = key.get("kid", "")
    if not isinstance(kid, str) or len(kid) > 128 or not all(0x20 <= ord(c) < 0x7F for c in kid):
        raise ValueError("a jwks kid is malformed")
    curve, size = _CURVES[key["crv"]]
    x, y = (_coordinate(key.get(name), size) for name in ("x", "y"))
    try:
        ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
    except ValueError:
        raise ValueError("a jwks enc key is not on its curve") from None


def encryption_key(jwks: dict[str, Any] | None, alg: str) -> dict[str, Any] | None:
    """The first registered key ID tokens can be encrypted to with ``alg``, or None."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    for key in keys if isinstance(keys, list) else []:
        if not is_encryption_key(key) or key.get("alg", alg) != alg:
            continue
        try:
            check_encryption_jwk(key)
        except ValueError:
            continue
        return dict(key)
    return None


def _coordinate(value: object, size: int) -> int:
    if not isinstance(value, str) or not _B64URL.fullmatch(value):
        raise ValueError("a jwks member is not base64url")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("a jwks member is not base64url") from None
    if len(raw) != size:
        raise ValueError("a jwks enc key's coordinates have the wrong size")
    return int.from_bytes(raw, "big")
