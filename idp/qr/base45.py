"""Base45 (RFC 9285): bytes as text in the QR alphanumeric alphabet, 3 characters per 2 bytes.

Decoding is strict: a character outside the alphabet, a length of the form 3n+1 and a group whose
value does not fit its bytes (RFC 9285 4.3: "ZZZ" is 0x1B6A7 > 0xFFFF) are all errors, so one text
decodes to one byte string and one byte string has one text.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INVALID = 0xFF
_TABLE = bytes(ALPHABET.index(chr(b)) if chr(b) in ALPHABET else _INVALID for b in range(256))


class Base45Error(ValueError):
    pass


def b45encode(data: bytes) -> str:
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += (ALPHABET[c], ALPHABET[d], ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += (ALPHABET[c], ALPHABET[d])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Strict decoding without a Python loop per group (the offline verifier's hot path):
    ``translate`` maps characters to values; the three digits of every group go into 32-bit
    lanes of three big integers, so one multiply-add computes every group at once (a group is
    at most 44 + 44 * 45 + 44 * 2025 < 2**32: no lane carries into the next)."""
    if len(text) % 3 == 1:
        raise Base45Error("Base45 length 3n+1")
    if not text.isascii():
        raise Base45Error("not a Base45 character")
    values = text.encode("ascii").translate(_TABLE)
    if _INVALID in values:
        raise Base45Error("not a Base45 character")
    full = len(values) - len(values) % 3
    count = full // 3
    digits = []
    for offset in range(3):
        spread = bytearray(4 * count)
        spread[3::4] = values[offset:full:3]
        digits.append(int.from_bytes(spread, "big"))
    groups = (digits[0] + digits[1] * 45 + digits[2] * 2025).to_bytes(4 * count, "big")
    if groups[0::4] != bytes(count) or groups[1::4] != bytes(count):
        raise Base45Error("Base45 group out of range")
    out = bytearray(2 * count)
    out[0::2], out[1::2] = groups[2::4], groups[3::4]
    if full < len(values):
        last = values[full] + values[full + 1] * 45
        if last > 0xFF:
            raise Base45Error("Base45 group out of range")
        out.append(last)
    return bytes(out)
