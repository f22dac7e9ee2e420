"""UnionPay 5.1.0 certificate signatures against ``tests/vectors/channels/unionpay.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from channels.signing import Notification
from channels.signing import UnionPaySigner
from channels.signing import UnionPayVerifier
from channels.signing import rsa_sha256
from channels.signing.unionpay import digest_text
from channels.signing.unionpay import sign_content

VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "channels" / "unionpay.json").read_text("utf-8")
)


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in cases]


@pytest.mark.parametrize("vector", VECTORS["string_to_sign"], ids=_ids(VECTORS["string_to_sign"]))
def test_string_and_digest_text(vector: dict[str, Any]) -> None:
    assert sign_content(vector["params"]) == vector["expected"]
    assert digest_text(vector["params"]) == vector["expected_digest_text"].encode()


@pytest.mark.parametrize("case", VECTORS["requests"], ids=_ids(VECTORS["requests"]))
def test_request(case: dict[str, Any], make_verifier: Any, check: Any) -> None:
    scheme, clock = make_verifier(UnionPayVerifier, VECTORS["verifier"])
    check(scheme.verify_request, clock, case)


@pytest.mark.parametrize("vector", VECTORS["notifications"], ids=_ids(VECTORS["notifications"]))
def test_notification_signs_the_digest_text(
    vector: dict[str, Any], make_signer: Any, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    scheme, _ = make_signer(UnionPaySigner, VECTORS["verifier"])
    signed = scheme.sign_notification(Notification(params=vector["input"])).params
    assert signed == vector["expected"]
    assert "reserved" not in signed  # blank fields are dropped before signing
    assert sign_content(signed) == vector["signed_string"]
    signature = rsa_sha256.decode_base64(signed["signature"])
    rsa_sha256.verify(keys["essc"].public_key(), digest_text(signed), signature)
