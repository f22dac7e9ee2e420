"""E-card API answers signed in the caller's native scheme (issue 8, defect 4).

Each answer, 2xx or problem, to a WeChat Pay v3 or Alipay v3 caller carries that scheme's
response headers over the exact body bytes, signed with the platform key a channel registers
from ``essc keys notification-cert``; Bearer callers get none. An Alipay gateway-form
(``alipay-rsa2``) caller gets every answer as Alipay's gateway envelope, HTTP 200 with
``<method>_response`` and ``sign`` over its exact text, checked here as alipay-sdk ``exec`` does.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from channels.signing import ALIPAY_RSA2
from channels.signing import BY_NAME
from channels.signing import ChannelKeys
from channels.signing import KnownKey
from channels.signing import OwnKey
from channels.signing import ReplayGuard
from channels.signing import WechatPayV3Verifier
from channels.signing import rsa_sha256
from channels.signing.alipay import v3_response_content
from idp.channel_auth import alipay_gateway
from keys.notification import rsa_signer
from tests.channel_auth.test_channel_auth import form_channel
from tests.channel_auth.test_channel_auth import form_signer
from tests.channel_auth.test_channel_auth import post_form
from tests.channels.conftest import MemoryNonceStore
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import bearer
from tests.ecard_helpers import channel_key
from tests.ecard_helpers import issue_body
from tests.ecard_helpers import public_pem

SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
URL = "/api/v1/ecards"
SCHEMES = {"wechatpay-v3": "wechat", "alipay-v3": "alipay"}


def _platform(provider: Any, scheme: str) -> tuple[str, rsa.RSAPublicKey]:
    serial, pem = provider.keyring.notification_public_pem(scheme)
    public = serialization.load_pem_public_key(pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    return serial, public


def _call(provider: Any, web: Any, scheme: str, path: str, body: bytes | None) -> Any:
    kind = SCHEMES[scheme]
    channel = add_channel(
        provider, kind, api_auth_scheme=scheme, api_keys={SERIAL: public_pem(channel_key())}
    )
    own = OwnKey(channel.client_id, rsa_signer(channel_key()), SERIAL)
    signer: Any = BY_NAME[scheme].signer(own, provider.clock)
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
        channel_side = WechatPayV3Verifier(
            ChannelKeys(()), guard, ChannelKeys([KnownKey("essc", public, serial)])
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
    kind = SCHEMES[scheme]
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


# -- Alipay gateway-form callers: the signed gateway envelope ---------------------------------


def _signed_text(raw: str, key: str) -> str:
    """alipay-sdk 4.14.0 ``getSignStr``, line for line: what ``exec`` verifies."""
    text = raw.strip()
    start, last = raw.find(f'{key}"'), raw.rfind('"sign"')
    text = text[start + len(key) + 1 :][:last]
    return re.sub(r"\}([^}]*)$", "}", re.sub(r"^[^{]*\{", "{", text))


def _gateway_call(
    provider: Any,
    web: Any,
    path: str,
    document: Any = None,
    method: str | None = None,
    channel: Any = None,
) -> Any:
    channel = channel or form_channel(provider, "alipay-rsa2")
    fields = form_signer(provider, channel.client_id, "alipay-rsa2")(path, document)
    if method is not None:  # re-signed with another method
        own = OwnKey(channel.client_id, rsa_signer(channel_key()), SERIAL)
        signer: Any = ALIPAY_RSA2.signer(own, provider.clock)
        fields = signer.sign_request({**fields, "method": method})
    if document is None:
        return web.get(f"{path}?{urlencode(fields)}")
    return post_form(web, path, fields)


def _envelope(provider: Any, response: Any, key: str) -> dict[str, Any]:
    """Check the envelope as alipay-sdk ``exec`` does (``validateSign``) and return the value."""
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "WWW-Authenticate" not in response.headers and "Location" not in response.headers
    raw = response.get_data(as_text=True)
    envelope = json.loads(raw)
    serial, public = _platform(provider, "alipay-rsa2")
    assert envelope["alipay_cert_sn"] == serial  # the form named its app_cert_sn
    text = _signed_text(raw, key)
    rsa_sha256.verify(public, text.encode(), rsa_sha256.decode_base64(envelope["sign"]))
    value: dict[str, Any] = json.loads(text)
    assert (
        value == envelope[key] and response.headers["trace_id"] == response.headers["X-Request-Id"]
    )
    return value


def test_gateway_answers_are_signed_envelopes(provider: Any, web: Any, cardholder: Any) -> None:
    provider.keyring.ensure_notification_keys()
    channel = form_channel(provider, "alipay-rsa2")
    issued = _gateway_call(provider, web, URL, issue_body(provider, "alipay"), channel=channel)
    value = _envelope(provider, issued, "essc_ecard_issue_response")
    assert value["code"] == "10000" and value["msg"] == "Success" and value["status"] == "active"
    query = _gateway_call(provider, web, f"{URL}/{value['sign_no']}", channel=channel)
    assert _envelope(provider, query, "essc_ecard_query_response")["sign_no"] == value["sign_no"]
    bad_id = {**issue_body(provider, "alipay"), "id_number": "110105194912310021"}
    refused = _envelope(
        provider, _gateway_call(provider, web, URL, bad_id), "essc_ecard_issue_response"
    )
    assert (refused["code"], refused["msg"], refused["sub_code"]) == (
        "40002",
        "Invalid Arguments",
        "isv.invalid-id-number",
    )
    assert refused["status"] == 422 and refused["field"] == "id_number" and refused["sub_msg"]
    missing = _envelope(
        provider, _gateway_call(provider, web, URL + "/no-such-card"), "essc_ecard_query_response"
    )
    assert (missing["code"], missing["sub_code"]) == ("40004", "ESSC.ECARD_NOT_FOUND")


def test_a_changed_gateway_answer_fails_the_check(provider: Any, web: Any) -> None:
    provider.keyring.ensure_notification_keys()
    refused = _gateway_call(provider, web, URL + "/no-such-card")
    refused.set_data(refused.get_data().replace(b"40004", b"10000"))
    with pytest.raises(Exception, match="bad_signature"):
        _envelope(provider, refused, "essc_ecard_query_response")


def test_gateway_refusals_and_methods(provider: Any, web: Any, cardholder: Any) -> None:
    provider.keyring.ensure_notification_keys()
    body = issue_body(provider, "alipay")
    # A method of another operation: refused, answered under that method's key, nothing issued.
    other = _gateway_call(provider, web, URL, body, method="essc.ecard.unbind")
    value = _envelope(provider, other, "essc_ecard_unbind_response")
    assert (value["code"], value["sub_code"], value["reason"]) == (
        "40002",
        "isv.invalid-method",
        "wrong_method",
    )
    # A method that is not ours: Alipay's error_response.
    unknown = json.loads(_gateway_call(provider, web, URL, body, method="essc.ecard").get_data())
    assert unknown["error_response"]["sub_code"] == "isv.invalid-method"
    # An authentication failure whose scheme is known (the form is an Alipay one).
    channel = form_channel(provider, "alipay-rsa2")
    fields = form_signer(provider, channel.client_id, "alipay-rsa2")(URL, body)
    changed = post_form(web, URL, {**fields, "biz_content": fields["biz_content"] + " "})
    value = _envelope(provider, changed, "essc_ecard_issue_response")
    assert (value["code"], value["sub_code"], value["status"]) == (
        "40002",
        "isv.invalid-signature",
        401,
    )


def test_gateway_code_table() -> None:
    """Every mapped code is a common gateway code; unmapped 4xx are business, 5xx unavailable."""
    assert {code for code, _ in alipay_gateway.GATEWAY_CODES.values()} <= set(
        alipay_gateway.MESSAGES
    )
    new = alipay_gateway.gateway_value(409, {"type": "x/problems/new-thing", "title": "t"})
    assert (new["code"], new["sub_code"], new["sub_msg"]) == ("40004", "ESSC.NEW_THING", "t")
    crash = alipay_gateway.gateway_value(500, {"error": "server_error"})
    assert (crash["code"], crash["sub_code"]) == ("20000", "isp.unknow-error")
    assert alipay_gateway.gateway_value(200, {"a": 1}) == {
        "code": "10000",
        "msg": "Success",
        "a": 1,
    }


def test_unionpay_form_answers_stay_rfc7807(provider: Any, web: Any) -> None:
    provider.keyring.ensure_notification_keys()
    channel = form_channel(provider, "unionpay-rsa")
    fields = form_signer(provider, channel.client_id, "unionpay-rsa")(URL + "/no-such-card")
    answer = web.get(f"{URL}/no-such-card?{urlencode(fields)}")
    assert answer.status_code == 404 and answer.content_type == "application/problem+json"


@pytest.mark.parametrize(
    "query", ["sign=x", "sign=x&method=essc.ecard.query", "sign=x&app_id=alipay-1&version=1.0"]
)
def test_a_form_without_the_gateway_parameters_gets_the_product_problem(
    provider: Any, web: Any, query: str
) -> None:
    """Found by Schemathesis: a bare ``sign`` was answered in Alipay's envelope (HTTP 200), which
    the OpenAPI document does not describe. Only a call with app_id, method and sign is one."""
    answer = web.get(f"/api/v1/ecards/x?{query}")
    assert answer.status_code == 401 and answer.mimetype == "application/problem+json"
    assert not any(key.endswith("_response") for key in answer.json)
