"""Citizen ID numbers (公民身份号码), GB 11643-1999.

18 characters: a 6-digit region code (GB/T 2260), an 8-digit birth date, a 3-digit sequence and
an ISO 7064 MOD 11-2 check character (0-9 or X).
"""

from __future__ import annotations

import datetime as dt
import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"[1-9][0-9]{16}[0-9X]")  # ASCII only: \d also matches "١" and "１"


class InvalidIdNumber(ValueError):
    """Not a valid GB 11643 number; ``reason`` says which rule failed (never the number)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalize_id_number(raw: str) -> str:
    """Upper-case, stripped and validated; raises ``InvalidIdNumber``."""
    value = raw.strip().upper()
    if not _SHAPE.fullmatch(value):
        raise InvalidIdNumber("must be 18 characters: 17 digits and a digit or X")
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdNumber("the birth date is not a date") from None
    if born.year < 1900 or born > dt.date.today():
        raise InvalidIdNumber("the birth date is out of range")
    if check_character(value[:17]) != value[17]:
        raise InvalidIdNumber("the check digit does not match")
    return value


def is_valid_id_number(raw: str) -> bool:
    try:
        normalize_id_number(raw)
    except InvalidIdNumber:
        return False
    return True


def mask_id_number(value: str) -> str:
    """``1101**********1234``: the first four and last four characters, never more."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_card_number(value: str) -> str:
    """Card numbers keep their first and last two characters: ``A0*****01``."""
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]
