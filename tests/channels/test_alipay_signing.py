"""Alipay RSA2 gateway and Open API v3 against ``tests/vectors/channels/alipay.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from channels.signing import AlipayRsa2Signer
from channels.signing import AlipayRsa2Verifier
from channels.signing import AlipayV3Signer
from channels.signing import AlipayV3Verifier
from channels.signing import Notification
from channels.signing import rsa_sha256
from channels.signing.alipay import gateway_sign_content
from channels.signing.alipay import v3_request_content
from channels.signing.alipay import v3_response_content

VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "channels" / "alipay.json").read_text("utf-8")
)
GATEWAY = VECTORS["alipay-rsa2"]
V3 = VECTORS["alipay-v3"]


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in cases]


@pytest.mark.parametrize("vector", VECTORS["string_to_sign"], ids=_ids(VECTORS["string_to_sign"]))
def test_string_to_sign_matches_the_published_example(vector: dict[str, Any]) -> None:
    if vector["kind"] == "gateway":
        built = gateway_sign_content(vector["params"], notification=vector["notification"])
        assert built == vector["expected"]
        return
    given = vector["input"]
    content = v3_request_content(
        given["auth_string"],
        given["method"],
        given["target"],
        given["body"].encode(),
        given.get("app_auth_token"),
    )
    assert content == vector["expected"].encode()


@pytest.mark.parametrize("case", GATEWAY["requests"], ids=_ids(GATEWAY["requests"]))
def test_gateway_request(case: dict[str, Any], make_verifier: Any, check: Any) -> None:
    scheme, clock = make_verifier(AlipayRsa2Verifier, GATEWAY["verifier"])
    check(scheme.verify_request, clock, case)


@pytest.mark.parametrize("case", V3["requests"], ids=_ids(V3["requests"]))
def test_v3_request(case: dict[str, Any], make_verifier: Any, check: Any) -> None:
    scheme, clock = make_verifier(AlipayV3Verifier, V3["verifier"])
    check(scheme.verify_request, clock, case)


@pytest.mark.parametrize("vector", GATEWAY["notifications"], ids=_ids(GATEWAY["notifications"]))
def test_gateway_notification_is_signed_over_the_notify_string(
    vector: dict[str, Any], make_signer: Any, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    scheme, _ = make_signer(AlipayRsa2Signer, GATEWAY["verifier"])
    signed = scheme.sign_notification(Notification(params=vector["input"])).params
    assert signed == vector["expected"]
    content = gateway_sign_content(signed, notification=True)
    assert content == vector["signed_string"]
    rsa_sha256.verify(
        keys["essc"].public_key(), content.encode(), rsa_sha256.decode_base64(signed["sign"])
    )


@pytest.mark.parametrize("vector", V3["notifications"], ids=_ids(V3["notifications"]))
def test_v3_notification_headers(
    vector: dict[str, Any], make_signer: Any, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    expected = vector["expected_headers"]
    scheme, clock = make_signer(
        AlipayV3Signer, V3["verifier"], new_nonce=lambda: expected["alipay-nonce"]
    )
    clock.now = int(expected["alipay-timestamp"]) / 1000
    body = vector["body"].encode()
    headers = scheme.sign_notification(Notification(body=body)).headers
    assert headers == expected
    content = v3_response_content(headers["alipay-timestamp"], headers["alipay-nonce"], body)
    assert content == vector["signed_string"].encode()
    signature = rsa_sha256.decode_base64(headers["alipay-signature"])
    rsa_sha256.verify(keys["essc"].public_key(), content, signature)


def test_gateway_notification_replaces_a_stale_sign(make_signer: Any) -> None:
    scheme, _ = make_signer(AlipayRsa2Signer, GATEWAY["verifier"])
    vector = GATEWAY["notifications"][0]
    given = {**vector["input"], "sign": "old", "sign_type": "RSA"}
    assert scheme.sign_notification(Notification(params=given)).params == vector["expected"]
