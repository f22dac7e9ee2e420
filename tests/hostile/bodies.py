"""Shared pieces for the JSON-body tests: a provider that trusts an onboarding key, fresh
software statements, a bank channel with a Bearer token, and row counts of every data table."""

from __future__ import annotations

import json
import secrets
from typing import Any

from sqlalchemy import inspect
from sqlalchemy import text

from channels.software_statement import TYP
from channels.software_statement import issue_claims
from keys.onboarding import sign
from tests.conftest import ISSUER
from tests.conftest import KEEP_TABLES
from tests.support import START

#: The I-JSON (RFC 7493) violations every product JSON reader refuses, as raw bodies.
MALFORMED: dict[str, bytes] = {
    "lone surrogate": b'{"name": "\\ud800"}',
    "lone low surrogate": b'{"name": "a\\udc00b"}',
    "surrogate in a name": b'{"\\udfff": 1}',
    "nul": b'{"name": "a\\u0000b"}',
    "noncharacter": b'{"name": "\\uffff"}',
    "duplicate key": b'{"level": 1, "level": 2}',
    "duplicate nested key": b'{"evidence": {"a": 1, "a": 1}}',
    "nan": b'{"level": NaN}',
    "infinity": b'{"level": Infinity}',
    "minus infinity": b'{"level": -Infinity}',
    "overflowing float": b'{"level": 1e999}',
    "huge integer": b'{"level": ' + b"9" * 5000 + b"}",
    "beyond 2**53": b'{"level": 9007199254740993}',
    "deep nesting": b'{"a": ' + b"[" * 17 + b"]" * 17 + b"}",
    "very deep nesting": b"[" * 30_000 + b"]" * 30_000,
    "overlong utf-8": b'{"name": "\xc0\xaf"}',
    "encoded surrogate": b'{"name": "\xed\xa0\x80"}',
    "invalid utf-8": b'{"name": "\xff"}',
    "truncated utf-8": b'{"name": "\xe5\x9b"}',
    "byte order mark": b'\xef\xbb\xbf{"name": "a"}',
    "utf-16": '{"name": "a"}'.encode("utf-16"),
    "not json": b"{not json",
    "trailing data": b'{"name": "a"} {}',
}


def statement(key: bytes, **override: Any) -> str:
    """A fresh, valid bank software statement (RFC 7591 2.3) signed by the operator key."""
    claims = issue_claims(
        issuer=ISSUER,
        now=START,
        ttl=3600,
        jti=secrets.token_urlsafe(16),
        software_id="sw-bank",
        kind="bank",
        client_name="Test bank",
        scopes=["essc.ecard", "essc.payment"],
        grant_types=["client_credentials"],
        parent_client_id=None,
        fapi2=False,  # the operator's choice: these bodies use a client secret
    )
    claims.update(override)
    return sign(key, claims, typ=TYP)


def registration(software_statement: str, **metadata: Any) -> dict[str, Any]:
    return {
        "software_statement": software_statement,
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "essc.ecard",
        **metadata,
    }


def data_tables(provider: Any) -> list[str]:
    with provider.db.read() as s:
        names = inspect(s.get_bind()).get_table_names()
    return sorted(n for n in names if n not in KEEP_TABLES)


def row_counts(provider: Any, tables: list[str]) -> dict[str, int]:
    """Every data table's row count: a refused request must leave all of them as they were."""
    with provider.db.read() as s:
        return {t: s.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one() for t in tables}  # noqa: S608


def dumps(body: Any) -> bytes:
    """JSON with every non-ASCII character escaped, so a lone surrogate reaches the server."""
    return json.dumps(body, ensure_ascii=True).encode("ascii")
