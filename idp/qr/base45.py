"""Base45 (RFC 9285): bytes as text in the QR alphanumeric alphabet, 3 characters per 2 bytes.

Decoding is strict: a character outside the alphabet, a length of the form 3n+1 and a group whose
value does not fit its bytes (RFC 9285 4.3: "ZZZ" is 0x1B6A7 > 0xFFFF) are all errors, so one text
decodes to one byte string and one byte string has one text.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


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
    if len(text) % 3 == 1:
        raise Base45Error("Base45 length 3n+1")
    try:
        values = [_VALUE[c] for c in text]
    except KeyError:
        raise Base45Error("not a Base45 character") from None
    out = bytearray()
    full = len(values) - len(values) % 3
    for i in range(0, full, 3):
        n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025
        if n > 0xFFFF:
            raise Base45Error("Base45 group out of range")
        out += n.to_bytes(2, "big")
    if full < len(values):
        n = values[full] + values[full + 1] * 45
        if n > 0xFF:
            raise Base45Error("Base45 group out of range")
        out.append(n)
    return bytes(out)
