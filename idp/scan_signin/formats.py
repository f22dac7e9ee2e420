"""What scan-to-sign-in puts on the wire (docs/scan-signin.md "Formats"): the QR text, the
numbers to match and the approximate networks compared. No Flask, no SQLAlchemy.

The QR carries only an opaque reference (RFC 4648 base32 of 20 random bytes) behind a fixed
prefix, all in the QR alphanumeric set so the symbol stays small (version 3 at level M).
"""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets

QR_PREFIX = "ESSC:SIGNIN:"
_QR_TEXT = re.compile(r"ESSC:SIGNIN:([A-Z2-7]{32})", re.ASCII)
#: Longer input is refused before the pattern runs.
MAX_QR_TEXT = 64
#: Two-digit numbers, so the three choices read at a glance.
NUMBERS = range(10, 100)
CHOICES = 3


def new_reference() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def qr_text(reference: str) -> str:
    return QR_PREFIX + reference


def parse_qr_text(value: object) -> str | None:
    """The reference in a scanned QR text, or None for anything else (a lone surrogate, a NUL
    byte or a lower-case copy included: only the exact format is a reference)."""
    if not isinstance(value, str) or len(value) > MAX_QR_TEXT:
        return None
    found = _QR_TEXT.fullmatch(value)
    return found.group(1) if found else None


def parse_number(value: object) -> int | None:
    """The number the citizen picked: an integer of ``NUMBERS`` (not a bool, not a string)."""
    if isinstance(value, bool) or not isinstance(value, int) or value not in NUMBERS:
        return None
    return value


def number_and_choices() -> tuple[int, list[int]]:
    """The number the PC shows and the three the phone offers, shuffled, the right one among
    them (number matching: the citizen must look at the PC to choose)."""
    picked: list[int] = []
    while len(picked) < CHOICES:
        n = NUMBERS[secrets.randbelow(len(NUMBERS))]
        if n not in picked:
            picked.append(n)
    number = picked[0]
    secrets.SystemRandom().shuffle(picked)
    return number, picked


def network_of(address: str | None) -> str:
    """The address's approximate network: its IPv4 /24 or IPv6 /48 prefix ("unknown" if it is
    not an address). Only the prefix is stored or shown."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def far_apart(pc_network: str, phone_network: str) -> bool:
    """Whether the phone is not near the PC: different address families, an unknown side, or
    no common IPv4 /16 (IPv6 /32). A flag for the audit and the channel, not a refusal: a
    phone on mobile data is often far from the PC's broadband by this measure."""
    try:
        pc = ipaddress.ip_network(pc_network)
        phone = ipaddress.ip_network(phone_network)
    except ValueError:
        return True
    if pc.version != phone.version:
        return True
    wide = 16 if pc.version == 4 else 32
    return pc.supernet(new_prefix=wide) != phone.supernet(new_prefix=wide)
