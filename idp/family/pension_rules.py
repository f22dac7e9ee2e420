"""The certification's calendar (docs/family.md "Pension eligibility certification"), free of
Flask and SQLAlchemy.

A certification is valid for 12 calendar months in China Standard Time (a 29 February or 31st
that has no twin ends on the month's last day). A person is ``certified`` until
``Settings.pension_due_days`` before it lapses, then ``due`` (the reminder state: they may
certify again, and the channels remind them), then ``lapsed``; never certified is
``uncertified``.
"""

from __future__ import annotations

import calendar
import datetime as dt
from enum import StrEnum

from idp.family.rules import CST
from idp.family.rules import DAY

VALID_MONTHS = 12
POWER = "pension_certification"


class State(StrEnum):
    CERTIFIED = "certified"
    DUE = "due"
    LAPSED = "lapsed"
    UNCERTIFIED = "uncertified"


def valid_until(certified_at: int) -> int:
    """``certified_at`` plus ``VALID_MONTHS`` calendar months, to the second, in CST."""
    start = dt.datetime.fromtimestamp(certified_at, CST)
    months = start.month - 1 + VALID_MONTHS
    year, month = start.year + months // 12, months % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def state_at(until: int | None, now: int, due_days: int) -> State:
    if until is None:
        return State.UNCERTIFIED
    if now >= until:
        return State.LAPSED
    if now >= until - due_days * DAY:
        return State.DUE
    return State.CERTIFIED
