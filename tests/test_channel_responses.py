"""E-card API answers signed in the caller's native scheme (issue 8, defect 4).

Each answer, 2xx or problem, to a WeChat Pay v3 or Alipay v3 caller carries that scheme's
response headers over the exact body bytes, signed with the platform key a channel registers
from ``essc keys notification-cert``; Bearer callers get none.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from channels.signing import AlipayV3
from channels.signing import KeyRing
from channels.signing import KnownKey
from channels.signing import OwnKey
from channels.signing import ReplayGuard
from channels.signing import WechatPayV3
from channels.signing import rsa_sha256
from channels.signing.alipay import v3_response_content
from tests.channels.conftest import MemoryNonceStore
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import bearer
from tests.ecard_helpers import channel_key
from tests.ecard_helpers import issue_body
from tests.ecard_helpers import public_pem

SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
URL = "/api/v1/ecards"
SCHEMES = {"wechatpay-v3": (WechatPayV3, "wechat"), "alipay-v3": (AlipayV3, "alipay")}


def _platform(provider: Any, scheme: str) -> tuple[str, rsa.RSAPublicKey]:
    serial, pem = provider.keyring.notification_public_pem(scheme)
    public = serialization.load_pem_public_key(pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    return serial, public


def _call(provider: Any, web: Any, scheme: str, path: str, body: bytes | None) -> Any:
    cls, kind = SCHEMES[scheme]
    channel = add_channel(
        provider, kind, api_auth_scheme=scheme, api_keys={SERIAL: public_pem(channel_key())}
    )
    guard = ReplayGuard(provider.clock, MemoryNonceStore(provider.clock))
    own = OwnKey(channel.client_id, channel_key(), SERIAL)
    signer = cls(own=own, peers=KeyRing(()), guard=guard)
    method = "POST" if body is not None else "GET"
    headers = {"Authorization": signer.authorization(method, path, body or b"")}
    if body is None:
        return web.get(path, headers=headers)
    return web.post(path, data=body, headers=headers, content_type="application/json")


def _verify(provider: Any, scheme: str, response: Any) -> None:
    """The check each vendor's SDK runs on an answer (wechatpayv3, alipay-sdk ``#curl``)."""
    serial, public = _platform(provider, scheme)
    body = response.get_data()
    if scheme == "wechatpay-v3":
        guard = ReplayGuard(provider.clock, MemoryNonceStore(provider.clock))
        channel_side = WechatPayV3(
            own=OwnKey("1900000001", channel_key(), "X"),
            peers=KeyRing(()),
            guard=guard,
            platform_peers=KeyRing([KnownKey("essc", public, serial)]),
        )
        channel_side.verify_callback(dict(response.headers), body)
        assert response.headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"
        assert response.headers["Request-ID"] == response.headers["X-Request-Id"]
    else:
        h = response.headers
        assert h["alipay-sn"] == serial
        content = v3_response_content(h["alipay-timestamp"], h["alipay-nonce"], body)
        rsa_sha256.verify(public, content, rsa_sha256.decode_base64(h["alipay-signature"]))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_success_and_problem_answers_are_signed(
    provider: Any, web: Any, cardholder: Any, scheme: str
) -> None:
    provider.keyring.ensure_notification_keys()
    kind = SCHEMES[scheme][1]
    body = json.dumps(issue_body(provider, kind)).encode()
    issued = _call(provider, web, scheme, URL, body)
    assert issued.status_code == 201
    _verify(provider, scheme, issued)
    missing = _call(provider, web, scheme, URL + "/no-such-card", None)
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"
    _verify(provider, scheme, missing)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_changed_answer_fails_the_check(provider: Any, web: Any, scheme: str) -> None:
    provider.keyring.ensure_notification_keys()
    refused = _call(provider, web, scheme, URL + "/no-such-card", None)
    refused.set_data(refused.get_data().replace(b"404", b"200"))
    with pytest.raises(Exception, match="bad_signature"):
        _verify(provider, scheme, refused)


def test_bearer_answers_carry_no_native_signature(provider: Any, web: Any) -> None:
    provider.keyring.ensure_notification_keys()
    channel = add_channel(provider, "bank")
    answer = web.get(URL + "/no-such-card", headers=bearer(web, channel))
    assert answer.status_code == 404
    assert not {"Wechatpay-Signature", "alipay-signature"} & set(answer.headers.keys())
