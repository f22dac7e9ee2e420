"""SHA256withRSA: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 8.2), base64 on the wire.

All three channels use this primitive; they differ only in the bytes they sign. Alipay calls it
``RSA2`` and WeChat Pay ``SHA256-RSA2048``; both require keys of at least 2048 bits, which
``require_strength`` enforces at start-up for every key a scheme is given.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa

from channels.signing.scheme import SignatureError
from channels.signing.scheme import SignFunction

MIN_BITS = 2048


def require_strength(key: rsa.RSAPublicKey) -> None:
    """Fail closed on configuration: only RSA keys of ``MIN_BITS`` or more are trusted.

    Signing keys never reach this package; ``keys/`` checks their size where it loads them.
    """
    if not isinstance(key, rsa.RSAPublicKey):
        raise TypeError("channel signing keys must be RSA keys")
    if key.key_size < MIN_BITS:
        raise ValueError(f"channel signing keys need at least {MIN_BITS} bits")


def sign(sign_function: SignFunction, message: bytes) -> str:
    """Base64 of the PKCS#1 v1.5 SHA-256 signature ``sign_function`` makes over ``message``."""
    return base64.b64encode(sign_function(message)).decode("ascii")


def verify(public_key: rsa.RSAPublicKey, message: bytes, signature: bytes) -> None:
    """Raise ``bad_signature`` unless ``signature`` (decoded) verifies over ``message``."""
    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureError("bad_signature") from None


def decode_base64(value: str) -> bytes:
    """Strict RFC 4648 section 4 decoding: no stray characters, padding required."""
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise SignatureError("malformed") from None
