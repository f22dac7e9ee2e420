"""The bodies and headers merchants and channels send to the payment APIs, checked field by field.

Pure: decoded JSON in, a frozen dataclass or a ``Problem`` out, naming the field, never echoing
its value. Amounts are integers of fen (分, 1/100 CNY): ``100`` is one yuan; ``1.5`` and
``"100"`` are refused, as JSON Schema's ``integer`` refuses them (``2.0`` is 2, as in
``idp.ecards.requests``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from idp.ecards.requests import IDEMPOTENCY_KEY
from idp.ecards.requests import PIN
from idp.ecards.requests import invalid
from idp.errors import Problem
from idp.qr.redemption import CODE

CURRENCIES = ("CNY",)
MERCHANT_ORDER_ID = re.compile(r"[A-Za-z0-9_\-.:]{1,64}")
PAYMENT_ID = re.compile(r"py_[A-Za-z0-9_\-]{22}")
MAX_DESCRIPTION = 128
DAY = re.compile(r"20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")


@dataclass(frozen=True)
class Authorization:
    code: str
    amount_fen: int
    currency: str
    merchant_order_id: str
    description: str | None
    idempotency_key: str

    @property
    def fingerprint(self) -> str:
        """What the same idempotency key must come with again."""
        fields = [self.code, self.amount_fen, self.currency, self.merchant_order_id]
        encoded = json.dumps([*fields, self.description], ensure_ascii=False)
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Refund:
    amount_fen: int
    idempotency_key: str


def _object(body: Any, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object")
    if set(body) - allowed:
        raise invalid("body", "has an unknown member")
    return body


def _string(body: Mapping[str, Any], field: str, pattern: re.Pattern[str]) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise invalid(field, "is missing or has the wrong shape")
    return value


def amount(body: Mapping[str, Any], field: str, maximum: int) -> int:
    """A positive integer of fen up to ``maximum``; the problem says which bound failed."""
    value = body.get(field)
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int:
        raise invalid(field, "must be an integer number of fen")
    if value <= 0:
        raise invalid(field, "must be positive")
    if value > maximum:
        raise Problem(
            422,
            "amount-above-limit",
            "The amount is above the largest payment",
            f"A single payment is at most {maximum} fen.",
            field=field,
            limit_fen=maximum,
        )
    return value


def idempotency_key(header: str | None) -> str:
    """The ``Idempotency-Key`` header (draft-ietf-httpapi-idempotency-key-header): a
    Structured Fields string, so ``"key"``; a bare token is accepted too."""
    if header is None:
        raise Problem(
            400,
            "idempotency-key-missing",
            "The Idempotency-Key header is required",
            "Send a new unique key per payment and the same key on every retry of it.",
        )
    value = header.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise invalid("Idempotency-Key", "must be 8 to 64 letters, digits or ._:-")
    return value


def parse_authorization(body: Any, key: str, maximum: int) -> Authorization:
    fields = _object(
        body, frozenset({"code", "amount_fen", "currency", "merchant_order_id", "description"})
    )
    if fields.get("currency") not in CURRENCIES:
        raise Problem(
            422,
            "unsupported-currency",
            "The currency is not supported",
            "Payments are in CNY only.",
            field="currency",
        )
    return Authorization(
        code=_string(fields, "code", CODE),
        amount_fen=amount(fields, "amount_fen", maximum),
        currency="CNY",
        merchant_order_id=_string(fields, "merchant_order_id", MERCHANT_ORDER_ID),
        description=_description(fields),
        idempotency_key=key,
    )


def _description(fields: Mapping[str, Any]) -> str | None:
    value = fields.get("description")
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_DESCRIPTION:
        raise invalid("description", "must be 1 to 128 printable characters")
    if not value.isprintable():
        raise invalid("description", "must be 1 to 128 printable characters")
    return value


def parse_refund(body: Any, key: str, maximum: int) -> Refund:
    fields = _object(body, frozenset({"amount_fen"}))
    return Refund(amount(fields, "amount_fen", maximum), key)


def parse_confirmation(body: Any) -> str:
    """The holder's e-card PIN, relayed by the channel: ``{"pin": "123456"}``."""
    return _string(_object(body, frozenset({"pin"})), "pin", PIN)


def parse_empty(body: Any) -> None:
    """Capture and reverse take no fields; an empty body or ``{}``."""
    if body is not None:
        _object(body, frozenset())


def parse_day(value: str) -> str:
    """A calendar day ``YYYY-MM-DD`` (2000 to 2099) that exists."""
    try:
        if DAY.fullmatch(value) and date.fromisoformat(value):
            return value
    except ValueError:
        pass
    raise Problem(404, "statement-not-found", "No statement for this day")


def before(value: str | None) -> int | None:
    """The ``before`` query parameter of a holder's payment list: a ``created_at``."""
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise invalid("before", "must be Unix seconds")
    return int(value)
