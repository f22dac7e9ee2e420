"""The pure rules: minors by the GB 11643 birth date, guardian expiry, roles."""

from __future__ import annotations

import datetime as dt

from idp.family import rules
from tests.family.helpers import id_number


def epoch(day: str) -> int:
    date = dt.date.fromisoformat(day)
    return int(dt.datetime(date.year, date.month, date.day, tzinfo=rules.CST).timestamp())


def test_sixteen_by_the_birth_date_in_china_standard_time() -> None:
    number = id_number("20100615")
    assert rules.birth_date(number) == dt.date(2010, 6, 15)
    assert rules.is_minor(number, epoch("2026-06-15") - 1)
    assert not rules.is_minor(number, epoch("2026-06-15"))


def test_a_leap_day_birth_comes_of_age_on_the_first_of_march() -> None:
    assert rules.coming_of_age(dt.date(2008, 2, 29)) == epoch("2024-02-29")
    assert rules.coming_of_age(dt.date(2012, 2, 29)) == epoch("2028-02-29")
    assert rules.coming_of_age(dt.date(2009, 2, 28)) == epoch("2025-02-28")
    assert rules.coming_of_age(dt.date(2010, 2, 28)) == epoch("2026-02-28")


def test_leap_day_births_in_non_leap_target_years() -> None:
    # 2000-02-29 + 16 = 2016 (leap); 2004-02-29 + 16 = 2020 (leap): every 29 February birth
    # turns 16 in a leap year, so the 1 March fallback only guards the arithmetic.
    assert rules.coming_of_age(dt.date(2000, 2, 29)) == epoch("2016-02-29")


def test_guardian_expiry_is_the_earlier_of_a_year_and_the_16th_birthday() -> None:
    now = epoch("2026-01-01")
    young = id_number("20150101")
    assert rules.guardian_expiry(now, young) == now + 365 * rules.DAY
    nearly = id_number("20100301")
    assert rules.guardian_expiry(now, nearly) == epoch("2026-03-01")


def test_the_agent_seen_from_the_principal() -> None:
    assert rules.agent_role("parent") == "child"
    assert rules.agent_role("child") == "parent"
    assert rules.agent_role("spouse") == "spouse"
    assert rules.agent_role("other") == "other"
