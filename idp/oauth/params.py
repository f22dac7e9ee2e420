"""Checks every OAuth parameter passes before any other code sees it.

RFC 6749 3.1/3.2: parameters MUST NOT appear more than once, and a parameter sent without a
value is treated as omitted. Authlib raises an uncaught ``ValueError`` (HTTP 500) when a
``"``/``\\`` or non-ASCII character reaches an error description, so values are also held to
visible ASCII here, with per-parameter length caps.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping

from idp.errors import InvalidRequest

DEFAULT_MAX = 512
#: Longer caps where the spec allows long values; everything else gets ``DEFAULT_MAX``.
MAX_LENGTHS = {
    "client_assertion": 8192,
    "token": 4096,
    "access_token": 4096,
    "refresh_token": 512,
    "state": 1024,
    "nonce": 255,
    "redirect_uri": 512,
    "scope": 1024,
    "code_verifier": 128,
    "code_challenge": 128,
}


def single_values(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Collapse a multi-dict into single values; duplicates and bad characters are refused."""
    values: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in items:
        if name in seen:
            raise InvalidRequest("a parameter is repeated", detail=f"repeated {name[:40]!r}")
        seen.add(name)
        if value == "":
            continue
        limit = MAX_LENGTHS.get(name, DEFAULT_MAX)
        if len(value) > limit:
            raise InvalidRequest("a parameter is too long", detail=f"{name[:40]!r} too long")
        if not _visible_ascii(value):
            raise InvalidRequest(
                "a parameter has characters outside visible ASCII",
                detail=f"bad characters in {name[:40]!r}",
            )
        values[name] = value
    return values


def _visible_ascii(value: str) -> bool:
    # %x20-7E; the space is allowed (scope lists), control characters and quotes are not.
    return all(0x20 <= ord(c) <= 0x7E for c in value) and '"' not in value and "\\" not in value


def require(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if value is None:
        raise InvalidRequest(f"missing {name}")
    return value


def scope_list(value: str | None) -> tuple[str, ...]:
    """RFC 6749 3.3: space-delimited, case-sensitive; order kept, duplicates dropped."""
    return tuple(dict.fromkeys((value or "").split(" "))) if value else ()
