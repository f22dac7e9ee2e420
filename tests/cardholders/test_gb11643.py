"""GB 11643-1999 citizen ID numbers: ISO 7064 MOD 11-2 check character, birth date, masking.

The valid vectors were computed independently of ``idp.cardholders.gb11643`` with the standard's
weights derived as 2**(17 - i) mod 11.
"""

from __future__ import annotations

import pytest

from idp.cardholders.gb11643 import InvalidIdNumber
from idp.cardholders.gb11643 import check_character
from idp.cardholders.gb11643 import is_valid_id_number
from idp.cardholders.gb11643 import mask_card_number
from idp.cardholders.gb11643 import mask_id_number
from idp.cardholders.gb11643 import normalize_id_number

VALID = [
    "11010519491231002X",  # check character X
    "310115199003071239",
    "440300200002294511",  # 29 February of a leap year
    "510108200511110037",
    "110101190001010014",  # the earliest accepted year
    "650102199912318880",  # check character 0
]


@pytest.mark.parametrize("number", VALID)
def test_valid_numbers(number: str) -> None:
    assert normalize_id_number(number) == number
    assert is_valid_id_number(number)
    assert check_character(number[:17]) == number[17]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("11010519491231002x", "11010519491231002X"),  # lower-case x
        ("  11010519491231002X\n", "11010519491231002X"),  # surrounding whitespace
    ],
)
def test_normalisation(raw: str, expected: str) -> None:
    assert normalize_id_number(raw) == expected


@pytest.mark.parametrize(
    "number",
    [
        "110105194912310021",  # X expected
        "31011519900307123X",  # 9 expected
        "440300200002294510",
        "650102199912318881",
    ],
)
def test_wrong_check_digit(number: str) -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        normalize_id_number(number)
    assert caught.value.reason == "the check digit does not match"
    assert not is_valid_id_number(number)


def _with_check(first17: str) -> str:
    """A number whose only fault can be its date: the check character is made right."""
    return first17 + check_character(first17)


@pytest.mark.parametrize(
    ("first17", "reason"),
    [
        ("11010519490230002", "the birth date is not a date"),  # 30 February
        ("11010519001329002", "the birth date is not a date"),  # month 13
        ("11010520010229002", "the birth date is not a date"),  # 2001 is not a leap year
        ("11010519490000002", "the birth date is not a date"),  # month and day 0
        ("11010518991231002", "the birth date is out of range"),  # before 1900
        ("11010520990101002", "the birth date is out of range"),  # in the future
    ],
)
def test_bad_dates(first17: str, reason: str) -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        normalize_id_number(_with_check(first17))
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "11010519491231002",  # 17 characters
        "11010519491231002XX",  # 19 characters
        "110105491231002",  # the old 15-digit form
        "01010519491231002X",  # region code cannot start with 0
        "1101051949123100X2",  # X only as the check character
        "11010519491231002Y",
        "110105-1949123100",
        "1\uff11010519491231002X",  # a full-width 1: int() reads it, the shape must not
        "1\u0661010519491231002X",  # an Arabic-Indic 1: likewise
        "11010519491231002\uff38",  # a full-width X
    ],
)
def test_bad_shapes(raw: str) -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        normalize_id_number(raw)
    assert caught.value.reason == "must be 18 characters: 17 digits and a digit or X"


def test_error_never_contains_the_number() -> None:
    number = "110105194912310021"
    with pytest.raises(InvalidIdNumber) as caught:
        normalize_id_number(number)
    assert number not in str(caught.value) and "0021" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("110105194912311234", "1101**********1234"),
        ("11010519491231002X", "1101**********002X"),
        ("12345678", "12345678"),  # nothing in the middle to hide
        ("1234567", "*******"),  # too short to show anything
        ("", ""),
    ],
)
def test_mask_id_number(value: str, masked: str) -> None:
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("A00000001", "A0*****01"), ("ABCDE", "AB*DE"), ("ABCD", "****")],
)
def test_mask_card_number(value: str, masked: str) -> None:
    assert mask_card_number(value) == masked
