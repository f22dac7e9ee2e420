"""WeChat Pay API v3 against ``tests/vectors/channels/wechatpay.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from channels.signing import Notification
from channels.signing import ResourceCipher
from channels.signing import SignatureError
from channels.signing import WechatPayV3Signer
from channels.signing import WechatPayV3Verifier
from channels.signing import rsa_sha256
from channels.signing.wechatpay import callback_message
from channels.signing.wechatpay import parse_authorization
from channels.signing.wechatpay import request_message

VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "channels" / "wechatpay.json").read_text("utf-8")
)
RESOURCE = VECTORS["resource"]


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in cases]


@pytest.mark.parametrize("vector", VECTORS["string_to_sign"], ids=_ids(VECTORS["string_to_sign"]))
def test_string_to_sign_matches_the_published_example(vector: dict[str, Any]) -> None:
    given = vector["input"]
    if vector["kind"] == "request":
        built = request_message(
            given["method"],
            given["target"],
            given["timestamp"],
            given["nonce"],
            given["body"].encode(),
        )
    else:
        built = callback_message(given["timestamp"], given["nonce"], given["body"].encode())
    assert built == vector["expected"].encode()


@pytest.mark.parametrize(
    "vector", VECTORS["authorization_examples"], ids=_ids(VECTORS["authorization_examples"])
)
def test_published_authorization_header_parses(vector: dict[str, Any]) -> None:
    assert parse_authorization(vector["header"]) == vector["fields"]


@pytest.mark.parametrize("case", VECTORS["requests"], ids=_ids(VECTORS["requests"]))
def test_request(case: dict[str, Any], make_verifier: Any, check: Any) -> None:
    scheme, clock = make_verifier(WechatPayV3Verifier, VECTORS["verifier"])
    check(scheme.verify_request, clock, case)


@pytest.mark.parametrize("case", VECTORS["callbacks"], ids=_ids(VECTORS["callbacks"]))
def test_callback(case: dict[str, Any], make_verifier: Any, check: Any) -> None:
    scheme, clock = make_verifier(WechatPayV3Verifier, VECTORS["callback_verifier"])
    check(lambda request: scheme.verify_callback(request.headers, request.body), clock, case)


@pytest.mark.parametrize("vector", VECTORS["notifications"], ids=_ids(VECTORS["notifications"]))
def test_notification_is_signed_and_verifies_as_a_callback(
    vector: dict[str, Any],
    make_signer: Any,
    make_verifier: Any,
    keys: dict[str, rsa.RSAPrivateKey],
) -> None:
    expected = vector["expected_headers"]
    scheme, clock = make_signer(
        WechatPayV3Signer, VECTORS["verifier"], new_nonce=lambda: expected["Wechatpay-Nonce"]
    )
    clock.now = int(expected["Wechatpay-Timestamp"])
    body = vector["body"].encode()
    headers = scheme.sign_notification(Notification(body=body)).headers
    assert headers == expected
    message = callback_message(headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"], body)
    assert message == vector["signed_string"].encode()
    signature = rsa_sha256.decode_base64(headers["Wechatpay-Signature"])
    rsa_sha256.verify(keys["essc"].public_key(), message, signature)
    receiver, receiver_clock = make_verifier(WechatPayV3Verifier, VECTORS["callback_verifier"])
    receiver_clock.now = clock.now
    assert receiver.verify_callback(headers, body).serial == headers["Wechatpay-Serial"]


def test_resource_encrypts_to_the_vector() -> None:
    cipher = ResourceCipher(RESOURCE["api_v3_key"].encode(), new_nonce=lambda: RESOURCE["nonce"])
    sealed = cipher.encrypt(
        RESOURCE["plaintext"].encode(),
        associated_data=RESOURCE["associated_data"],
        original_type=RESOURCE["original_type"],
    )
    assert sealed == RESOURCE["expected"]
    assert cipher.decrypt(sealed) == RESOURCE["plaintext"].encode()


def test_resource_in_the_notification_decrypts() -> None:
    body = json.loads(VECTORS["notifications"][0]["body"])
    cipher = ResourceCipher(RESOURCE["api_v3_key"].encode())
    assert cipher.decrypt(body["resource"]) == RESOURCE["plaintext"].encode()


@pytest.mark.parametrize("case", RESOURCE["decrypt"], ids=_ids(RESOURCE["decrypt"]))
def test_resource_refusals(case: dict[str, Any]) -> None:
    cipher = ResourceCipher(RESOURCE["api_v3_key"].encode())
    with pytest.raises(SignatureError) as refused:
        cipher.decrypt(case["resource"])
    assert refused.value.reason == case["expect"]


def test_resource_under_another_key_is_refused() -> None:
    cipher = ResourceCipher(RESOURCE["wrong_key"].encode())
    with pytest.raises(SignatureError) as refused:
        cipher.decrypt(RESOURCE["expected"])
    assert refused.value.reason == "bad_signature"


def test_empty_associated_data_is_allowed() -> None:
    cipher = ResourceCipher(RESOURCE["api_v3_key"].encode(), new_nonce=lambda: "0123456789ab")
    sealed = cipher.encrypt(b"{}", associated_data="", original_type="essc.card.status")
    assert cipher.decrypt({**sealed, "associated_data": None}) == b"{}"


@pytest.mark.parametrize("length", [0, 16, 31, 33])
def test_resource_key_must_be_32_bytes(length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        ResourceCipher(b"k" * length)
