"""The status list (draft-ietf-oauth-status-list): which outstanding codes are revoked.

Pure. ``status_list_claims`` makes the JWT's claims; the issuer signs them with the QR key as a
``statuslist+jwt``. Entry ``i`` is bit ``i % 8`` (least significant first) of byte ``i // 8``
of the zlib-compressed, base64url-encoded ``lst``; one bit per entry (``bits`` = 1). The list
has 2**24 entries, one per possible status index, so its size says nothing about how many
codes or people exist, and an entry names a code, never a person (docs/qr-token.md 5).
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterable
from typing import Any

from idp.qr.token import STATUS_INDEX_BITS

ENTRIES = 2**STATUS_INDEX_BITS


def encode_bits(revoked: Iterable[int]) -> str:
    bits = bytearray(ENTRIES // 8)
    for index in revoked:
        if not 0 <= index < ENTRIES:
            raise ValueError("status index out of range")
        bits[index >> 3] |= 1 << (index & 7)
    compressed = zlib.compress(bytes(bits), 9)
    return base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def status_list_claims(
    revoked: Iterable[int], *, subject: str, now: int, ttl: int, lifetime: int
) -> dict[str, Any]:
    """``sub`` is the list's URL; ``ttl`` how soon a verifier should fetch it again."""
    return {
        "sub": subject,
        "iat": now,
        "exp": now + lifetime,
        "ttl": ttl,
        "status_list": {"bits": 1, "lst": encode_bits(revoked)},
    }
