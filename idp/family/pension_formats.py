"""The certification API's request bodies, parsed. Pure: no Flask, no database. Refusals are
422 ``invalid-request`` problems naming the field; a value is never echoed."""

from __future__ import annotations

from typing import Any

from idp.cardholders.gb11643 import InvalidIdNumber
from idp.cardholders.gb11643 import normalize_id_number
from idp.family.formats import MAX_ASSERTION
from idp.family.formats import _object
from idp.family.formats import _text
from idp.family.formats import invalid


def parse_certify(body: Any) -> str:
    """``{"assertion": ...}``: the pensioner's face assertion from their own channel."""
    return _text(_object(body, frozenset({"assertion"})), "assertion", MAX_ASSERTION)


def parse_lookup(body: Any) -> str:
    """``{"id_number": ...}``: the pension service names the person by their ID number, in a
    body (never a URL, so never in an access log)."""
    raw = _text(_object(body, frozenset({"id_number"})), "id_number", 32)
    try:
        return normalize_id_number(raw)
    except InvalidIdNumber as exc:
        raise invalid("id_number", exc.reason) from None
