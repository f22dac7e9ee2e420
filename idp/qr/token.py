"""The e-card QR code: a 20-byte body and a 64-byte signature in Base45 (docs/qr-token.md).

Pure: no Flask, no database, no key storage. ``encode`` takes a signing function and ``decode``
only parses, so the same code serves the issuer, the offline verifier and the tests' vectors.

Layout of version 1 (all integers big-endian)::

    offset  size  field
    0       1     version, 0x01
    1       1     purpose (low 4 bits) | 0x80 when an actor follows; other bits 0
    2       4     kid: first 4 bytes of the SHA-256 JWK thumbprint (RFC 7638) of the key
    6       4     issued_at: start of validity, Unix seconds
    10      2     lifetime in seconds (1..65535); expires_at = issued_at + lifetime
    12      8     ecard_ref: random per code, resolved by the issuer only (also the nonce)
    20      8     actor_ref (only with 0x80): the same kind of handle for a family proxy
    20|28   64    signature (Ed25519, or ES256 as raw r || s) over PREFIX + everything before

The text is ``PREFIX`` followed by Base45 of the bytes: 130 characters (142 with an actor), a
version-6 QR symbol at error correction M either way (154 alphanumeric characters).
"""

from __future__ import annotations

import base64
import enum
import struct
from collections.abc import Callable
from dataclasses import dataclass

from idp.qr.base45 import Base45Error
from idp.qr.base45 import b45decode
from idp.qr.base45 import b45encode

PREFIX = "SC1:"
VERSION = 1
KID_LEN = 4
REF_LEN = 8
SIGNATURE_LEN = 64
ACTOR_FLAG = 0x80
MAX_LIFETIME = 0xFFFF
_HEAD_LEN = 1 + 1 + KID_LEN + 4 + 2
#: version, flags, kid, issued_at, lifetime, ecard_ref: one unpack on the verifier's hot path.
_FIXED = struct.Struct(">BB4sIH8s")
_PREFIX_BYTES = PREFIX.encode("ascii")
#: The status list has 2**STATUS_INDEX_BITS entries; a code's index is the top bits of its ref.
STATUS_INDEX_BITS = 24

REASONS = frozenset(
    {
        "malformed",
        "bad_signature",
        "unknown_key",
        "expired",
        "not_yet_valid",
        "wrong_purpose",
        "revoked",
        # Server side only (``idp.qr.service``): a payment code of an e-card below level 2.
        "level_too_low",
    }
)


class QrTokenError(Exception):
    """Why a code is refused; ``reason`` is one of ``REASONS`` and safe to show anyone."""

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown QR refusal reason {reason!r}")
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Purpose(enum.Enum):
    IDENTITY = "identity"
    MEDICAL = "medical"
    PAYMENT = "payment"
    TRANSIT = "transit"

    @property
    def code(self) -> int:
        return _PURPOSE_CODES[self]

    @classmethod
    def parse(cls, value: str) -> Purpose:
        try:
            return cls(value)
        except ValueError:
            raise ValueError("purpose must be one of " + ", ".join(p.value for p in cls)) from None


_PURPOSE_CODES = {Purpose.IDENTITY: 1, Purpose.MEDICAL: 2, Purpose.PAYMENT: 3, Purpose.TRANSIT: 4}
_PURPOSE_OF_CODE = {code: purpose for purpose, code in _PURPOSE_CODES.items()}


@dataclass(frozen=True, slots=True)
class QrToken:
    """What a code says. ``issued_at`` is the start of its validity window: the codes of a batch
    each carry their own window's start, so they share no timestamp a scanner could link."""

    purpose: Purpose
    kid: bytes
    issued_at: int
    expires_at: int
    ecard_ref: bytes
    actor: bytes | None = None
    version: int = VERSION

    def __post_init__(self) -> None:
        if self.version != VERSION:
            raise ValueError("unsupported version")
        if len(self.kid) != KID_LEN or len(self.ecard_ref) != REF_LEN:
            raise ValueError("kid is 4 bytes, ecard_ref 8")
        if self.actor is not None and len(self.actor) != REF_LEN:
            raise ValueError("actor is 8 bytes")
        if not 0 <= self.issued_at < 2**32:
            raise ValueError("issued_at must fit 32 bits")
        if not 0 < self.expires_at - self.issued_at <= MAX_LIFETIME:
            raise ValueError("lifetime must be 1 to 65535 seconds")

    @property
    def nonce(self) -> bytes:
        """The random part; ``ecard_ref`` is random per code, so it is the nonce too."""
        return self.ecard_ref

    @property
    def code_id(self) -> str:
        """The code's stable unique id (single-use redemption keys on it): the ref in hex."""
        return self.ecard_ref.hex()

    @property
    def status_index(self) -> int:
        """The code's entry in the status list (docs/qr-token.md 5)."""
        return status_index(self.ecard_ref)

    def body(self) -> bytes:
        flags = self.purpose.code | (ACTOR_FLAG if self.actor is not None else 0)
        head = bytes((self.version, flags)) + self.kid
        head += self.issued_at.to_bytes(4, "big")
        head += (self.expires_at - self.issued_at).to_bytes(2, "big")
        return head + self.ecard_ref + (self.actor or b"")


@dataclass(frozen=True, slots=True)
class Decoded:
    """A parsed code: the token, the exact bytes the signature covers, and the signature."""

    token: QrToken
    signing_input: bytes
    signature: bytes


def signing_input(body: bytes) -> bytes:
    """The prefix is signed too, so a code cannot be re-labelled as another format."""
    return _PREFIX_BYTES + body


def encode(token: QrToken, sign: Callable[[bytes], bytes]) -> str:
    body = token.body()
    signature = sign(signing_input(body))
    if len(signature) != SIGNATURE_LEN:
        raise ValueError("the signature must be 64 bytes (Ed25519, or ES256 as r || s)")
    return PREFIX + b45encode(body + signature)


def decode(text: str) -> Decoded:
    """Parse a code without verifying it; ``QrTokenError("malformed")`` for anything off."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise QrTokenError("malformed", "not an e-card QR code")
    try:
        raw = b45decode(text[len(PREFIX) :])
    except Base45Error as exc:
        raise QrTokenError("malformed", str(exc)) from None
    if len(raw) < _HEAD_LEN + REF_LEN + SIGNATURE_LEN:
        raise QrTokenError("malformed", "too short")
    version, flags, kid, issued_at, lifetime, ref = _FIXED.unpack_from(raw)
    if version != VERSION:
        raise QrTokenError("malformed", "unsupported version")
    purpose = _PURPOSE_OF_CODE.get(flags & ~ACTOR_FLAG)
    if purpose is None:
        raise QrTokenError("malformed", "unknown purpose")
    has_actor = flags & ACTOR_FLAG
    body_len = _FIXED.size + (REF_LEN if has_actor else 0)
    if len(raw) != body_len + SIGNATURE_LEN:
        raise QrTokenError("malformed", "wrong length")
    if lifetime == 0:
        raise QrTokenError("malformed", "zero lifetime")
    actor = raw[_FIXED.size : body_len] if has_actor else None
    token = QrToken(purpose, kid, issued_at, issued_at + lifetime, ref, actor)
    return Decoded(token, _PREFIX_BYTES + raw[:body_len], raw[body_len:])


def status_index(ecard_ref: bytes) -> int:
    """A code's status list entry: the top ``STATUS_INDEX_BITS`` bits of its random ref."""
    return int.from_bytes(ecard_ref[:3], "big") >> (24 - STATUS_INDEX_BITS)


def short_kid(thumbprint_b64url: str) -> bytes:
    """The 4 kid bytes a code carries for a key whose RFC 7638 thumbprint is given."""
    padded = thumbprint_b64url + "=" * (-len(thumbprint_b64url) % 4)
    digest = base64.urlsafe_b64decode(padded)
    if len(digest) != 32:
        raise ValueError("not a SHA-256 thumbprint")
    return digest[:KID_LEN]
