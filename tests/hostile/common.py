"""Shared checks for the hostile-input tables: the standard error, no echo, no 500, no writes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy import text

from tests.support import query_of

#: What broke Authlib (aesthetics-anchors 3): non-ASCII, its percent-encoding, quote, backslash.
#: A rare character, so that "not echoed" cannot be confused with a page's own words.
HAN = "龘"
PCT = "%E9%BE%98"
QUOTE = 'a"b'
BACKSLASH = "a\\b"
NUL = "a\x00b"
TABLES = (
    "grants",
    "authorization_codes",
    "refresh_tokens",
    "browser_sessions",
    "interactions",
    "consents",
)

Params = list[tuple[str, str]]


def mutate(base: dict[str, str], changes: dict[str, Any]) -> Params:
    """``None`` drops a parameter, a list repeats it, anything else replaces it."""
    items: Params = []
    for name, value in {**base, **{k: v for k, v in changes.items() if k not in base}}.items():
        new = changes.get(name, value)
        if new is None:
            continue
        for one in new if isinstance(new, list) else [new]:
            items.append((name, one))
    return items


def form(items: Params) -> dict[str, Any]:
    """Keyword arguments for a test-client POST with exactly these form items."""
    return {"data": urlencode(items), "content_type": "application/x-www-form-urlencoded"}


def counts(provider: Any) -> dict[str, int]:
    with provider.db.read() as s:
        return {t: s.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in TABLES}  # noqa: S608


def scalar(provider: Any, sql: str) -> Any:
    with provider.db.read() as s:
        return s.execute(text(sql)).scalar_one()


def _clean_description(description: str, echo: tuple[str, ...]) -> None:
    assert description.isascii() and '"' not in description and "\\" not in description
    for value in echo:
        if len(value) >= 3:
            assert value not in description, "error_description echoes the input"


def assert_oauth_error(
    response: Any, status: int, error: str, *, echo: tuple[str, ...] = ()
) -> dict[str, Any]:
    """RFC 6749 5.2 / RFC 6750 3.1: JSON ``error``, ASCII ``error_description``, no-store."""
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert body["error"] == error, body
    _clean_description(body.get("error_description", ""), echo)
    assert response.headers["Cache-Control"] == "no-store"
    return body


def assert_redirect_error(
    response: Any, redirect_uri: str, error: str, *, state: str | None, echo: tuple[str, ...] = ()
) -> dict[str, str]:
    """RFC 6749 4.1.2.1 + RFC 9207: back to the client with error, state (if sane) and iss."""
    assert response.status_code == 303, (response.status_code, response.get_data()[:300])
    location = response.headers["Location"]
    assert location.startswith(redirect_uri + "?"), location
    query = query_of(location)
    assert query["error"] == error, query
    assert query["iss"] == "http://localhost"
    assert query.get("state") == state
    assert "code" not in query
    _clean_description(query.get("error_description", ""), echo)
    return query


def assert_error_page(response: Any, status: int = 400, *, echo: tuple[str, ...] = ()) -> None:
    """An untrusted client or redirect URI: an HTML page, never a redirect."""
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for value in echo:
        if len(value) >= 3:
            assert value not in page, "the error page echoes the input"
