"""The body a channel sends to ask for codes: ``{"purpose": "payment", "count": 3}``. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.errors import Problem
from idp.qr.token import Purpose

FIELDS = frozenset({"purpose", "count"})
#: A phone may hold this many codes in consecutive windows (5 minutes at 60 s each).
MAX_BATCH = 5


@dataclass(frozen=True)
class IssueRequest:
    purpose: Purpose
    count: int


def invalid(field: str, reason: str) -> Problem:
    return Problem(422, "invalid-request", "The request body is not valid", reason, field=field)


def parse_issue(body: Any) -> IssueRequest:
    if not isinstance(body, dict):
        raise invalid("(body)", "the body must be a JSON object")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise invalid(unknown[0], "unknown field")
    purpose = body.get("purpose")
    if not isinstance(purpose, str):
        raise invalid("purpose", "purpose is required: " + ", ".join(p.value for p in Purpose))
    try:
        parsed = Purpose.parse(purpose)
    except ValueError as exc:
        raise invalid("purpose", str(exc)) from None
    count = body.get("count", 1)
    if type(count) is not int or not 1 <= count <= MAX_BATCH:
        raise invalid("count", f"count must be an integer from 1 to {MAX_BATCH}")
    return IssueRequest(parsed, count)
