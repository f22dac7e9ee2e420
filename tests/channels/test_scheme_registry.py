"""The scheme registry (``channels.signing.registry``): each scheme named once, and that one name
is what request authentication, notification and response signing, registration, the CLI and the
key ring use. A scheme's ``Verifier`` is built from public keys only, its ``Signer`` from a
signing function only; so are the RFC 8417 SETs of channels without a native scheme."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import rsa

from channels import api_keys
from channels.signing import ADAPTERS
from channels.signing import BY_NAME
from channels.signing import Adapter
from channels.signing import ChannelKeys
from channels.signing import KnownKey
from channels.signing import Notification
from channels.signing import OwnKey
from channels.signing import ReplayGuard
from channels.signing import SecurityEventSigner
from channels.signing import SecurityEventVerifier
from channels.signing import SignatureError
from channels.signing import Verified
from channels.signing import registered
from channels.signing import security_event
from channels.signing.registry import platform_key_serials
from channels.signing.registry import spellings
from idp.channel_auth.authenticate import claimed_form_scheme
from idp.channel_auth.responses import response_scheme
from idp.cli.clients import clients_add
from idp.cli.keys import keys_notification_cert
from idp.notifications import ChannelSigners
from idp.notifications.platform_keys import own_keys
from idp.provider import Provider
from keys.notification import rsa_signer
from tests.channel_admin.test_native_registration import essc
from tests.channels.conftest import MemoryNonceStore
from tests.channels.conftest import to_request
from tests.support import START
from tests.support import FakeClock

VECTOR_DIR = Path(__file__).parents[1] / "vectors" / "channels"
_FILES = {
    name: json.loads((VECTOR_DIR / f"{name}.json").read_text("utf-8"))
    for name in ("alipay", "wechatpay", "unionpay")
}
SPECS = {
    "alipay-rsa2": _FILES["alipay"]["alipay-rsa2"],
    "alipay-v3": _FILES["alipay"]["alipay-v3"],
    "wechatpay-v3": _FILES["wechatpay"],
    "unionpay-rsa": _FILES["unionpay"],
}
EACH = pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda adapter: adapter.name)


def _ok_case(adapter: Adapter) -> dict[str, Any]:
    return next(case for case in SPECS[adapter.name]["requests"] if case["expect"] == "ok")


def test_names_spellings_and_platform_keys_are_each_defined_once() -> None:
    names = [spelling for adapter in ADAPTERS for spelling in (adapter.name, *adapter.spellings)]
    assert len(names) == len(set(names)) == len(spellings())
    assert set(BY_NAME) == {adapter.name for adapter in ADAPTERS} == set(SPECS)
    assert len(platform_key_serials()) == len(ADAPTERS)
    for spelling in names:
        found = registered(spelling)
        assert found is not None and found.known_as(spelling)
    assert registered("unionpay") is BY_NAME["unionpay-rsa"]  # the one translation
    for other in (None, "", "private_key_jwt", "tls_client_auth", "UNIONPAY", "unionpay-rsa "):
        assert registered(other) is None


@EACH
def test_a_new_platform_key_serial_has_the_form_the_channel_expects(adapter: Adapter) -> None:
    serial = adapter.new_serial()
    if adapter.name == "unionpay-rsa":
        assert serial.isdigit() and len(serial) == 20  # a certId is a decimal serial
    else:
        assert int(serial, 16) and len(serial) == 32
        assert serial == (serial.upper() if adapter.name == "wechatpay-v3" else serial.lower())
    assert adapter.new_serial() != serial


@EACH
def test_a_verifier_needs_only_public_keys(
    adapter: Adapter, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    """Built from ``KnownKey`` public keys alone, it accepts the vector's signed request."""
    case = _ok_case(adapter)
    spec = SPECS[adapter.name]["verifier"]
    public = ChannelKeys(
        KnownKey(e["owner"], keys[e["key"]].public_key(), e["serial"]) for e in spec["peers"]
    )
    clock = FakeClock(case["now"])
    verifier = adapter.verifier(public, ReplayGuard(clock, MemoryNonceStore(clock)))
    verified = verifier.verify_request(to_request(case["request"]))
    assert isinstance(verified, Verified) and verified.scheme == adapter.name


def test_the_key_directory_refuses_a_private_key(keys: dict[str, rsa.RSAPrivateKey]) -> None:
    with pytest.raises(TypeError, match="RSA"):
        KnownKey("app", keys["channel"])  # type: ignore[arg-type]


@EACH
def test_a_signer_needs_only_a_signing_function(
    adapter: Adapter, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    signed: list[bytes] = []
    key_sign = rsa_signer(keys["essc"])

    def sign(message: bytes) -> bytes:
        signed.append(message)
        return key_sign(message)

    signer = adapter.signer(OwnKey("essc-idp", sign, "12345678901234567890"), FakeClock())
    out = signer.sign_notification(Notification(body=b"{}", params={"merId": "m", "a": "b"}))
    assert len(signed) == 1 and out != Notification(body=b"{}", params={"merId": "m", "a": "b"})


@EACH
def test_every_layer_uses_the_registry_name(adapter: Adapter, provider: Provider) -> None:
    """Round trip: request authentication, registration, notifications, key ring and CLI."""
    request = to_request(_ok_case(adapter)["request"])
    if adapter.carrier == "form":
        assert claimed_form_scheme(request.params) == (adapter.name, adapter.claimed_owner(request))
    else:
        assert response_scheme(request.header("Authorization")) is adapter
    provider.keyring.ensure_notification_keys()  # what `essc init` does
    held = own_keys(provider.keyring)
    assert (
        held[adapter.name].serial
        == provider.keyring.notification_signer(adapter.platform_key).serial
    )
    signers = ChannelSigners(
        sign_jwt=provider.sign, issuer=provider.issuer, clock=provider.clock, own_keys=held
    )
    for spelling in (adapter.name, *adapter.spellings):
        assert api_keys.from_row(spelling, {}, None).scheme == adapter.name
        assert signers.for_channel("c", spelling, "ES256").scheme == adapter.name
        cert = json.loads(essc(provider, "keys", "notification-cert", "--scheme", spelling).stdout)
        assert cert["serial"] == held[adapter.name].serial
    assert adapter.name in (_option(clients_add, "api_signature_scheme").help or "")


def _option(command: Any, name: str) -> Any:
    [found] = [p for p in command.params if p.name == name]
    return found


def test_the_cli_offers_exactly_the_registry_spellings() -> None:
    assert list(_option(keys_notification_cert, "scheme").type.choices) == spellings()


def test_a_security_event_verifier_needs_only_the_public_jwk_set() -> None:
    """RFC 8417 SETs for channels on plain OAuth: signed through a JWT signing function."""
    private = ec.generate_private_key(ec.SECP256R1())
    public_jwk = {
        **json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key())),
        "kid": "k1",
    }

    def sign_jwt(claims: dict[str, Any], alg: str, typ: str) -> str:
        return jwt.encode(claims, private, algorithm=alg, headers={"kid": "k1", "typ": typ})

    signer = SecurityEventSigner(sign_jwt, issuer="https://idp.example", alg="ES256")
    claims = signer.claims(
        audience="c1", jti="d1", now=START, occurred=START - 5, event="card.lost", payload={}
    )
    token = signer.sign(claims)
    verifier = SecurityEventVerifier(
        {"keys": [public_jwk]}, issuer="https://idp.example", audience="c1"
    )
    assert verifier.verify(token) == claims
    assert claims["events"] == {"https://idp.example/events/card.lost": {}}
    stranger = SecurityEventVerifier({"keys": []}, issuer="https://idp.example", audience="c1")
    with pytest.raises(SignatureError, match="unknown_key"):
        stranger.verify(token)


def test_channels_without_a_native_scheme_get_security_event_tokens(provider: Provider) -> None:
    signers = ChannelSigners(sign_jwt=provider.sign, issuer=provider.issuer, clock=provider.clock)
    for plain in (None, "private_key_jwt", "tls_client_auth", "client_secret_basic"):
        assert signers.for_channel("c", plain, "ES256").scheme == security_event.NAME
