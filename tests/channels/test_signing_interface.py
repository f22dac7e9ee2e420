"""The shared interface: errors, routing, key rules, replay rules, hostile input, vector upkeep."""

from __future__ import annotations

import base64
import importlib.util
import json
import shutil
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import rsa

from channels.signing import ADAPTERS
from channels.signing import ALIPAY_RSA2
from channels.signing import ALIPAY_V3
from channels.signing import UNIONPAY_RSA
from channels.signing import WECHATPAY_V3
from channels.signing import Adapter
from channels.signing import ChannelKeys
from channels.signing import ChannelRequest
from channels.signing import KnownKey
from channels.signing import OwnKey
from channels.signing import ReplayGuard
from channels.signing import SignatureError
from channels.signing import claimant
from channels.signing import rsa_sha256
from channels.signing.wechatpay import request_message
from keys.notification import rsa_signer

VECTOR_DIR = Path(__file__).parents[1] / "vectors" / "channels"
VECTORS = {
    name: json.loads((VECTOR_DIR / f"{name}.json").read_text("utf-8"))
    for name in ("alipay", "wechatpay", "unionpay")
}
SPECS: dict[Adapter, dict[str, Any]] = {
    ALIPAY_RSA2: VECTORS["alipay"]["alipay-rsa2"],
    ALIPAY_V3: VECTORS["alipay"]["alipay-v3"],
    WECHATPAY_V3: VECTORS["wechatpay"],
    UNIONPAY_RSA: VECTORS["unionpay"],
}
GARBAGE = ["", " ", "\x00", "签名", "A" * 10_000, "\ud800", ",,,", "=", '""']


class _Store:
    def add_once(self, key: str, ttl_seconds: int) -> bool:
        return True


def _first_ok(adapter: Adapter) -> dict[str, Any]:
    return next(case for case in SPECS[adapter]["requests"] if case["expect"] == "ok")


@pytest.mark.parametrize("reason", sorted(SignatureError.REASONS))
def test_error_message_is_only_the_reason(reason: Any) -> None:
    error = SignatureError(reason)
    assert str(error) == error.reason == reason
    assert reason.isascii()


def test_unknown_reason_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown"):
        SignatureError("nope")  # type: ignore[arg-type]


def test_registry_names_every_scheme() -> None:
    assert [adapter.name for adapter in ADAPTERS] == [
        "wechatpay-v3",
        "alipay-rsa2",
        "alipay-v3",
        "unionpay-rsa",
    ]
    for adapter in ADAPTERS:
        assert adapter.channel.value in {"alipay", "wechat", "unionpay"}


@pytest.mark.parametrize("adapter", list(SPECS), ids=lambda adapter: adapter.name)
def test_a_request_is_routed_to_its_scheme(adapter: Adapter) -> None:
    data = _first_ok(adapter)["request"]
    request = ChannelRequest(
        data["method"], data["target"], data["headers"], data["body"].encode(), data["params"]
    )
    assert claimant(request, adapter.carrier) is adapter
    other = "form" if adapter.carrier == "header" else "header"
    assert claimant(request, other) is None
    assert adapter.claimed_owner(request) == SPECS[adapter]["verifier"]["peers"][0]["owner"]


def test_an_unrecognised_request_has_no_scheme() -> None:
    request = ChannelRequest("POST", "/", {"Authorization": "Bearer x"}, params={"a": "b"})
    assert claimant(request, "header") is None
    assert claimant(request, "form") is None


def test_a_form_with_both_signature_fields_is_an_alipay_form() -> None:
    """The order authentication always had: ``sign`` (Alipay) before ``signature`` (UnionPay)."""
    request = ChannelRequest("POST", "/", params={"sign": "x", "signature": "y"})
    assert claimant(request, "form") is ALIPAY_RSA2


@pytest.mark.parametrize("value", GARBAGE)
@pytest.mark.parametrize("adapter", [ALIPAY_V3, WECHATPAY_V3], ids=["alipay-v3", "wechatpay-v3"])
def test_garbage_authorization_is_malformed(
    adapter: Adapter, value: str, make_verifier: Any
) -> None:
    scheme, _ = make_verifier(adapter.verifier, SPECS[adapter]["verifier"])
    for prefix in ("", "ALIPAY-SHA256withRSA ", "WECHATPAY2-SHA256-RSA2048 "):
        request = ChannelRequest("POST", "/", {"Authorization": prefix + value})
        with pytest.raises(SignatureError) as refused:
            scheme.verify_request(request)
        assert refused.value.reason == "malformed"


@pytest.mark.parametrize("value", GARBAGE)
@pytest.mark.parametrize(
    "adapter", [ALIPAY_RSA2, UNIONPAY_RSA], ids=["alipay-rsa2", "unionpay-rsa"]
)
def test_garbage_form_fields_are_refused(adapter: Adapter, value: str, make_verifier: Any) -> None:
    scheme, clock = make_verifier(adapter.verifier, SPECS[adapter]["verifier"])
    ok = _first_ok(adapter)
    clock.now = ok["now"]
    for field, original in ok["request"]["params"].items():
        if original == value:
            continue
        params = {**ok["request"]["params"], field: value}
        with pytest.raises(SignatureError):
            scheme.verify_request(ChannelRequest("POST", "/", params=params))


@pytest.mark.parametrize(
    ("adapter", "field"),
    [(ALIPAY_RSA2, "sign"), (UNIONPAY_RSA, "signature")],
    ids=["alipay", "unionpay"],
)
def test_re_encoded_signature_is_still_a_replay(
    adapter: Adapter, field: str, make_verifier: Any
) -> None:
    """Base64 padding bits are ignored on decode; the replay key must not depend on them."""
    scheme, clock = make_verifier(adapter.verifier, SPECS[adapter]["verifier"])
    ok = _first_ok(adapter)
    clock.now = ok["now"]
    params = ok["request"]["params"]
    scheme.verify_request(ChannelRequest("POST", "/", params=params))
    text = params[field]
    assert text.endswith("==")  # 256-byte signatures: the last data character has spare bits
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
    twin = text[:-3] + alphabet[alphabet.index(text[-3]) ^ 1] + "=="
    assert twin != text
    assert base64.b64decode(twin) == base64.b64decode(text)
    with pytest.raises(SignatureError, match="replayed_nonce"):
        scheme.verify_request(ChannelRequest("POST", "/", params={**params, field: twin}))


def test_keys_below_2048_bits_are_refused_at_start_up() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point
    with pytest.raises(ValueError, match="2048"):
        KnownKey("app", weak.public_key())
    with pytest.raises(ValueError, match="2048"):
        rsa_signer(weak)  # the signing function an OwnKey is given


def test_non_rsa_keys_are_refused() -> None:
    with pytest.raises(TypeError, match="RSA"):
        KnownKey("app", ec.generate_private_key(ec.SECP256R1()).public_key())  # type: ignore[arg-type]


def test_a_key_cannot_be_registered_twice(keys: dict[str, rsa.RSAPrivateKey]) -> None:
    public = keys["channel"].public_key()
    with pytest.raises(ValueError, match="twice"):
        ChannelKeys([KnownKey("a", public, "1"), KnownKey("a", public, "1")])
    with pytest.raises(ValueError, match="twice"):
        ChannelKeys([KnownKey("a", public, "1"), KnownKey("b", public, "1")])


def test_lookup_needs_the_exact_owner_and_serial(keys: dict[str, rsa.RSAPrivateKey]) -> None:
    ring = ChannelKeys([KnownKey("a", keys["channel"].public_key(), "1")])
    assert ring.find("a", "1").owner == "a"
    for owner, serial in [("a", None), ("a", "2"), ("b", "1")]:
        with pytest.raises(SignatureError, match="unknown_key"):
            ring.find(owner, serial)


@pytest.mark.parametrize("window", [0, -1, 3601])
def test_replay_window_bounds(window: int) -> None:
    with pytest.raises(ValueError, match="window"):
        ReplayGuard(lambda: 0.0, _Store(), window)


@pytest.mark.parametrize(
    "adapter", [WECHATPAY_V3, UNIONPAY_RSA], ids=["wechatpay-v3", "unionpay-rsa"]
)
def test_schemes_that_name_certificates_need_a_serial(
    adapter: Adapter, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    with pytest.raises(ValueError, match=r"serial|certId"):
        adapter.signer(OwnKey("me", rsa_signer(keys["essc"])), time)


def time() -> float:
    return 0.0


def test_nonces_are_kept_for_twice_the_window(make_verifier: Any) -> None:
    scheme, clock = make_verifier(WECHATPAY_V3.verifier, SPECS[WECHATPAY_V3]["verifier"])
    ok = _first_ok(WECHATPAY_V3)
    clock.now = ok["now"]
    data = ok["request"]
    scheme.verify_request(
        ChannelRequest(data["method"], data["target"], data["headers"], data["body"].encode())
    )
    assert scheme._guard.nonces.ttls == [600]


def test_vector_files_are_current(keys: dict[str, rsa.RSAPrivateKey]) -> None:
    """The JSON files are exactly what ``generate.py`` builds: signing is deterministic."""
    spec = importlib.util.spec_from_file_location("channel_vectors", VECTOR_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["channel_vectors"] = module
    spec.loader.exec_module(module)
    for path, text in module.render(keys):
        assert path.read_text("utf-8") == text, f"{path.name} is stale: run generate.py"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_signatures_match_openssl(keys: dict[str, rsa.RSAPrivateKey]) -> None:
    """wechatpay4_0 step 3 signs with ``openssl dgst -sha256 -sign``; we produce the same bytes."""
    message = request_message(
        "GET", "/v3/certificates", "1554208460", "593BEC0C930BF1AFEB40B4A08C8FB242", b""
    )
    key_file = VECTOR_DIR / "TEST-ONLY-channel-rsa2048.pem"
    produced = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(key_file)],
        input=message,
        capture_output=True,
        check=True,
    ).stdout
    assert base64.b64encode(produced).decode() == rsa_sha256.sign(
        rsa_signer(keys["channel"]), message
    )
