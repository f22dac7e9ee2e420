"""The family proxy's rules (亲情服务; essc-domain.md 3.1, 3.3), free of Flask and SQLAlchemy.

- ``relationship`` names what the principal is to the agent: ``parent`` means the agent acts
  for their father or mother.
- Powers are what the principal may let the agent do; ``pay`` is separate and never requested
  unless named (issue 11: "paying from the principal's account is a separate power, off by
  default").
- An agent has at most 8 relatives (the e-SSC's limit, essc-domain.md 3.1); a principal has at
  most ``Settings.family_max_agents_per_principal`` agents.
- A principal under 16 by the birth date in their ID number (GB 11643) is added by a guardian
  without their own consent, until their 16th birthday at the latest.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

RELATIONSHIPS = ("spouse", "parent", "child", "other")
#: What a guardian may be to a minor: the minor is their child, or another ward.
GUARDIAN_RELATIONSHIPS = ("child", "other")
POWERS = (
    "view_card",
    "show_identity_code",
    "show_medical_code",
    "pension_certification",
    "query_benefits",
    "pay",
)
#: Asked for when a request names no powers: everything but ``pay``.
DEFAULT_POWERS = tuple(p for p in POWERS if p != "pay")
MAX_RELATIVES = 8
MINOR_AGE = 16
DEFAULT_CONSENT_DAYS = 365
MAX_CONSENT_DAYS = 3 * 365
DAY = 24 * 3600
#: China Standard Time: a birth date in an ID number is a date there.
CST = dt.timezone(dt.timedelta(hours=8))


class State(StrEnum):
    REQUESTED = "requested"
    ACTIVE = "active"
    ENDED = "ended"
    EXPIRED = "expired"


def birth_date(id_number: str) -> dt.date:
    """GB 11643 4.3: characters 7 to 14 are the birth date (the number was validated)."""
    return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def coming_of_age(born: dt.date) -> int:
    """The first second (epoch, China Standard Time) of the 16th birthday; 29 February births
    come of age on 1 March."""
    try:
        day = born.replace(year=born.year + MINOR_AGE)
    except ValueError:
        day = dt.date(born.year + MINOR_AGE, 3, 1)
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=CST).timestamp())


def is_minor(id_number: str, now: int) -> bool:
    return now < coming_of_age(birth_date(id_number))


def consent_expiry(now: int, days: int) -> int:
    return now + days * DAY


def guardian_expiry(now: int, id_number: str, days: int = DEFAULT_CONSENT_DAYS) -> int:
    """A guardian's relationship lasts ``days`` or until the minor turns 16, whichever is first:
    from then on the principal's own consent is needed."""
    return min(consent_expiry(now, days), coming_of_age(birth_date(id_number)))


def agent_role(relationship: str) -> str:
    """What the agent is to the principal, for the principal's own pages and history."""
    return {"spouse": "spouse", "parent": "child", "child": "parent"}.get(relationship, "other")
