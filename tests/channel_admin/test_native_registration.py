"""Registering a channel's native signature scheme, keys and notification URL (issue 8 items 1,
3, 6): through ``essc clients add`` and through ``POST /register`` + approval, then calling the
e-card API with requests signed by the vendors' own SDK code (wechatpayv3 2.0.4's
``build_authorization``, python-alipay-sdk 3.4.0's ``AliPay``/``DCAliPay.sign_data``; UnionPay
publishes no SDK, so its vector-checked ``UnionPaySigner`` signs). Nothing is written to the
database by hand. Runs on SQLite and on PostgreSQL/Redis."""

from __future__ import annotations

import datetime
import json
import types
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import alipay
import pytest
import wechatpayv3.utils
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import func
from sqlalchemy import select

from channels.signing import AlipayV3Signer
from channels.signing import OwnKey
from channels.signing import UnionPaySigner
from channels.signing import canonical_serial
from channels.signing.freshness import CHINA_TIME
from idp.cli import main
from idp.provider import Provider
from idp.store.channels import ChannelRow
from idp.store.security import AuditEvent
from keys.notification import rsa_signer
from tests.channel_admin.test_registration import editable
from tests.channel_admin.test_registration import statement
from tests.conftest import ISSUER
from tests.ecard_helpers import VECTORS
from tests.ecard_helpers import accepted
from tests.ecard_helpers import channel_key
from tests.ecard_helpers import enveloped
from tests.ecard_helpers import issue_body
from tests.ecard_helpers import public_pem
from tests.support import START

#: python-alipay-sdk's certificate mode reads certificates with pyOpenSSL's deprecated X509 API.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:alipay"),
    pytest.mark.onboarding,
]

URL = "/api/v1/ecards"
FORM = "application/x-www-form-urlencoded"
#: The merchant API certificate's serial, as WeChat Pay's merchant platform shows it.
WECHAT_SERIAL = 0x5157F09EFDC096DE15EBE81A47057A7232F1B8E1
#: UnionPay's ACP demo certId (decimal), as in tests/vectors/channels/unionpay.json.
UNIONPAY_CERT_ID = 69629715588


@pytest.fixture(autouse=True)
def sdk_clock(provider: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    """wechatpayv3 stamps with ``time.time()``: hand it the test clock instead (never slept)."""
    monkeypatch.setattr(wechatpayv3.utils, "time", types.SimpleNamespace(time=provider.clock))


def essc(provider: Provider, *args: str) -> Any:
    env = {
        "ESSC_DATABASE_URL": provider.settings.database_url,
        "ESSC_REDIS_URL": provider.settings.redis_url or None,
        "ESSC_ISSUER": ISSUER,
        "ESSC_ENV": None,
        "ESSC_KEY_PASSPHRASE": None,
        "ESSC_ONBOARDING_JWKS": provider.settings.onboarding_jwks,
    }
    return CliRunner().invoke(main, list(args), env=env)


def certificate(key: rsa.RSAPrivateKey, serial: int, *, days: int = 365) -> str:
    """A self-signed certificate over the channel's key, valid around the test clock."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TEST-ONLY Channel"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "TEST-ONLY"),
            x509.NameAttribute(NameOID.COMMON_NAME, "TEST-ONLY channel API certificate"),
        ]
    )
    start = datetime.datetime.fromtimestamp(START, datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start - datetime.timedelta(days=1))
        .not_valid_after(start + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def china_time(provider: Provider, layout: str) -> str:
    return datetime.datetime.fromtimestamp(provider.clock(), CHINA_TIME).strftime(layout)


# -- the channels' own SDKs ----------------------------------------------------------------------


def wechat_post(
    web: Any, client_id: str, path: str, document: Any, serial: str, key: Any = None
) -> Any:
    """wechatpayv3's ``build_authorization`` signs exactly the body sent."""
    body = json.dumps(document, ensure_ascii=False)
    authorization = wechatpayv3.utils.build_authorization(
        path, "POST", client_id, serial, key or channel_key(), data=body
    )
    return web.post(
        path,
        data=body.encode("utf-8"),
        content_type="application/json",
        headers={"Authorization": authorization},
    )


def wechat_get(web: Any, client_id: str, path: str, serial: str, key: Any = None) -> Any:
    authorization = wechatpayv3.utils.build_authorization(
        path, "GET", client_id, serial, key or channel_key()
    )
    return web.get(path, headers={"Authorization": authorization})


def alipay_sdk(client_id: str, app_cert: str | None = None) -> Any:
    """python-alipay-sdk: ``AliPay`` is public-key mode, ``DCAliPay`` certificate mode."""
    platform = public_pem(_essc_key())
    if app_cert is None:
        return alipay.AliPay(
            appid=client_id,
            app_private_key_string=private_pem(channel_key()),
            alipay_public_key_string=platform,
            sign_type="RSA2",
        )
    return alipay.DCAliPay(
        appid=client_id,
        app_private_key_string=private_pem(channel_key()),
        app_public_key_cert_string=app_cert,
        alipay_public_key_cert_string=app_cert,
        alipay_root_cert_string=app_cert,
    )


def _essc_key() -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(
        (VECTORS / "TEST-ONLY-essc-rsa2048.pem").read_bytes(), password=None
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def alipay_fields(provider: Provider, sdk: Any, path: str, document: Any = None) -> str:
    """``build_body`` + ``sign_data``, the SDK's own signing; the body it returns is sent as is.

    The SDK stamps ``timestamp`` with the host's local time (``datetime.now()``); Alipay reads it
    as China time, and so does essc-idp (docs/channels/signing.md 1): set the China time of the
    test clock, as ``TZ=Asia/Shanghai`` would on a real host.
    """
    # One method per operation (docs/ecards.md 2): issue with a document, else the status query.
    method = "essc.ecard.issue" if document is not None else "essc.ecard.query"
    data = sdk.build_body(method, biz_content=document, essc_path=path)
    if document is None:
        data.pop("biz_content")
    data["timestamp"] = china_time(provider, "%Y-%m-%d %H:%M:%S")
    signed: str = sdk.sign_data(data)
    return signed


def unionpay_fields(
    provider: Provider, client_id: str, path: str, document: Any, cert_id: str
) -> dict[str, str]:
    """UnionPay has no published SDK: ``UnionPaySigner`` is checked against its vectors."""
    signer = UnionPaySigner(OwnKey(client_id, rsa_signer(channel_key()), cert_id))
    fields = {
        "txnTime": china_time(provider, "%Y%m%d%H%M%S"),
        "essc_path": path,
        "merId": client_id,
        "encoding": "UTF-8",
        "biz_content": json.dumps(document, ensure_ascii=False, separators=(",", ":")),
    }
    return signer.sign_params(fields)


def issue_with_sdk(provider: Provider, web: Any, scheme: str, client_id: str, **how: Any) -> Any:
    """Issue an e-card as the channel's SDK would send the request."""
    if scheme == "wechatpay-v3":
        document = issue_body(provider, "wechat")
        return wechat_post(web, client_id, URL, document, how.get("serial", f"{WECHAT_SERIAL:X}"))
    if scheme == "alipay-rsa2":
        sdk = alipay_sdk(client_id, how.get("app_cert"))
        body = alipay_fields(provider, sdk, URL, issue_body(provider, "alipay"))
        return web.post(URL, data=body, content_type=FORM)
    document = issue_body(provider, "unionpay")
    fields = unionpay_fields(provider, client_id, URL, document, str(UNIONPAY_CERT_ID))
    return web.post(URL, data=urlencode(fields), content_type=FORM)


def reason(response: Any) -> str:
    """The reason of a 401, plain RFC 7807 or inside Alipay's gateway envelope."""
    value = enveloped(response)
    if value is None:
        assert response.status_code == 401, response.get_data(as_text=True)
        return str(response.json["reason"])
    assert value["status"] == 401, value
    return str(value["reason"])


# -- registration through the CLI ----------------------------------------------------------------

#: scheme -> (kind, how its key file is given, as `--api-key` values built from a directory)
CLI_SCHEMES = ("wechatpay-v3", "alipay-rsa2", "alipay-rsa2-cert", "unionpay-rsa")


def cli_key_args(scheme: str, directory: Path) -> tuple[str, list[str], dict[str, Any]]:
    key = channel_key()
    if scheme == "wechatpay-v3":  # the certificate names its serial: no SERIAL= needed
        path = directory / "apiclient_cert.pem"
        path.write_text(certificate(key, WECHAT_SERIAL))
        return "wechat", [str(path)], {}
    if scheme == "alipay-rsa2":  # public-key mode: the RSA2 public key, no serial
        path = directory / "app_public_key.pem"
        path.write_text(public_pem(key))
        return "alipay", [str(path)], {}
    if scheme == "alipay-rsa2-cert":  # certificate mode: app_cert_sn as Alipay's SDK computes it
        cert = certificate(key, 0x0123456789)
        path = directory / "appCertPublicKey.crt"
        path.write_text(cert)
        return "alipay", [f"{alipay.DCAliPay.get_cert_sn(cert)}={path}"], {"app_cert": cert}
    path = directory / "acp_cert.pem"
    path.write_text(certificate(key, UNIONPAY_CERT_ID))
    return "unionpay", [str(path)], {}


@pytest.mark.parametrize("scheme", CLI_SCHEMES)
def test_clients_add_registers_a_native_channel_its_sdk_can_call(
    provider: Provider, web: Any, cardholder: Any, tmp_path: Path, scheme: str
) -> None:
    kind, keys, how = cli_key_args(scheme, tmp_path)
    native = scheme.removesuffix("-cert")
    scope = "essc.ecard essc.payment" if kind == "unionpay" else "essc.ecard"
    args = ["clients", "add", "--name", f"Test {kind}", "--kind", kind, "--no-fapi2"]
    args += ["--grant-type", "client_credentials", "--auth-method", "client_secret_basic"]
    args += ["--scope", scope, "--api-signature-scheme", native]
    args += ["--notification-url", "https://channel.example.cn/essc/notify"]
    for value in keys:
        args += ["--api-key", value]
    result = essc(provider, *args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["essc_api_signature_scheme"] == native
    assert out["essc_notification_url"] == "https://channel.example.cn/essc/notify"
    assert [k["public_key"] for k in out["essc_api_keys"]] == [public_pem(channel_key())]
    response = issue_with_sdk(provider, web, native, out["client_id"], **how)
    accepted(response, 201)


def test_clients_add_refuses_a_malformed_key_and_writes_nothing(
    provider: Provider, tmp_path: Path
) -> None:
    path = tmp_path / "not-a-key.pem"
    path.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    before = channel_count(provider)
    result = essc(
        provider,
        *("clients", "add", "--name", "W", "--kind", "wechat", "--grant-type"),
        *("client_credentials", "--auth-method", "client_secret_basic", "--scope"),
        *("essc.ecard", "--api-signature-scheme", "wechatpay-v3", "--api-key", f"ABC={path}"),
    )
    assert result.exit_code == 1
    assert "invalid_client_metadata: public_key is not a PEM public key" in result.output
    assert channel_count(provider) == before


def channel_count(provider: Provider) -> int:
    with provider.db.read() as s:
        return s.scalar(select(func.count()).select_from(ChannelRow)) or 0


# -- registration through POST /register, approval, RFC 7592 ------------------------------------


def native_body(operator_key: bytes, kind: str, scheme: str, keys: list[Any]) -> dict[str, Any]:
    scope = "essc.ecard essc.payment" if kind == "unionpay" else "essc.ecard"
    return {
        "software_statement": statement(operator_key, kind=kind, scope=scope),
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": scope,
        "essc_api_signature_scheme": scheme,
        "essc_api_keys": keys,
        "essc_notification_url": "https://channel.example.cn/essc/notify",
    }


#: scheme -> (kind, its essc_api_keys, how its SDK signs)
REGISTER_SCHEMES: dict[str, tuple[str, list[dict[str, str]], dict[str, Any]]] = {
    "wechatpay-v3": (
        "wechat",
        [{"certificate": certificate(channel_key(), WECHAT_SERIAL)}],
        {},
    ),
    "alipay-rsa2": ("alipay", [{"public_key": public_pem(channel_key())}], {}),
    "unionpay-rsa": (
        "unionpay",
        [
            {
                "serial": str(UNIONPAY_CERT_ID),
                "certificate": certificate(channel_key(), UNIONPAY_CERT_ID),
            }
        ],
        {},
    ),
}


def register_native(web: Any, operator_key: bytes, scheme: str) -> dict[str, Any]:
    kind, keys, _ = REGISTER_SCHEMES[scheme]
    response = web.post("/register", json=native_body(operator_key, kind, scheme, keys))
    accepted(response, 201)
    registered: dict[str, Any] = response.json
    return registered


@pytest.mark.parametrize("scheme", REGISTER_SCHEMES)
def test_register_approve_then_the_sdk_signed_request_is_accepted(
    provider: Provider, web: Any, cardholder: Any, operator_key: bytes, scheme: str
) -> None:
    registered = register_native(web, operator_key, scheme)
    client_id = registered["client_id"]
    assert registered["essc_status"] == "pending"
    assert registered["essc_api_signature_scheme"] == scheme
    assert registered["essc_notification_url"] == "https://channel.example.cn/essc/notify"
    expected_serial = {"wechatpay-v3": f"{WECHAT_SERIAL:X}", "unionpay-rsa": "69629715588"}
    key = {"public_key": public_pem(channel_key())}
    if scheme in expected_serial:
        key = {"serial": expected_serial[scheme], **key}
    assert registered["essc_api_keys"] == [key]
    how = REGISTER_SCHEMES[scheme][2]
    pending = essc(provider, "channels", "pending")
    listed = [c for c in json.loads(pending.output) if c["client_id"] == client_id]
    assert listed[0]["api_signature_scheme"] == scheme  # what the operator reviews
    assert reason(issue_with_sdk(provider, web, scheme, client_id, **how)) == "unknown_channel"
    assert essc(provider, "channels", "approve", client_id).exit_code == 0
    provider.clock.advance(1)  # a new timestamp: the refused copy was not consumed, but be plain
    response = issue_with_sdk(provider, web, scheme, client_id, **how)
    accepted(response, 201)
    read = web.get(
        f"/register/{client_id}",
        headers={"Authorization": f"Bearer {registered['registration_access_token']}"},
    )
    assert read.json["essc_api_keys"] == [key]  # RFC 7592 2.1 reflects the extension metadata


def put(web: Any, registered: dict[str, Any], **changes: Any) -> Any:
    token = registered["registration_access_token"]
    info = web.get(
        f"/register/{registered['client_id']}", headers={"Authorization": f"Bearer {token}"}
    ).json
    body = {**editable(info), **changes}
    return web.put(
        f"/register/{registered['client_id']}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_rfc7592_put_rotates_the_keys(provider: Provider, web: Any, operator_key: bytes) -> None:
    registered = register_native(web, operator_key, "wechatpay-v3")
    client_id = registered["client_id"]
    assert essc(provider, "channels", "approve", client_id).exit_code == 0
    old, new = f"{WECHAT_SERIAL:X}", "7D3A0C5E11"
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    missing = f"{URL}/no-such-card"
    assert wechat_get(web, client_id, missing, new, new_key).status_code == 401
    # Step 1: old and new together; both verify (the overlap the channel chooses).
    both = [*registered["essc_api_keys"], {"serial": new, "public_key": public_pem(new_key)}]
    assert put(web, registered, essc_api_keys=both).status_code == 200
    assert wechat_get(web, client_id, missing, new, new_key).status_code == 404
    assert wechat_get(web, client_id, missing, old).status_code == 404
    # Step 2: the old key leaves; it stops at once.
    only_new = [{"serial": new, "certificate": certificate(new_key, int(new, 16))}]
    answer = put(web, registered, essc_api_keys=only_new)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json["essc_api_keys"] == [{"serial": new, "public_key": public_pem(new_key)}]
    assert reason(wechat_get(web, client_id, missing, old)) == "unknown_key"
    assert wechat_get(web, client_id, missing, new, new_key).status_code == 404
    with provider.db.read() as s:
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.event == "channel.api_keys_rotated")
        ).all()
    assert len(events) == 2


#: case -> the essc_* members of a refused update (or registration)
MALFORMED: dict[str, dict[str, Any]] = {
    "not PEM": {"essc_api_keys": [{"serial": "AB", "public_key": "not a key"}]},
    "truncated PEM": {
        "essc_api_keys": [
            {
                "serial": "AB",
                "public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            }
        ]
    },
    "serial not hex": {
        "essc_api_keys": [{"serial": "XYZ", "public_key": public_pem(channel_key())}]
    },
    "serial with a sign": {
        "essc_api_keys": [{"serial": "-1", "public_key": public_pem(channel_key())}]
    },
    "no serial for WeChat Pay": {"essc_api_keys": [{"public_key": public_pem(channel_key())}]},
    "serial not the certificate's": {
        "essc_api_keys": [{"serial": "AB", "certificate": certificate(channel_key(), 0xCD)}]
    },
    "expired certificate": {
        "essc_api_keys": [{"certificate": certificate(channel_key(), 0xCD, days=-1)}]
    },
    "EC key": {
        "essc_api_keys": [
            {
                "serial": "AB",
                "public_key": ec.generate_private_key(ec.SECP256R1())
                .public_key()
                .public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                .decode(),
            }
        ]
    },
    "both a key and a certificate": {
        "essc_api_keys": [
            {
                "serial": "AB",
                "public_key": public_pem(channel_key()),
                "certificate": certificate(channel_key(), 0xAB),
            }
        ]
    },
    "the same serial twice in other spellings": {
        "essc_api_keys": [
            {"serial": "00ab", "public_key": public_pem(channel_key())},
            {"serial": "AB", "public_key": public_pem(channel_key())},
        ]
    },
    "no keys": {"essc_api_keys": []},
    "eleven keys": {
        "essc_api_keys": [
            {"serial": f"{n:X}", "public_key": public_pem(channel_key())} for n in range(1, 12)
        ]
    },
    "unknown member": {
        "essc_api_keys": [{"serial": "AB", "public_key": public_pem(channel_key()), "x": "1"}]
    },
    "keys not an array": {"essc_api_keys": {"AB": public_pem(channel_key())}},
    "serial not a string": {
        "essc_api_keys": [{"serial": 171, "public_key": public_pem(channel_key())}]
    },
    "another scheme": {"essc_api_signature_scheme": "alipay-v3"},
    "no scheme": {"essc_api_signature_scheme": None},
    "notification URL not https": {"essc_notification_url": "http://channel.example.cn/notify"},
}


@pytest.mark.parametrize("case", MALFORMED)
def test_rfc7592_put_refuses_malformed_keys_and_writes_nothing(
    provider: Provider, web: Any, operator_key: bytes, case: str
) -> None:
    registered = register_native(web, operator_key, "wechatpay-v3")
    with provider.db.read() as s:
        row = s.get(ChannelRow, registered["client_id"])
        assert row is not None
        before = (row.api_auth_scheme, row.api_keys, row.notification_url, row.updated_at)
    answer = put(web, registered, **MALFORMED[case])
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.json["error"] == "invalid_client_metadata"
    with provider.db.read() as s:
        row = s.get(ChannelRow, registered["client_id"])
        assert row is not None
        assert (row.api_auth_scheme, row.api_keys, row.notification_url, row.updated_at) == before


@pytest.mark.parametrize(
    ("kind", "members"),
    [
        ("wechat", {"essc_api_signature_scheme": "unionpay-rsa"}),  # not this kind's scheme
        ("wechat", {"essc_api_signature_scheme": "wechatpay-v2"}),
        ("alipay", {"essc_api_signature_scheme": None}),  # keys without a scheme
        ("alipay", {"essc_api_keys": [{"certificate": certificate(channel_key(), 5)}]}),
    ],
)
def test_register_refuses_bad_native_metadata_and_spends_nothing(
    provider: Provider, web: Any, operator_key: bytes, kind: str, members: dict[str, Any]
) -> None:
    body = native_body(
        operator_key,
        kind,
        "alipay-rsa2" if kind == "alipay" else "wechatpay-v3",
        [
            {
                "public_key": public_pem(channel_key()),
                **({"serial": "AB"} if kind == "wechat" else {}),
            }
        ],
    )
    body.update(members)
    body = {k: v for k, v in body.items() if v is not None}
    before = channel_count(provider)
    answer = web.post("/register", json=body)
    assert answer.status_code == 400 and answer.json["error"] == "invalid_client_metadata"
    assert channel_count(provider) == before
    body.pop("essc_api_keys", None)
    body.pop("essc_api_signature_scheme", None)
    assert web.post("/register", json=body).status_code == 201  # the statement is still unspent


# -- serials compared as numbers (item 6) ------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",  # as registered
        "5157f09efdc096de15ebe81a47057a7232f1b8e1",  # wechatpay-node-v3 prints lowercase hex
        "005157F09EFDC096DE15EBE81A47057A7232F1B8E1",  # a leading zero byte (DER's sign byte)
        "5157f09EFDC096DE15EBE81A47057A7232F1B8e1",
    ],
)
def test_serial_spellings_of_the_registered_number_are_accepted(
    provider: Provider, web: Any, operator_key: bytes, spelling: str
) -> None:
    registered = register_native(web, operator_key, "wechatpay-v3")
    assert essc(provider, "channels", "approve", registered["client_id"]).exit_code == 0
    answer = wechat_get(web, registered["client_id"], f"{URL}/no-such-card", spelling)
    assert answer.status_code == 404, answer.get_data(as_text=True)  # authenticated, then not found


@pytest.mark.parametrize(
    "serial",
    ["5157F09EFDC096DE15EBE81A47057A7232F1B8E2", "5157F09EFDC096DE15EBE81A47057A7232F1B8E10", "Z1"],
)
def test_another_serial_is_refused(
    provider: Provider, web: Any, operator_key: bytes, serial: str
) -> None:
    registered = register_native(web, operator_key, "wechatpay-v3")
    assert essc(provider, "channels", "approve", registered["client_id"]).exit_code == 0
    answer = wechat_get(web, registered["client_id"], f"{URL}/no-such-card", serial)
    assert reason(answer) == "unknown_key"  # a serial that is no number names no key either


def test_canonical_serial_is_one_spelling_per_number() -> None:
    assert canonical_serial("00ab") == canonical_serial("AB") == "AB"
    assert canonical_serial("69629715588") == "69629715588"  # a decimal certId keeps its digits
    assert canonical_serial("069629715588") == canonical_serial("69629715588")
    assert canonical_serial("AB") != canonical_serial("AC")
    for bad in ("", "0x1F", "1_000", " 1F", "1F ", "-1", "+1", "٣", "F" * 65):
        with pytest.raises(ValueError):
            canonical_serial(bad)


# -- Alipay public-key mode (item 3) ------------------------------------------------------------


def test_alipay_public_key_mode_requests_are_accepted(
    provider: Provider, web: Any, cardholder: Any, operator_key: bytes
) -> None:
    registered = register_native(web, operator_key, "alipay-rsa2")
    client_id = registered["client_id"]
    assert registered["essc_api_keys"] == [{"public_key": public_pem(channel_key())}]
    assert essc(provider, "channels", "approve", client_id).exit_code == 0
    # python-alipay-sdk's AliPay (public-key mode) sends no app_cert_sn.
    issued = accepted(issue_with_sdk(provider, web, "alipay-rsa2", client_id), 201)
    path = f"{URL}/{issued['sign_no']}"
    query = alipay_fields(provider, alipay_sdk(client_id), path)
    assert "app_cert_sn" not in query
    accepted(web.get(f"{path}?{query}"), 200)
    # A certificate-mode request names an app_cert_sn nobody registered: refused.
    provider.clock.advance(1)
    cert = certificate(channel_key(), 0x0123456789)
    assert reason(issue_with_sdk(provider, web, "alipay-rsa2", client_id, app_cert=cert)) == (
        "unknown_key"
    )


def test_alipay_v3_public_key_mode_header_without_app_cert_sn(
    provider: Provider, web: Any, operator_key: bytes
) -> None:
    """The official Node SDK without certificates signs v3 with no ``app_cert_sn``."""
    keys = [{"public_key": public_pem(channel_key())}]
    body = native_body(operator_key, "alipay", "alipay-v3", keys)
    registered = web.post("/register", json=body).json
    client_id = registered["client_id"]
    assert essc(provider, "channels", "approve", client_id).exit_code == 0
    signer = AlipayV3Signer(OwnKey(client_id, rsa_signer(channel_key())), provider.clock)
    path = f"{URL}/no-such-card"
    header = signer.authorization("GET", path, b"")
    assert "app_cert_sn" not in header
    assert web.get(path, headers={"Authorization": header}).status_code == 404
    with_serial = AlipayV3Signer(OwnKey(client_id, rsa_signer(channel_key()), "AB"), provider.clock)
    refused = web.get(path, headers={"Authorization": with_serial.authorization("GET", path, b"")})
    assert reason(refused) == "unknown_key"


def test_the_scheme_cannot_change_on_update(
    provider: Provider, web: Any, operator_key: bytes
) -> None:
    registered = register_native(web, operator_key, "alipay-rsa2")
    answer = put(web, registered, essc_api_signature_scheme="alipay-v3")
    assert answer.status_code == 400 and answer.json["error"] == "invalid_client_metadata"
    kept = put(web, registered)  # everything read, sent back: the RFC 7592 round trip
    assert kept.status_code == 200, kept.get_data(as_text=True)
    assert kept.json["essc_api_signature_scheme"] == "alipay-rsa2"
