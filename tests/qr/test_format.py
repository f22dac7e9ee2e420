"""The token format: round trips, sizes, Base45, hostile input, and a real QR decoder."""

from __future__ import annotations

import os

import pytest
import segno
import zxingcpp
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from idp.qr import render
from idp.qr.base45 import Base45Error
from idp.qr.base45 import b45decode
from idp.qr.base45 import b45encode
from idp.qr.token import PREFIX
from idp.qr.token import Purpose
from idp.qr.token import QrToken
from idp.qr.token import QrTokenError
from idp.qr.token import decode
from idp.qr.token import encode
from idp.qr.token import short_kid
from idp.qr.verifier import OfflineVerifier
from keys.jwk import public_jwk
from keys.jwk import thumbprint
from tests.qr.png import read_gray

NOW = 1_800_000_000
KEY = ed25519.Ed25519PrivateKey.generate()
JWK = {**public_jwk(KEY.public_key()), "alg": "EdDSA", "use": "sig"}
JWK["kid"] = thumbprint(JWK)
VERIFIER = OfflineVerifier({"keys": [JWK]}, clock=lambda: NOW + 5)


def token(purpose: Purpose = Purpose.PAYMENT, actor: bytes | None = None) -> QrToken:
    return QrToken(purpose, short_kid(JWK["kid"]), NOW, NOW + 60, os.urandom(8), actor)


# -- Base45 (RFC 9285) -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"AB", "BB8"),
        (b"Hello!!", "%69 VD92EX0"),
        (b"base-45", "UJCLQE7W581"),
        (b"ietf!", "QED8WEX0"),
    ],
)
def test_base45_rfc_examples(data: bytes, text: str) -> None:
    assert b45encode(data) == text and b45decode(text) == data


@pytest.mark.parametrize("text", ["GGW", "ZZZ", "A", "abc", "AB\u00e9"])
def test_base45_refuses(text: str) -> None:
    with pytest.raises(Base45Error):
        b45decode(text)


@given(st.binary(max_size=200))
@settings(max_examples=200)
def test_base45_round_trip(data: bytes) -> None:
    assert b45decode(b45encode(data)) == data


# -- round trips and sizes -------------------------------------------------------------------------
@pytest.mark.parametrize("purpose", list(Purpose))
@pytest.mark.parametrize("actor", [None, b"\x07" * 8])
def test_round_trip_every_purpose(purpose: Purpose, actor: bytes | None) -> None:
    original = token(purpose, actor)
    text = encode(original, KEY.sign)
    assert decode(text).token == original
    assert VERIFIER.verify(text, purpose) == original
    assert len(text) == (130 if actor is None else 142)
    assert set(text) <= set(segno.consts.ALPHANUMERIC_CHARS.decode())


def test_es256_codes_verify_too() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = {**public_jwk(private.public_key()), "alg": "ES256", "use": "sig"}
    jwk["kid"] = thumbprint(jwk)

    def sign(data: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes

        r, s = decode_dss_signature(private.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    t = QrToken(Purpose.IDENTITY, short_kid(jwk["kid"]), NOW, NOW + 60, os.urandom(8))
    verifier = OfflineVerifier({"keys": [jwk]}, clock=lambda: NOW)
    assert verifier.verify(encode(t, sign), "identity") == t


@pytest.mark.parametrize("actor", [None, b"\x01" * 8])
def test_the_png_decodes_to_the_same_code_in_a_small_version(actor: bytes | None) -> None:
    text = encode(token(Purpose.TRANSIT, actor), KEY.sign)
    pixels, width, height = read_gray(render.png(text, scale=4))
    (found,) = zxingcpp.read_barcodes(memoryview(pixels).cast("B", (height, width)))
    assert found.text == text
    assert found.extra["ECLevel"] == "M"
    assert int(found.extra["Version"]) <= (6 if actor is None else 8)
    assert int(found.extra["Version"]) == 6  # measured: both fit version 6 (41 x 41)


def test_the_svg_is_the_same_symbol() -> None:
    text = encode(token(), KEY.sign)
    svg = render.svg(text, 2).decode()
    assert svg.startswith("<svg") and 'width="98"' in svg  # (41 + 2 * 4) modules * 2


# -- hostile input ------------------------------------------------------------------------------
VALID = encode(token(), KEY.sign)


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_any_mutation_is_refused_with_a_reason(data: st.DataObject) -> None:
    chars = list(VALID)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(chars) - 1))
        chars[i] = data.draw(st.sampled_from(segno.consts.ALPHANUMERIC_CHARS.decode() + "a\u00e9"))
    mutated = "".join(chars)
    if mutated == VALID:
        return
    with pytest.raises(QrTokenError) as refused:
        VERIFIER.verify(mutated, "payment")
    assert refused.value.reason in {"malformed", "bad_signature", "unknown_key", "wrong_purpose"}


@given(st.integers(0, len(VALID) - 1))
@settings(max_examples=200, deadline=None)
def test_any_truncation_is_malformed(length: int) -> None:
    with pytest.raises(QrTokenError) as refused:
        VERIFIER.verify(VALID[:length], "payment")
    assert refused.value.reason == "malformed"


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_any_text_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(QrTokenError):
        VERIFIER.verify(PREFIX + text, "payment")


@given(st.binary(min_size=0, max_size=120))
@settings(max_examples=200, deadline=None)
def test_any_bytes_behind_the_prefix_are_refused(raw: bytes) -> None:
    with pytest.raises(QrTokenError) as refused:
        VERIFIER.verify(PREFIX + b45encode(raw), "payment")
    assert refused.value.reason in {"malformed", "unknown_key", "bad_signature"}


def test_unknown_reasons_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        QrTokenError("nope")
