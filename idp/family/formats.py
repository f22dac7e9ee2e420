"""The family API's request bodies, parsed (docs/family.md). Pure: no Flask, no database.

Every refusal is a 422 ``invalid-request`` problem naming the field; a value is never echoed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.cardholders.gb11643 import InvalidIdNumber
from idp.cardholders.gb11643 import normalize_id_number
from idp.errors import Problem
from idp.family.rules import DEFAULT_CONSENT_DAYS
from idp.family.rules import DEFAULT_POWERS
from idp.family.rules import MAX_CONSENT_DAYS
from idp.family.rules import POWERS
from idp.family.rules import RELATIONSHIPS

MAX_NAME = 64
MAX_ASSERTION = 4096
MAX_PIN = 32
MAX_CLIENT_ID = 64


@dataclass(frozen=True)
class AddRequest:
    id_number: str
    name: str
    relationship: str
    powers: tuple[str, ...]


@dataclass(frozen=True)
class ConsentRequest:
    assertion: str
    pin: str
    powers: tuple[str, ...]
    valid_days: int
    #: RFC 8693 4.4: the channel the agent may act in (``{"client_id": ...}``), or None.
    may_act: dict[str, str] | None = None


def invalid(field: str, reason: str) -> Problem:
    return Problem(422, "invalid-request", "The request body is not valid", reason, field=field)


def _object(body: Any, fields: frozenset[str], where: str = "(body)") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid(where, "must be a JSON object")
    if set(body) - fields:
        # The unknown name is input: it is not echoed; the known ones are.
        raise invalid(where, "unknown field; known: " + ", ".join(sorted(fields)))
    return body


def _text(body: dict[str, Any], field: str, limit: int, where: str | None = None) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise invalid(where or field, f"a non-empty string of at most {limit} characters")
    return value.strip()


def parse_powers(value: Any, field: str = "powers") -> tuple[str, ...]:
    """A non-empty list of distinct known powers, in the canonical order."""
    if not isinstance(value, list) or not value or len(value) > len(POWERS):
        raise invalid(field, "a non-empty list of powers: " + ", ".join(POWERS))
    if any(not isinstance(p, str) or p not in POWERS for p in value):
        raise invalid(field, "unknown power; known: " + ", ".join(POWERS))
    if len(set(value)) != len(value):
        raise invalid(field, "a power is named twice")
    return tuple(p for p in POWERS if p in value)


def parse_add(body: Any) -> AddRequest:
    body = _object(body, frozenset({"principal", "relationship", "powers"}))
    principal = _object(body.get("principal"), frozenset({"id_number", "name"}), "principal")
    raw_id = _text(principal, "id_number", 32, "principal.id_number")
    try:
        id_number = normalize_id_number(raw_id)
    except InvalidIdNumber as exc:
        raise invalid("principal.id_number", exc.reason) from None
    name = _text(principal, "name", MAX_NAME, "principal.name")
    relationship = body.get("relationship")
    if relationship not in RELATIONSHIPS:
        raise invalid("relationship", "one of " + ", ".join(RELATIONSHIPS))
    powers = parse_powers(body["powers"]) if "powers" in body else DEFAULT_POWERS
    return AddRequest(id_number, name, str(relationship), powers)


def parse_consent(body: Any) -> ConsentRequest:
    body = _object(body, frozenset({"assertion", "pin", "powers", "valid_days", "may_act"}))
    assertion = _text(body, "assertion", MAX_ASSERTION)
    pin = body.get("pin")
    if not isinstance(pin, str) or not 1 <= len(pin) <= MAX_PIN:
        raise invalid("pin", "the principal's PIN, a string")
    if "powers" not in body:
        raise invalid("powers", "consent names each power it grants")
    powers = parse_powers(body["powers"])
    days = parse_valid_days(body.get("valid_days"))
    return ConsentRequest(assertion, pin, powers, days, parse_may_act(body.get("may_act")))


def parse_may_act(value: Any) -> dict[str, str] | None:
    """RFC 8693 4.4 ``may_act``, as the principal may state it here: the one channel
    (``client_id``) the agent may act in. Absent or null: any channel allowed token exchange."""
    if value is None:
        return None
    found = _object(value, frozenset({"client_id"}), "may_act")
    return {"client_id": _text(found, "client_id", MAX_CLIENT_ID, "may_act.client_id")}


def parse_valid_days(value: Any) -> int:
    if value is None:
        return DEFAULT_CONSENT_DAYS
    if type(value) is not int or not 1 <= value <= MAX_CONSENT_DAYS:
        raise invalid("valid_days", f"an integer from 1 to {MAX_CONSENT_DAYS}")
    return value
