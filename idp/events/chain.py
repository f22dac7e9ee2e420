"""The audit hash chain's format: what is hashed, and how (no database here).

Each record's ``hash`` is SHA-256 over ``prev_hash``, a newline, and the record's canonical JSON
(``canonical``: its sequence number and every stored field, keys sorted, no whitespace, UTF-8).
The first record follows ``GENESIS``. Changing any field, the order or the set of records
changes every later hash; a signed checkpoint (``idp.events.checkpoints``) fixes one of them.
The format is stored data: changing it needs a new version and a migration.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS = "0" * 64

#: The stored fields a record's hash covers, besides ``seq``.
FIELDS = ("at", "event", "actor", "person_id", "client_id", "request_id", "detail")

_dumps = json.JSONEncoder(
    separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False
).encode


def canonical(seq: int, record: Mapping[str, Any]) -> bytes:
    """The bytes a record's hash covers; ``record`` holds at least ``FIELDS``."""
    body = {name: record[name] for name in FIELDS}
    body["seq"] = seq
    return _dumps(body).encode("utf-8")


def link(prev_hash: str, seq: int, record: Mapping[str, Any]) -> str:
    """The hash of record ``seq`` written after the record whose hash is ``prev_hash``."""
    digest = hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(seq, record))
    return digest.hexdigest()
