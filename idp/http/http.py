"""Small HTTP helpers shared by the Flask views: the one strict JSON body reader, JSON answers
and the provider handle."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import Response
from flask import current_app

from idp.errors import OAuthError
from idp.provider import Provider

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

#: Deepest nesting a product body may have; the deepest real one (a JWK Set) has 3 levels.
MAX_DEPTH = 16
#: RFC 7493 2.2: integers beyond IEEE 754 double precision do not interoperate.
MAX_SAFE_INTEGER = 2**53 - 1
_MAX_NUMBER_TEXT = 32
#: RFC 7493 2.1: no surrogates (a lone ``\ud800`` escape) and no noncharacters; and no NUL,
#: which PostgreSQL text and jsonb cannot store.
_FORBIDDEN = re.compile(
    "[\x00\ud800-\udfff\ufdd0-\ufdef"
    + "".join(
        f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
    )
    + "]"
)
_STRUCTURE = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


class MalformedJson(ValueError):
    """The body is not I-JSON (RFC 7493); ``reason`` is for the log, never for the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_json(raw: bytes) -> Any:
    """Every JSON body the product reads comes through here (RFC 8259 + RFC 7493 I-JSON).

    Refused with ``MalformedJson``: bytes that are not strict UTF-8 (overlong forms, encoded
    surrogates, a byte order mark), syntax errors, duplicated member names (RFC 7493 2.3; the
    ``json`` module would keep the last), ``NaN``/``Infinity`` and numbers that overflow a
    double or exceed 2**53-1 as integers (RFC 7493 2.2), strings or names holding a lone
    surrogate, a noncharacter or NUL (RFC 7493 2.1), and nesting deeper than ``MAX_DEPTH``.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedJson("the body is not UTF-8") from None
    if _too_deep(text):
        raise MalformedJson("the body is nested too deeply")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_members,
            parse_constant=_no_constant,
            parse_int=_integer,
            parse_float=_float,
        )
    except MalformedJson:
        raise
    except (ValueError, RecursionError):
        raise MalformedJson("the body is not JSON") from None
    _check_strings(value)
    return value


def _too_deep(text: str) -> bool:
    """Nesting is counted before parsing, so a deep body never reaches the recursive parser."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth, in_string = 0, False
    for match in _STRUCTURE.finditer(text):  # linear: escapes, quotes and brackets only
        mark = match.group()
        if mark == '"':
            in_string = not in_string
        elif not in_string and mark in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif not in_string and mark in "]}":
            depth -= 1
    return False


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise MalformedJson("a member name is repeated")
    return found


def _no_constant(name: str) -> Any:
    raise MalformedJson("NaN and Infinity are not JSON numbers")


def _integer(digits: str) -> int:
    value = int(digits) if len(digits) <= _MAX_NUMBER_TEXT else MAX_SAFE_INTEGER + 1
    if abs(value) > MAX_SAFE_INTEGER:
        raise MalformedJson("an integer is out of range")
    return value


def _float(digits: str) -> float:
    value = float(digits) if len(digits) <= _MAX_NUMBER_TEXT else math.inf
    if not math.isfinite(value):
        raise MalformedJson("a number is out of range")
    return value


def _check_strings(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _FORBIDDEN.search(item):
                raise MalformedJson("a string is not valid Unicode text")
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def provider() -> Provider:
    found: Provider = current_app.extensions["essc"]
    return found


def oauth_json(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """JSON with ``Cache-Control: no-store`` (RFC 6749 5.1), serialised once, compactly."""
    response = Response(_dumps(body), status, NO_STORE, mimetype="application/json")
    if headers:
        response.headers.update(headers)
    return response


def oauth_error(error: OAuthError) -> Response:
    return oauth_json(error.body(), error.status_code, error.headers())
