"""The ``claims`` request parameter (OIDC Core 5.5), read for what essc-idp acts on: an
essential ``acr`` in the ID token (5.5.1.1). Every other member is accepted and ignored, as the
claims essc-idp releases follow the scopes.

The value is hostile input: it is parsed with limits, and only ``acr`` values that are short
visible-ASCII strings leave this module, so nothing a client wrote (a lone surrogate from a
``\\ud800`` escape, a deep nesting) reaches storage or a log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from idp.errors import InvalidRequest

#: More values than essc-idp has levels is no request an honest client makes.
MAX_ACR_VALUES = 8
MAX_ACR_LENGTH = 128


@dataclass(frozen=True)
class AcrRequest:
    """The ``acr`` the client asked for: values in its order, and whether it must be met."""

    values: tuple[str, ...] = ()
    essential: bool = False


def acr_values(value: str | None) -> tuple[str, ...]:
    """``acr_values`` (OIDC Core 3.1.2.1): space-separated, in order of preference."""
    values = tuple(dict.fromkeys((value or "").split()))
    if len(values) > MAX_ACR_VALUES or any(len(v) > MAX_ACR_LENGTH for v in values):
        raise InvalidRequest("acr_values has too many or too long values")
    return values


def essential_acr(value: str | None) -> AcrRequest:
    """``claims.id_token.acr`` (OIDC Core 5.5.1.1) when it is essential; an empty request
    otherwise (a voluntary ``acr`` claim adds nothing: every ID token carries one)."""
    if value is None:
        return AcrRequest()
    claims = _object(value)
    id_token = claims.get("id_token")
    if id_token is None:
        return AcrRequest()
    if not isinstance(id_token, dict):
        raise InvalidRequest("claims.id_token must be an object")
    acr = id_token.get("acr")
    if acr is None:
        return AcrRequest()
    if not isinstance(acr, dict):
        raise InvalidRequest("claims.id_token.acr must be an object or null")
    if acr.get("essential") is not True:
        return AcrRequest()
    values = _requested_values(acr)
    # Essential with no values asks only that ``acr`` be returned, which it always is.
    return AcrRequest(values=values, essential=True) if values else AcrRequest()


def _object(value: str) -> dict[str, Any]:
    try:
        claims = json.loads(value)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        raise InvalidRequest("claims is not valid JSON") from None
    if not isinstance(claims, dict):
        raise InvalidRequest("claims must be a JSON object")
    return claims


def _requested_values(acr: dict[str, Any]) -> tuple[str, ...]:
    """``value`` (one) or ``values`` (a list, in order of preference), OIDC Core 5.5.1."""
    if "value" in acr:
        raw: Any = [acr["value"]]
    else:
        raw = acr.get("values", [])
    if not isinstance(raw, list) or len(raw) > MAX_ACR_VALUES:
        raise InvalidRequest("claims.id_token.acr values must be a short list")
    if not all(isinstance(v, str) and _short_ascii(v) for v in raw):
        raise InvalidRequest("claims.id_token.acr values must be short ASCII strings")
    return tuple(dict.fromkeys(raw))


def _short_ascii(value: str) -> bool:
    return 0 < len(value) <= MAX_ACR_LENGTH and all(0x21 <= ord(c) <= 0x7E for c in value)
