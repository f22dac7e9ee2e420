"""Synthetic cardholders, the same for the same seed: valid GB 11643 ID numbers, card numbers,
names and PINs, with no two people sharing an ID or a card number.

The i-th person's ID number comes from ``(a * i + b) mod M`` over the M numbers the region
list, the birth-date range and the sequence codes allow (``a`` coprime to M, both from the
seed): a permutation, so the numbers are unique and spread, not in load order. Card numbers
are issued in order, as a card bureau issues them.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
from dataclasses import dataclass

from idp.cardholders.gb11643 import check_character
from idp.cardholders.pin import check_pin_rules

#: County-level codes of GB/T 2260 (Beijing, Tianjin, Shanghai, Jiangsu, Zhejiang, Shandong,
#: Hubei, Guangdong, Chongqing, Sichuan, Shaanxi).
REGIONS = (
    "110101", "110102", "110105", "110106", "110108", "120101", "120103", "310101",
    "310104", "310115", "320102", "320106", "330102", "330106", "370102", "420102",
    "440103", "440104", "440106", "440305", "500103", "510104", "610102", "610113",
)  # fmt: skip
FIRST_BIRTH = dt.date(1940, 1, 1)
BIRTH_DAYS = (dt.date(2005, 12, 31) - FIRST_BIRTH).days + 1
SEQUENCES = 1000
CAPACITY = len(REGIONS) * BIRTH_DAYS * SEQUENCES
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉力鹏宇浩然欣怡晨阳"
#: Everyone's PIN, and the one for the few whose ID number contains it (the enrolment rule
#: ``check_pin_rules`` refuses a PIN taken from the ID number). Two PINs, two argon2 hashes.
PINS = ("802413", "935170")
_CARD_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Cardholder:
    index: int
    name: str
    id_number: str
    region_code: str
    card_number: str
    pin: str


@dataclass(frozen=True)
class Permutation:
    """``i -> (a * i + b) mod CAPACITY``, a bijection on ``range(CAPACITY)``."""

    a: int
    b: int

    @classmethod
    def from_seed(cls, seed: int) -> Permutation:
        rng = random.Random(f"essc-scale-ids-{seed}")  # noqa: S311 - a reproducible data set, not secrets
        a = rng.randrange(CAPACITY // 3, CAPACITY)
        while math.gcd(a, CAPACITY) != 1:
            a += 1
        return cls(a % CAPACITY, rng.randrange(CAPACITY))

    def __call__(self, i: int) -> int:
        return (self.a * i + self.b) % CAPACITY


@functools.cache
def _birth_dates() -> tuple[str, ...]:
    """Every birth date of the range as ``YYYYMMDD`` (formatting a date per row costs more)."""
    return tuple(f"{FIRST_BIRTH + dt.timedelta(days=d):%Y%m%d}" for d in range(BIRTH_DAYS))


def id_number(slot: int) -> tuple[str, str]:
    """The ID number (and its region) of one slot in ``range(CAPACITY)``."""
    slot, sequence = divmod(slot, SEQUENCES)
    region, day = divmod(slot, BIRTH_DAYS)
    first17 = f"{REGIONS[region]}{_birth_dates()[day]}{sequence:03d}"
    return first17 + check_character(first17), REGIONS[region]


def card_number(i: int) -> str:
    """Letter and 8 digits, issued in order: ``A00000000``, ``A00000001``, ..."""
    letter, number = divmod(i, 10**8)
    return f"{_CARD_LETTERS[letter]}{number:08d}"


def pin_for(id_no: str) -> str:
    return PINS[0] if PINS[0] not in id_no else PINS[1]


def name(i: int, seed: int) -> str:
    h = (i * 2654435761 + seed) & 0xFFFFFFFF
    given = GIVEN[h % len(GIVEN)] + ("" if h & 1 << 20 else GIVEN[(h >> 8) % len(GIVEN)])
    return SURNAMES[(h >> 16) % len(SURNAMES)] + given


def cardholder(i: int, seed: int, permutation: Permutation | None = None) -> Cardholder:
    """The i-th cardholder of the data set ``seed``."""
    if not 0 <= i < CAPACITY:
        raise ValueError(f"at most {CAPACITY} cardholders")
    id_no, region = id_number((permutation or Permutation.from_seed(seed))(i))
    return Cardholder(i, name(i, seed), id_no, region, card_number(i), pin_for(id_no))


def check_pins() -> None:
    """Both PINs pass the enrolment rules for an ID number that does not contain them."""
    for pin in PINS:
        check_pin_rules(pin, "")
