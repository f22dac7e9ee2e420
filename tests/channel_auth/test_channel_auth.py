"""Channel authentication on the e-card API beyond Bearer and the v3 headers: the form-signed
Alipay gateway RSA2 and UnionPay 5.1.0 schemes, mutual TLS through a proxy header (RFC 8705),
and second-tier channels held to their parent's powers (issue 3, sections 1 and 2)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from channels.signing import BY_NAME
from channels.signing import AlipayRsa2Signer
from channels.signing import OwnKey
from channels.signing import UnionPaySigner
from channels.signing.freshness import CHINA_TIME
from idp.channel_auth.rfc8705_mtls import forwarded_thumbprint
from idp.channel_auth.rfc8705_mtls import x5t_s256
from idp.settings import ConfigurationError
from idp.settings import Settings
from keys.notification import rsa_signer
from tests.ecard_helpers import accepted
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import assert_problem
from tests.ecard_helpers import bearer
from tests.ecard_helpers import channel_key
from tests.ecard_helpers import counts
from tests.ecard_helpers import issue_body
from tests.ecard_helpers import public_pem
from tests.ecard_helpers import refused
from tests.ecard_helpers import set_card
from tests.support import CARD

SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
URL = "/api/v1/ecards"
FORM = "application/x-www-form-urlencoded"
#: scheme -> (channel kind, its timestamp field and layout)
FORM_SCHEMES = {
    "alipay-rsa2": ("alipay", "timestamp", "%Y-%m-%d %H:%M:%S"),
    "unionpay-rsa": ("unionpay", "txnTime", "%Y%m%d%H%M%S"),
}

Sign = Callable[..., dict[str, str]]


def form_channel(provider: Any, scheme: str) -> Any:
    kind = FORM_SCHEMES[scheme][0]
    keys = {SERIAL: public_pem(channel_key())}
    return add_channel(provider, kind, api_auth_scheme=scheme, api_keys=keys)


def form_signer(provider: Any, client_id: str, scheme: str) -> Sign:
    """The channel's side: fields as its SDK builds them, signed with its private key."""
    _, stamp_field, layout = FORM_SCHEMES[scheme]

    def sign(
        path: str, document: Any = None, *, age: int = 0, serial: str = SERIAL
    ) -> dict[str, str]:
        own = OwnKey(client_id, rsa_signer(channel_key()), serial)
        scheme_ = BY_NAME[scheme].signer(own, provider.clock)
        moment = datetime.datetime.fromtimestamp(provider.clock() - age, CHINA_TIME)
        fields = {stamp_field: moment.strftime(layout), "essc_path": path}
        if document is not None:
            fields["biz_content"] = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        if isinstance(scheme_, AlipayRsa2Signer):
            fields.update(method=gateway_method(path), charset="utf-8", version="1.0")
            return scheme_.sign_request(fields)
        assert isinstance(scheme_, UnionPaySigner)
        return scheme_.sign_params({**fields, "merId": client_id, "encoding": "UTF-8"})

    return sign


def gateway_method(path: str) -> str:
    """The Alipay form's ``method`` for an e-card API path (``docs/ecards.md`` section 2)."""
    if path.endswith("/unbind"):
        return "essc.ecard.unbind"
    return "essc.ecard.issue" if path == URL else "essc.ecard.query"


def post_form(web: Any, path: str, fields: dict[str, str]) -> Any:
    return web.post(path, data=urlencode(fields), content_type=FORM)


@pytest.mark.parametrize("scheme", FORM_SCHEMES)
def test_form_signed_issue_query_and_unbind(
    provider: Any, web: Any, cardholder: Any, scheme: str
) -> None:
    channel = form_channel(provider, scheme)
    sign = form_signer(provider, channel.client_id, scheme)
    kind = FORM_SCHEMES[scheme][0]
    issued = accepted(post_form(web, URL, sign(URL, issue_body(provider, kind))), 201)
    path = f"{URL}/{issued['sign_no']}"
    assert accepted(web.get(f"{path}?{urlencode(sign(path))}"), 200)["status"] == "active"
    unbind = post_form(
        web, path + "/unbind", sign(path + "/unbind", {"factor": "pin", "pin": CARD["pin"]})
    )
    assert accepted(unbind, 200)["status"] == "unbound"


def _tampered(fields: dict[str, str]) -> dict[str, str]:
    changed = fields["biz_content"].replace("0001", "0002")
    assert changed != fields["biz_content"]
    return {**fields, "biz_content": changed}


#: case -> (how the channel signs, what is done to the fields, the refusal reason)
FORM_CASES: dict[str, tuple[dict[str, Any], Callable[[dict[str, str]], dict[str, str]], str]] = {
    "one changed byte": ({}, _tampered, "bad_signature"),
    "stale timestamp": ({"age": 301}, lambda f: f, "stale_timestamp"),
    "unregistered cert id or serial": ({"serial": "0" * 40}, lambda f: f, "unknown_key"),
    "signed for another path": ({}, lambda f: {**f, "essc_path": URL + "/x"}, "bad_signature"),
    "repeated field": ({}, lambda f: f, "malformed"),
}


@pytest.mark.parametrize("scheme", FORM_SCHEMES)
@pytest.mark.parametrize("case", FORM_CASES)
def test_form_signed_refusals_write_nothing(
    provider: Any, web: Any, cardholder: Any, scheme: str, case: str
) -> None:
    channel = form_channel(provider, scheme)
    sign = form_signer(provider, channel.client_id, scheme)
    how, change, reason = FORM_CASES[case]
    fields = change(sign(URL, issue_body(provider, FORM_SCHEMES[scheme][0]), **how))
    before = counts(provider)
    if case == "repeated field":
        response = web.post(URL, data=urlencode(fields) + "&essc_path=x", content_type=FORM)
    else:
        response = post_form(web, URL, fields)
    assert refused(response, 401, "unauthorized")["reason"] == reason
    assert counts(provider) == before


@pytest.mark.parametrize("scheme", FORM_SCHEMES)
def test_form_signed_replay_and_misdirection(
    provider: Any, web: Any, cardholder: Any, scheme: str
) -> None:
    channel = form_channel(provider, scheme)
    sign = form_signer(provider, channel.client_id, scheme)
    fields = sign(URL, issue_body(provider, FORM_SCHEMES[scheme][0]))
    accepted(post_form(web, URL, fields), 201)
    before = counts(provider)
    again = post_form(web, URL, fields)
    assert refused(again, 401, "unauthorized")["reason"] == "replayed_nonce"
    # A correct signature sent to another path than the one it names.
    unbind = {"factor": "pin", "pin": CARD["pin"]}
    moved = post_form(web, URL + "/x/unbind", sign(URL, unbind))
    assert refused(moved, 401, "unauthorized")["reason"] == "wrong_path"
    assert counts(provider) == before


def test_form_scheme_must_be_the_registered_one(provider: Any, web: Any, cardholder: Any) -> None:
    alipay = form_channel(provider, "alipay-rsa2")
    as_unionpay = form_signer(provider, alipay.client_id, "unionpay-rsa")
    response = post_form(web, URL, as_unionpay(URL, issue_body(provider, "alipay")))
    assert refused(response, 401, "unauthorized")["reason"] == "wrong_scheme"
    bearer_only = add_channel(provider, "alipay")
    unregistered = form_signer(provider, bearer_only.client_id, "alipay-rsa2")
    response = post_form(web, URL, unregistered(URL, issue_body(provider, "alipay")))
    assert refused(response, 401, "unauthorized")["reason"] == "wrong_scheme"


def test_form_without_signature_or_json_is_refused(
    provider: Any, web: Any, cardholder: Any
) -> None:
    channel = form_channel(provider, "alipay-rsa2")
    sign = form_signer(provider, channel.client_id, "alipay-rsa2")
    unsigned = post_form(web, URL, {"biz_content": "{}", "essc_path": URL})
    assert refused(unsigned, 401, "unauthorized")["reason"] == "no_credentials"
    not_json = post_form(web, URL, sign(URL))  # signed, but no biz_content
    refused(not_json, 400, "malformed-json")
    not_utf8 = web.post(URL, data="sign=%FF&sign_type=RSA2", content_type=FORM)
    assert refused(not_utf8, 401, "unauthorized")["reason"] == "malformed"


# -- mutual TLS (RFC 8705) -------------------------------------------------------------------

CERT_HEADER = "X-SSL-Client-Cert"


def self_signed(name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def thumbprint_of(pem: str) -> str:
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    return x5t_s256(der)


@pytest.fixture
def mtls(provider: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    """A bank channel registered for tls_client_auth, and the proxy header turned on."""
    pem = self_signed("bank.example")
    channel = add_channel(
        provider,
        "bank",
        api_auth_scheme="tls_client_auth",
        tls_client_thumbprint=thumbprint_of(pem),
    )
    settings = provider.settings.with_overrides(tls_client_cert_header=CERT_HEADER)
    monkeypatch.setattr(provider, "settings", settings)
    return channel, pem


def test_mtls_issue_and_query(provider: Any, web: Any, cardholder: Any, mtls: Any) -> None:
    _, pem = mtls
    headers = {CERT_HEADER: quote(pem, safe="")}
    issued = web.post(URL, json=issue_body(provider, "bank"), headers=headers)
    assert issued.status_code == 201, issued.get_data(as_text=True)
    assert web.get(issued.headers["Location"], headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("another certificate", "unknown_key"),
        ("garbage", "malformed"),
        ("two certificates", "malformed"),
    ],
)
def test_mtls_refusals(
    provider: Any, web: Any, cardholder: Any, mtls: Any, case: str, reason: str
) -> None:
    _, pem = mtls
    value = {
        "another certificate": quote(self_signed("bank.example"), safe=""),
        "garbage": "-----BEGIN%20CERTIFICATE-----%0Anope",
        "two certificates": quote(pem + pem, safe=""),
    }[case]
    before = counts(provider)
    response = web.post(URL, json=issue_body(provider, "bank"), headers={CERT_HEADER: value})
    assert assert_problem(response, 401, "unauthorized")["reason"] == reason
    assert counts(provider) == before


def test_mtls_header_is_ignored_when_the_setting_is_off(
    provider: Any, web: Any, cardholder: Any, mtls: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, pem = mtls
    monkeypatch.setattr(
        provider, "settings", provider.settings.with_overrides(tls_client_cert_header="")
    )
    before = counts(provider)
    response = web.post(URL, json=issue_body(provider, "bank"), headers={CERT_HEADER: quote(pem)})
    assert assert_problem(response, 401, "unauthorized")["reason"] == "no_credentials"
    assert counts(provider) == before


def test_mtls_header_from_an_untrusted_address_is_ignored(
    provider: Any, web: Any, cardholder: Any, mtls: Any
) -> None:
    """Only a proxy in ESSC_TLS_CLIENT_CERT_PROXIES (loopback by default) forwards certificates."""
    _, pem = mtls
    response = web.post(
        URL,
        json=issue_body(provider, "bank"),
        headers={CERT_HEADER: quote(pem, safe="")},
        environ_base={"REMOTE_ADDR": "203.0.113.50"},
    )
    assert assert_problem(response, 401, "unauthorized")["reason"] == "no_credentials"


def test_mtls_needs_the_registered_scheme(
    provider: Any, web: Any, cardholder: Any, mtls: Any
) -> None:
    _, pem = mtls
    add_channel(provider, "bank", tls_client_thumbprint=thumbprint_of(pem))  # no scheme: ignored
    headers = {CERT_HEADER: quote(pem, safe="")}
    assert web.post(URL, json=issue_body(provider, "bank"), headers=headers).status_code == 201
    add_channel(
        provider,
        "bank",
        api_auth_scheme="tls_client_auth",
        tls_client_thumbprint=thumbprint_of(pem),
    )
    twice = web.post(
        URL, json=issue_body(provider, "bank", idempotency_key="req-bank-0002"), headers=headers
    )
    assert assert_problem(twice, 401, "unauthorized")["reason"] == "unknown_key"


def test_thumbprint_is_rfc8705_x5t_s256() -> None:
    pem = self_signed("x")
    assert forwarded_thumbprint(quote(pem, safe="")) == thumbprint_of(pem)
    assert len(thumbprint_of(pem)) == 43 and "=" not in thumbprint_of(pem)
    for bad in ("", "%ZZ", "%C3%A9", "x" * 20_000):
        with pytest.raises(ValueError):
            forwarded_thumbprint(bad)


@pytest.mark.parametrize("value", ["X SSL", "Authorization", "x" * 65, "X-Cert\n"])
def test_cert_header_setting_fails_closed(value: str) -> None:
    with pytest.raises(ConfigurationError, match="ESSC_TLS_CLIENT_CERT_HEADER"):
        Settings(tls_client_cert_header=value).check()
    Settings(tls_client_cert_header="X-SSL-Client-Cert").check()


# -- second tier -------------------------------------------------------------------------------


def test_second_tier_cannot_reach_beyond_its_parent(
    provider: Any, web: Any, cardholder: Any
) -> None:
    """A bank-kind child of a WeChat parent: no level 2, and no scope its parent lost."""
    set_card(provider, cardholder["person_id"], bank_account_linked=True)
    parent = add_channel(provider, "wechat")
    child = add_channel(provider, "bank", parent_client_id=parent.client_id)
    headers = bearer(web, child)
    before = counts(provider)
    level2 = web.post(URL, json=issue_body(provider, "bank", level=2), headers=headers)
    body = assert_problem(level2, 403, "level-not-allowed")
    assert "second-tier" in body["detail"]
    assert counts(provider) == before

    add_channel_row(provider, parent.client_id, scopes=["essc.qr.verify"])
    beyond = web.post(URL, json=issue_body(provider, "bank"), headers=headers)
    assert_problem(beyond, 403, "insufficient-scope")
    assert counts(provider) == before

    # The same child on its own (no parent) may: the refusals above came from the parent.
    add_channel_row(provider, child.client_id, parent_client_id=None)
    alone = web.post(URL, json=issue_body(provider, "bank", level=2), headers=headers)
    assert alone.status_code == 201, alone.get_data(as_text=True)


def test_second_tier_under_a_payment_parent_may_issue_level_2(
    provider: Any, web: Any, cardholder: Any
) -> None:
    """The ceiling is the parent's powers, not less: a bank child of a bank parent pays."""
    set_card(provider, cardholder["person_id"], bank_account_linked=True)
    parent = add_channel(provider, "bank")
    child = add_channel(provider, "bank", parent_client_id=parent.client_id)
    level2 = web.post(URL, json=issue_body(provider, "bank", level=2), headers=bearer(web, child))
    assert level2.status_code == 201, level2.get_data(as_text=True)
    assert level2.json["level"] == 2


def add_channel_row(provider: Any, client_id: str, **columns: Any) -> None:
    from idp.store.channels import ChannelRow

    with provider.db.transaction() as s:
        row = s.get(ChannelRow, client_id)
        assert row is not None
        for name, value in columns.items():
            setattr(row, name, value)
    provider.clients.forget(client_id)


# -- the Alipay gateway's query/body split (issue 8, alipay-sdk ``exec``) --------------------

#: What alipay-sdk ``formatUrl`` puts in the URL; everything else goes in the form body.
GATEWAY_URL_FIELDS = ("app_id", "method", "charset", "sign_type", "sign", "timestamp", "version")


def _split(fields: dict[str, str]) -> tuple[str, str]:
    query = {k: v for k, v in fields.items() if k in GATEWAY_URL_FIELDS or k == "app_cert_sn"}
    return urlencode(query), urlencode({k: v for k, v in fields.items() if k not in query})


def test_alipay_gateway_split_between_query_and_body_is_accepted(
    provider: Any, web: Any, cardholder: Any
) -> None:
    channel = form_channel(provider, "alipay-rsa2")
    sign = form_signer(provider, channel.client_id, "alipay-rsa2")
    query, body = _split(sign(URL, issue_body(provider, "alipay")))
    response = web.post(f"{URL}?{query}", data=body, content_type=FORM)
    accepted(response, 201)


@pytest.mark.parametrize("case", ["field in both", "body changed", "query changed"])
def test_alipay_gateway_split_refusals_write_nothing(
    provider: Any, web: Any, cardholder: Any, case: str
) -> None:
    channel = form_channel(provider, "alipay-rsa2")
    sign = form_signer(provider, channel.client_id, "alipay-rsa2")
    query, body = _split(sign(URL, issue_body(provider, "alipay")))
    reason = "bad_signature"
    if case == "field in both":
        body, reason = body + "&" + query.split("&")[0], "malformed"
    elif case == "body changed":
        body = body.replace("0001", "0002")
    else:
        query = query.replace("version=1.0", "version=1.1")
    before = counts(provider)
    response = web.post(f"{URL}?{query}", data=body, content_type=FORM)
    assert refused(response, 401, "unauthorized")["reason"] == reason
    assert counts(provider) == before
