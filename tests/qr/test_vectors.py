"""The vectors of docs/qr-token.md 8 decode and verify as written, and are reproducible."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from idp.qr.token import QrTokenError
from idp.qr.verifier import OfflineVerifier
from idp.qr.verifier import QrKeySet
from idp.qr.verifier import StatusList
from tests.qr.vectors import build

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "qr" / "qr-vectors.json").read_text()
)


class _Fixed:
    def __init__(self, found: StatusList) -> None:
        self.found = found

    def status_list(self, *, force: bool = False) -> StatusList:
        return self.found


def _verify(case: dict[str, Any]) -> str:
    keys = QrKeySet.from_jwks(VECTORS["jwks"])
    status = StatusList.from_jwt(
        VECTORS["status_list"], keys, subject=VECTORS["status_list_uri"], now=case["now"]
    )
    verifier = OfflineVerifier(
        keys, _Fixed(status), clock=lambda: case["now"], skew=VECTORS["skew"]
    )
    try:
        verifier.verify(case["code"], case["purpose"])
    except QrTokenError as exc:
        return exc.reason
    return "valid"


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["name"])
def test_each_vector(case: dict[str, Any]) -> None:
    assert _verify(case) == case["expect"]


def test_the_vectors_are_reproducible() -> None:
    """Ed25519 is deterministic: the builder gives the file's codes byte for byte. (The status
    list is compared by content: zlib builds may compress differently.)"""
    rebuilt = build()
    assert rebuilt["cases"] == VECTORS["cases"] and rebuilt["jwks"] == VECTORS["jwks"]
    keys = QrKeySet.from_jwks(VECTORS["jwks"])
    lists = [
        StatusList.from_jwt(v["status_list"], keys, subject=None, now=0).bits
        for v in (rebuilt, VECTORS)
    ]
    assert lists[0] == lists[1]


def test_every_reason_has_a_vector() -> None:
    reasons = {c["expect"] for c in VECTORS["cases"]}
    assert reasons == {
        "valid",
        "malformed",
        "bad_signature",
        "unknown_key",
        "expired",
        "not_yet_valid",
        "wrong_purpose",
        "revoked",
    }
