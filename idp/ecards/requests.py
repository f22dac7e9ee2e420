"""The bodies channels send to the e-card APIs, checked field by field into typed requests.

Pure: a decoded JSON object in, a frozen dataclass or a ``Problem`` out. Problems name the
field that failed (our vocabulary) and never echo its value (style.md, Errors). Shapes follow
issue 3 section 3 and ``docs/openapi.json``; the channel subject is the channel's own user id
(WeChat ``openid``/``unionid``, Alipay ``user_id``, a bank customer number).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from idp.cardholders.gb11643 import InvalidIdNumber
from idp.cardholders.gb11643 import normalize_id_number
from idp.errors import Problem

#: WeChat openid/unionid (28-29 chars), Alipay user_id (16 digits) or open_id, bank numbers.
CHANNEL_SUBJECT = re.compile(r"[A-Za-z0-9._:@\-]{1,128}")
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:\-]{8,64}")
REGION_CODE = re.compile(r"[0-9]{6}")
PIN = re.compile(r"[0-9]{6}")
#: The shape of a GB 11643 number as a schema can state it: region code not starting with 0,
#: birth year 1900-2099, month 01-12, day 01-31, sequence, check character. The real date, a
#: birth date not in the future and the ISO 7064 check character are
#: ``idp.cardholders.gb11643``'s job.
ID_NUMBER_SHAPE = re.compile(
    r"[1-9][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"
)
#: Unix seconds a face check or other timestamp may carry (2001-09-09 to 2286-11-20).
TIMESTAMP_RANGE = range(1_000_000_000, 10_000_000_000)
#: Our own grading of the channel's real-name check [U]: 1 name and ID number checked against
#: the authority, 2 also a bank card or phone in that name, 3 also a face check.
REAL_NAME_LEVELS = (1, 2, 3)
MAX_NAME = 64
ISSUE_FIELDS = frozenset(
    {"name", "id_number", "region_code", "channel_subject", "evidence", "level", "idempotency_key"}
)
EVIDENCE_FIELDS = frozenset({"real_name_level", "face_verified_at"})


def invalid(field: str, reason: str) -> Problem:
    return Problem(422, "invalid-request", "The request body is not valid", reason, field=field)


@dataclass(frozen=True)
class Evidence:
    """How the channel verified the person before asking (issue 3 section 3)."""

    real_name_level: int
    face_verified_at: int

    def as_json(self) -> dict[str, int]:
        return {"real_name_level": self.real_name_level, "face_verified_at": self.face_verified_at}


@dataclass(frozen=True)
class IssueRequest:
    name: str
    id_number: str
    region_code: str
    channel_subject: str
    evidence: Evidence
    level: int
    idempotency_key: str


@dataclass(frozen=True)
class UnbindRequest:
    """``factor`` is ``pin`` (checked here) or ``face`` (asserted by the channel, with its time)."""

    factor: str
    pin: str | None = None
    face_verified_at: int | None = None


def _object(body: Any, allowed: frozenset[str], where: str) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise invalid(where, "must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid(where, "has an unknown member")
    return body


def _string(body: Mapping[str, Any], field: str, pattern: re.Pattern[str]) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise invalid(field, "is missing or has the wrong shape")
    return value


def _integer(body: Mapping[str, Any], field: str, allowed: range | tuple[int, ...]) -> int:
    """A JSON integer; ``2.0`` is one too (RFC 8259 6 has one number type, and JSON Schema's
    ``integer`` accepts it), but ``true`` is not."""
    value = body.get(field)
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int or value not in allowed:
        raise invalid(field, "is missing or out of range")
    return value


def _name(body: Mapping[str, Any]) -> str:
    value = body.get("name")
    if not isinstance(value, str):
        raise invalid("name", "is missing")
    value = unicodedata.normalize("NFC", value.strip())
    if not value or len(value) > MAX_NAME or not value.isprintable():
        raise invalid("name", "must be 1 to 64 printable characters")
    return value


def _id_number(body: Mapping[str, Any]) -> str:
    value = body.get("id_number")
    if not isinstance(value, str):
        raise invalid("id_number", "is missing")
    try:
        return normalize_id_number(value)
    except InvalidIdNumber as exc:
        raise Problem(
            422,
            "invalid-id-number",
            "The ID number is not a valid GB 11643 citizen ID number",
            exc.reason,
            field="id_number",
        ) from None


def _timestamp(body: Mapping[str, Any], field: str) -> int:
    return _integer(body, field, TIMESTAMP_RANGE)


def parse_issue(body: Any) -> IssueRequest:
    """The POST /api/v1/ecards body; every member is required."""
    fields = _object(body, ISSUE_FIELDS, "body")
    evidence = _object(fields.get("evidence"), EVIDENCE_FIELDS, "evidence")
    return IssueRequest(
        name=_name(fields),
        id_number=_id_number(fields),
        region_code=_string(fields, "region_code", REGION_CODE),
        channel_subject=_string(fields, "channel_subject", CHANNEL_SUBJECT),
        evidence=Evidence(
            real_name_level=_integer(evidence, "real_name_level", REAL_NAME_LEVELS),
            face_verified_at=_timestamp(evidence, "face_verified_at"),
        ),
        level=_integer(fields, "level", (1, 2)),
        idempotency_key=_string(fields, "idempotency_key", IDEMPOTENCY_KEY),
    )


def parse_unbind(body: Any) -> UnbindRequest:
    """The POST /api/v1/ecards/{sign_no}/unbind body."""
    fields = _object(body, frozenset({"factor", "pin", "face_verified_at"}), "body")
    factor = fields.get("factor")
    if factor == "pin" and "face_verified_at" not in fields:
        return UnbindRequest("pin", pin=_string(fields, "pin", PIN))
    if factor == "face" and "pin" not in fields:
        return UnbindRequest("face", face_verified_at=_timestamp(fields, "face_verified_at"))
    raise invalid("factor", "must be pin (with pin) or face (with face_verified_at)")


#: The proof that the cardholder is present, shared by unbinding and the card changes a channel
#: asks for on the cardholder's behalf (``idp.ecards.channel_card_changes``).
PresenceProof = UnbindRequest


def parse_card_change(body: Any) -> PresenceProof:
    """The POST /api/v1/ecards/{sign_no}/card/suspend and .../card/resume body: the same
    factor as for unbinding, ``pin`` (with ``pin``) or ``face`` (with ``face_verified_at``)."""
    return parse_unbind(body)
