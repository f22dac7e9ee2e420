"""The e-card PIN: six digits, argon2id-hashed, with rules against guessable choices.

Rules (documented in docs/architecture.md): exactly 6 ASCII digits; not a run (each digit one
more, or one less, than the last: 123456, 876543); no repeats (one digit three times in a row,
111xxx; or a repeated pattern: 121212, 123123, 112233); not any 6-digit stretch of the
holder's ID number (their birth date, say).
"""

from __future__ import annotations

from itertools import pairwise

from argon2 import PasswordHasher
from argon2 import Type
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError

PIN_LENGTH = 6


class WeakPin(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_pin_rules(pin: str, id_number: str) -> None:
    """Raise ``WeakPin`` with the rule broken."""
    if len(pin) != PIN_LENGTH or not pin.isascii() or not pin.isdigit():
        raise WeakPin("the PIN must be exactly 6 digits")
    digits = [int(c) for c in pin]
    steps = {b - a for a, b in pairwise(digits)}
    if steps in ({1}, {-1}):
        raise WeakPin("the PIN must not be a run of consecutive digits")
    if any(pin[i] == pin[i + 1] == pin[i + 2] for i in range(PIN_LENGTH - 2)):
        raise WeakPin("the PIN must not repeat a digit three times in a row")
    if pin[:2] * 3 == pin or pin[:3] * 2 == pin or pin[0::2] == pin[1::2]:
        raise WeakPin("the PIN must not repeat a pattern")
    if pin in id_number:
        raise WeakPin("the PIN must not be taken from the ID number")


class PinHasher:
    """argon2id (RFC 9106) with OWASP's minimum cost by default."""

    def __init__(self, memory_kib: int = 19 * 1024, time_cost: int = 2) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=1, type=Type.ID
        )
        # Verified against when the card is unknown, so both paths cost the same time.
        self._decoy = self._hasher.hash("000000")

    def hash(self, pin: str) -> str:
        return self._hasher.hash(pin)

    def verify(self, stored: str | None, pin: str) -> bool:
        try:
            return self._hasher.verify(stored or self._decoy, pin) and stored is not None
        except (VerificationError, InvalidHashError):
            return False
