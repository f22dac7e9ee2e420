"""The channels' own Python SDKs against essc-idp (issue 8): wechatpayv3 2.0.4, python-alipay-sdk
3.4.0 and Alipay's official alipay-sdk-python 3.7.1411, each with its default checks on.

- wechatpayv3 signs e-card API calls with its own ``build_authorization`` and verifies every
  2xx response itself (``Core.request`` raises "failed to verify the signature"), through a live
  loopback server because it speaks only HTTP; its ``callback()`` verifies and decrypts a
  delivered notification.
- python-alipay-sdk signs a gateway form with ``sign_data`` and verifies essc-idp's signed gateway
  answers (``server_api``, ``_verify_and_return_sync_response``); both Alipay SDKs verify
  delivered ``alipay-rsa2`` notifications with their own notify verification.

The Node SDKs (wechatpay-node-v3, alipay-sdk) are in ``tests/e2e/test_vendor_sdks_node.py``.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
import rsa as python_rsa  # alipay-sdk-python verifies with the "rsa" package
from cryptography.hazmat.primitives import serialization
from werkzeug.serving import make_server

from channels.signing.freshness import CHINA_TIME
from idp.app import create_app
from idp.notifications import RequestsTransport
from idp.provider import Provider
from tests.ecard_helpers import VECTORS
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import channel_key
from tests.ecard_helpers import issue_body
from tests.ecard_helpers import public_pem
from tests.notifications.test_notifications import API_V3_KEY
from tests.notifications.test_notifications import PAYLOAD
from tests.notifications.test_notifications import _one_delivery
from tests.support import FakeClock

wechatpayv3 = pytest.importorskip("wechatpayv3", reason="pip install -e '.[test]'")
from alipay import AliPay  # noqa: E402 - python-alipay-sdk; see the Makefile about alipay/
from alipay.aop.api.util.SignatureUtils import get_sign_content  # noqa: E402
from alipay.aop.api.util.SignatureUtils import verify_with_rsa  # noqa: E402
from alipay.exceptions import AliPayValidationError  # noqa: E402
from wechatpayv3 import WeChatPay  # noqa: E402
from wechatpayv3 import WeChatPayType  # noqa: E402
from wechatpayv3.type import RequestType  # noqa: E402

MCH_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
URL = "/api/v1/ecards"


@pytest.fixture
def clock() -> FakeClock:
    """The SDKs stamp requests with the wall clock, so the server's clock starts at now."""
    return FakeClock(time.time())


@pytest.fixture
def transport() -> Iterator[RequestsTransport]:
    client = RequestsTransport(connect_timeout=2, read_timeout=5, trust_env=False)
    yield client
    client.close()


@contextmanager
def serve_app(provider: Provider) -> Iterator[str]:
    """The real app over HTTP on loopback, on the test's database (SQLite or PostgreSQL)."""
    provider.keyring.ensure_notification_keys()  # what `essc init` does
    server = make_server("127.0.0.1", 0, create_app(provider.settings, provider=provider))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def live(provider: Provider) -> Iterator[str]:
    with serve_app(provider) as base:
        yield base


def _pkcs8(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _stranger_pem() -> str:
    stranger = serialization.load_pem_private_key(
        (VECTORS / "TEST-ONLY-stranger-rsa2048.pem").read_bytes(), password=None
    )
    return public_pem(stranger)  # type: ignore[arg-type]


def _wechatpay(provider: Provider, mchid: str, gateway: str, platform_pem: str) -> WeChatPay:
    """wechatpayv3 in WeChat Pay public-key mode, trusting ``platform_pem`` for responses."""
    serial, _ = provider.keyring.notification_public_pem("wechatpay-v3")
    pay = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid=mchid,
        private_key=_pkcs8(channel_key()),
        cert_serial_no=MCH_SERIAL,
        appid="wx8888888888888888",
        apiv3_key=API_V3_KEY.decode(),
        public_key=platform_pem,
        public_key_id=serial,
    )
    pay._core._gate_way = gateway  # the SDK hard-codes api.mch.weixin.qq.com; nothing else changes
    return pay


def test_wechatpayv3_calls_are_accepted_and_every_response_verifies(
    provider: Provider, live: str, cardholder: Any
) -> None:
    channel = add_channel(
        provider,
        "wechat",
        api_auth_scheme="wechatpay-v3",
        api_keys={MCH_SERIAL: public_pem(channel_key())},
    )
    _, platform_pem = provider.keyring.notification_public_pem("wechatpay-v3")
    pay = _wechatpay(provider, channel.client_id, live, platform_pem)
    code, text = pay._core.request(URL, RequestType.POST, issue_body(provider, "wechat"))
    assert code == 201, text
    sign_no = json.loads(text)["sign_no"]
    code, text = pay._core.request(f"{URL}/{sign_no}")
    assert code == 200 and json.loads(text)["status"] == "active"
    # The SDK's check is real: a client trusting another key refuses the same kind of answer.
    wrong = _wechatpay(provider, channel.client_id, live, _stranger_pem())
    with pytest.raises(Exception, match="failed to verify the signature"):
        wrong._core.request(f"{URL}/{sign_no}")


def test_wechatpayv3_callback_verifies_and_decrypts_notifications(
    provider: Provider, clock: FakeClock, transport: RequestsTransport
) -> None:
    _, delivery_id, got = _one_delivery(provider, clock, transport, "wechatpay-v3", API_V3_KEY)
    assert got.headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"
    assert got.headers["Request-ID"] == delivery_id
    _, platform_pem = provider.keyring.notification_public_pem("wechatpay-v3")
    pay = _wechatpay(provider, "1900000001", "http://127.0.0.1:9", platform_pem)
    result = pay.callback(dict(got.headers), got.body)
    assert result is not None and result["id"] == delivery_id
    assert result["resource"] == PAYLOAD
    tampered = got.body.replace(b"CARD.SUSPENDED", b"CARD.RESUMED!!")
    assert pay.callback(dict(got.headers), tampered) is None


def _china_now(provider: Provider) -> str:
    return datetime.datetime.fromtimestamp(provider.clock(), CHINA_TIME).strftime(
        "%Y-%m-%d %H:%M:%S"
    )


def test_python_alipay_sdk_signs_forms_and_verifies_gateway_answers(
    provider: Provider, live: str, cardholder: Any
) -> None:
    channel = add_channel(
        provider,
        "alipay",
        api_auth_scheme="alipay-rsa2",
        api_keys={MCH_SERIAL: public_pem(channel_key())},
    )
    _, platform_pem = provider.keyring.notification_public_pem("alipay-rsa2")
    sdk = AliPay(
        appid=channel.client_id,
        app_private_key_string=_pkcs8(channel_key()),
        alipay_public_key_string=platform_pem,
    )
    body = sdk.build_body(
        "essc.ecard.issue",
        biz_content=issue_body(provider, "alipay"),
        essc_path=URL,
        app_cert_sn=MCH_SERIAL,
        timestamp=_china_now(provider),  # the SDK's default is the host's local time
    )
    # server_api only sends GET, and issuing is a POST: sign_data's form, posted as is, and the
    # answer checked by the function server_api ends in.
    raw = requests.post(
        live + URL,
        data=sdk.sign_data(body),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    ).text
    issued = sdk._verify_and_return_sync_response(raw, "essc_ecard_issue_response")
    assert issued["code"] == "10000" and issued["status"] == "active", raw
    with pytest.raises(AliPayValidationError):
        sdk._verify_and_return_sync_response(
            raw.replace('"active"', '"revokd"'), "essc_ecard_issue_response"
        )
    # server_api: the whole form in the query of a GET, its own verification of the answer.
    for sign_no, code in ((issued["sign_no"], "10000"), ("no-such-card", "40004")):
        path = f"{URL}/{sign_no}"
        sdk._gateway = live + path  # the SDK hard-codes openapi.alipay.com; nothing else changes
        answer = sdk.server_api(
            "essc.ecard.query",
            essc_path=path,
            app_cert_sn=MCH_SERIAL,
            timestamp=_china_now(provider),
        )
        assert answer["code"] == code, answer
    assert answer["sub_code"] == "ESSC.ECARD_NOT_FOUND"


def test_both_python_alipay_sdks_verify_gateway_notifications(
    provider: Provider, clock: FakeClock, transport: RequestsTransport
) -> None:
    _, delivery_id, got = _one_delivery(provider, clock, transport, "alipay-rsa2")
    _, platform_pem = provider.keyring.notification_public_pem("alipay-rsa2")
    params = dict(parse_qsl(got.body.decode(), keep_blank_values=True))
    assert params["notify_id"] == delivery_id
    sign = params.pop("sign")
    # python-alipay-sdk: its documented notify check, ``verify(data_without_sign, sign)``.
    sdk = AliPay(
        appid=params["app_id"],
        app_private_key_string=_pkcs8(channel_key()),
        alipay_public_key_string=platform_pem,
    )
    assert sdk.verify(dict(params), sign)
    assert not sdk.verify({**params, "notify_type": "card.resumed"}, sign)
    # alipay-sdk-python: rsaCheckV1 (all fields but sign and sign_type) with its own functions.
    unsigned = {k: v for k, v in params.items() if k != "sign_type"}
    content = get_sign_content(unsigned).encode()
    bare_key = "".join(platform_pem.strip().splitlines()[1:-1])
    assert verify_with_rsa(bare_key, content, sign)
    with pytest.raises(python_rsa.VerificationError):
        verify_with_rsa(bare_key, content.replace(b"card.suspended", b"card.resumed"), sign)
