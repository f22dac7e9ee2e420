"""Checks every OAuth parameter passes before any other code sees it.

RFC 6749 3.1/3.2: parameters MUST NOT appear more than once, and a parameter sent without a
value is treated as omitted. Authlib raises an uncaught ``ValueError`` (HTTP 500) when a
``"``/``\\`` or non-ASCII character reaches an error description, so values are also held to
visible ASCII here, with per-parameter length caps. ``state`` is the exception: RFC 6749
Appendix A.5 makes it ``1*VSCHAR`` (%x20-7E, quote and backslash included) and the client must
get it back unchanged, so it is never put in a description, only in the response fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping

from idp.errors import InvalidRequest

DEFAULT_MAX = 512
#: RFC 6749 Appendix A: parameters whose syntax is ``1*VSCHAR``, every visible ASCII character.
#: OIDC Core 5.5 ``claims`` is JSON, so it holds quotes and backslashes; like ``state`` it is
#: never put in a description (idp.oidc.claims_request reads it).
VSCHAR_PARAMETERS = frozenset({"state", "claims"})
#: Longer caps where the spec allows long values; everything else gets ``DEFAULT_MAX``.
MAX_LENGTHS = {
    "client_assertion": 8192,
    "token": 4096,
    "access_token": 4096,
    "subject_token": 4096,
    "actor_token": 4096,
    "refresh_token": 512,
    "state": 1024,
    "nonce": 255,
    "redirect_uri": 512,
    "scope": 1024,
    "code_verifier": 128,
    "code_challenge": 128,
    "claims": 2048,
    "request": 16384,  # RFC 9101 request objects (idp.oauth.rfc9101_jar.MAX_LENGTH)
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
        if not (_vschar(value) if name in VSCHAR_PARAMETERS else _visible_ascii(value)):
            raise InvalidRequest(
                "a parameter has characters outside visible ASCII",
                detail=f"bad characters in {name[:40]!r}",
            )
        values[name] = value
    return values


def _vschar(value: str) -> bool:
    """RFC 6749 Appendix A: VSCHAR = %x20-7E."""
    return all(0x20 <= ord(c) <= 0x7E for c in value)


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
