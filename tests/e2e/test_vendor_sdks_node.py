"""The channels' own Node SDKs against a live essc-idp (issue 8), default checks on:
wechatpay-node-v3 2.2.1 and Alipay's official alipay-sdk 4.14.0 (``tests/js/vendor_sdks.mjs``).

- wechatpay-node-v3 signs calls (``buildAuthorization``), ``verifySign`` accepts every answer
  (201, 200 and a 404 problem) and a delivered notification, ``decipher_gcm`` opens its resource.
- alipay-sdk ``curl`` (Open API v3) in certificate mode and in public-key mode: the SDK signs
  and verifies ``alipay-signature`` on every 2xx answer itself, and throws otherwise.
- alipay-sdk ``exec`` (the gateway form, common parameters in the URL query and business ones in
  the body) resolves with the e-card from essc-idp's signed gateway envelope (``validateSign``
  on), resolves with the gateway ``code`` for a refusal, and throws on an answer changed in
  transit; ``checkNotifySign`` accepts a delivered ``alipay-rsa2`` notification.

The server is the app on loopback over the test's database, so channels are registered with the
database fixtures as the other channel tests do.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from idp.notifications import RequestsTransport
from idp.provider import Provider
from tests.channel_auth.test_vendor_sdks import MCH_SERIAL
from tests.channel_auth.test_vendor_sdks import serve_app
from tests.ecard_helpers import VECTORS
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import channel_key
from tests.ecard_helpers import issue_body
from tests.ecard_helpers import public_pem
from tests.notifications.test_notifications import API_V3_KEY
from tests.notifications.test_notifications import PAYLOAD
from tests.notifications.test_notifications import _one_delivery
from tests.support import FakeClock

pytestmark = [pytest.mark.node, pytest.mark.live]

JS_DIR = Path(__file__).resolve().parents[1] / "js"
NODE = shutil.which("node")
URL = "/api/v1/ecards"
ROOT_NAME = "essc test root"


@pytest.fixture(autouse=True)
def _needs_node() -> None:
    if NODE is None:
        pytest.skip("node is not installed (the SDK tests need Node 20+)")
    for package in ("wechatpay-node-v3", "alipay-sdk"):
        if not (JS_DIR / "node_modules" / package).is_dir():
            pytest.skip("tests/js/node_modules is missing: run `make node-deps`")


@pytest.fixture
def clock() -> FakeClock:
    """The SDKs stamp requests with the wall clock, so the server's clock starts at now."""
    return FakeClock(datetime.datetime.now(datetime.UTC).timestamp())


@pytest.fixture
def transport() -> Iterator[RequestsTransport]:
    client = RequestsTransport(connect_timeout=2, read_timeout=5, trust_env=False)
    yield client
    client.close()


@pytest.fixture
def live(provider: Provider) -> Iterator[str]:
    with serve_app(provider) as base:
        yield base


def run_node(mode: str, payload: dict[str, Any]) -> dict[str, Any]:
    # Alipay SDKs stamp gateway requests in the host's local time and mean China time.
    env = {**os.environ, "MODE": mode, "INPUT": json.dumps(payload), "TZ": "Asia/Shanghai"}
    done = subprocess.run(
        [str(NODE), "vendor_sdks.mjs"],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _pkcs8(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _root_key() -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(
        (VECTORS / "TEST-ONLY-stranger-rsa2048.pem").read_bytes(), password=None
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _certificate(subject: str, public: rsa.RSAPublicKey, serial: int) -> str:
    """A certificate issued by the test root, as Alipay issues app and platform certificates."""
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ROOT_NAME)]))
        .public_key(public)
        .serial_number(serial)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(_root_key(), hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def alipay_cert_sn(serial: int) -> str:
    """Alipay's certificate SN: MD5 of the issuer DN and the decimal serial (antcertutil)."""
    return hashlib.md5(f"CN={ROOT_NAME}{serial}".encode()).hexdigest()  # noqa: S324 - Alipay's


def _platform(provider: Provider, scheme: str) -> tuple[str, str, rsa.RSAPublicKey]:
    serial, pem = provider.keyring.notification_public_pem(scheme)
    public = serialization.load_pem_public_key(pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    return serial, pem, public


def _alipay_certs(provider: Provider, scheme: str) -> dict[str, str]:
    serial, _, platform_public = _platform(provider, scheme)
    return {
        "app_cert": _certificate("essc test app", channel_key().public_key(), 1001),
        "platform_cert": _certificate("essc-idp platform", platform_public, 1002),
        "root_cert": _certificate(ROOT_NAME, _root_key().public_key(), 1000),
        "platform_serial": serial,
    }


def test_wechatpay_node_v3_signs_calls_and_verifies_answers_and_notifications(
    provider: Provider, live: str, cardholder: Any, clock: FakeClock, transport: RequestsTransport
) -> None:
    channel = add_channel(
        provider,
        "wechat",
        api_auth_scheme="wechatpay-v3",
        api_keys={MCH_SERIAL: public_pem(channel_key())},
    )
    _, delivery_id, got = _one_delivery(provider, clock, transport, "wechatpay-v3", API_V3_KEY)
    serial, pem, _ = _platform(provider, "wechatpay-v3")
    result = run_node(
        "wechat",
        {
            "base": live,
            "mchid": channel.client_id,
            "mch_serial": MCH_SERIAL,
            "mch_public_pem": public_pem(channel_key()),
            "mch_private_pem": _pkcs8(channel_key()),
            "api_v3_key": API_V3_KEY.decode(),
            "platform_serial": serial,
            "platform_pem": pem,
            "issue": issue_body(provider, "wechat"),
            "notification": {"headers": dict(got.headers), "body": got.body.decode()},
        },
    )
    assert result["issued"]["status"] == 201 and result["issued"]["verified"] is True, result
    assert result["status"]["status"] == 200 and result["status"]["verified"] is True
    assert result["refused"]["status"] == 404 and result["refused"]["verified"] is True
    assert result["notificationVerified"] is True
    assert result["decrypted"] == PAYLOAD and delivery_id in got.body.decode()


def _alipay_v3(provider: Provider, live: str, api_keys: dict[str, str]) -> dict[str, Any]:
    channel = add_channel(provider, "alipay", api_auth_scheme="alipay-v3", api_keys=api_keys)
    serial, pem, _ = _platform(provider, "alipay-v3")
    return {
        "base": live,
        "app_id": channel.client_id,
        "app_private_pem": _pkcs8(channel_key()),
        "platform_serial": serial,
        "platform_pem": pem,
        "issue": issue_body(provider, "alipay"),
    }


def _assert_v3_calls(result: dict[str, Any]) -> None:
    issued, status = result["issued"], result["status"]
    assert "ok" in issued, result  # the SDK throws when alipay-signature does not verify
    assert issued["ok"]["responseHttpStatus"] == 201
    assert status["ok"]["responseHttpStatus"] == 200 and status["ok"]["data"]["status"] == "active"


def test_alipay_sdk_v3_certificate_mode(provider: Provider, live: str, cardholder: Any) -> None:
    app_cert_sn = alipay_cert_sn(1001)
    payload = _alipay_v3(provider, live, {app_cert_sn: public_pem(channel_key())})
    result = run_node("alipay-cert", {**payload, **_alipay_certs(provider, "alipay-v3")})
    assert result["appCertSn"] == app_cert_sn
    _assert_v3_calls(result)


def test_alipay_sdk_v3_public_key_mode(provider: Provider, live: str, cardholder: Any) -> None:
    # Public-key mode: the key is registered without a serial (docs/onboarding.md 3.1).
    payload = _alipay_v3(provider, live, {"": public_pem(channel_key())})
    _assert_v3_calls(run_node("alipay-key", payload))


def test_alipay_sdk_exec_gets_signed_gateway_answers_and_checks_notifications(
    provider: Provider, live: str, cardholder: Any, clock: FakeClock, transport: RequestsTransport
) -> None:
    app_cert_sn = alipay_cert_sn(1001)
    channel = add_channel(
        provider,
        "alipay",
        api_auth_scheme="alipay-rsa2",
        api_keys={app_cert_sn: public_pem(channel_key())},
    )
    _, _, got = _one_delivery(provider, clock, transport, "alipay-rsa2")
    issue = issue_body(provider, "alipay")
    bad_id = {**issue, "id_number": "110105194912310021", "idempotency_key": "req-bad-id-0001"}
    result = run_node(
        "alipay-exec",
        {
            "app_id": channel.client_id,
            "app_private_pem": _pkcs8(channel_key()),
            "base": live,
            "gateway": live + URL,
            "path": URL,
            "issue": issue,
            "bad_id": bad_id,
            "notification": dict(parse_qsl(got.body.decode())),
            **_alipay_certs(provider, "alipay-rsa2"),
        },
    )
    assert result["appCertSn"] == app_cert_sn
    # exec resolves with the essc_ecard_issue_response value after verifying its sign.
    issued = result["issued"]
    assert "ok" in issued, result
    assert issued["ok"]["code"] == "10000" and issued["ok"]["status"] == "active"
    assert issued["ok"]["signNo"] and issued["ok"]["traceId"]  # camelcase, as the SDK returns
    assert result["unchecked"]["ok"]["signNo"] == issued["ok"]["signNo"]  # an idempotent retry
    # A business refusal resolves too: the SDK reports it by code, never by HTTP status.
    bad = result["badId"]["ok"]
    assert (bad["code"], bad["subCode"], bad["field"]) == (
        "40002",
        "isv.invalid-id-number",
        "id_number",
    )
    # One changed byte on the way: the SDK's own check refuses the answer.
    assert "验签失败" in result["tampered"].get("error", ""), result
    assert result["notified"] is True and result["forged"] is False
