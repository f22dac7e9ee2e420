"""The test vectors of docs/qr-token.md 8, rebuilt from fixed TEST-ONLY keys and randoms.

Ed25519 is deterministic, so the same inputs give the same codes byte for byte:
``python -m tests.qr.vectors > tests/vectors/qr/qr-vectors.json`` writes the file and
``tests/qr/test_vectors.py`` checks that the file and this builder agree.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from idp.qr.base45 import b45decode
from idp.qr.base45 import b45encode
from idp.qr.status_list import status_list_claims
from idp.qr.token import PREFIX
from idp.qr.token import Purpose
from idp.qr.token import QrToken
from idp.qr.token import encode
from idp.qr.token import short_kid
from keys.jwk import public_jwk
from keys.jwk import thumbprint
from keys.jws import encode_header
from keys.jws import sign_compact

ISSUED_AT = 1_800_000_000
STATUS_URI = "https://essc.example/qr/status-list"


def _seeded(label: str) -> bytes:
    return hashlib.sha256(f"essc-idp TEST-ONLY {label}".encode()).digest()


def key(label: str) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(_seeded(label))


def jwk_of(private: ed25519.Ed25519PrivateKey) -> dict[str, str]:
    jwk = public_jwk(private.public_key())
    return {**jwk, "kid": thumbprint(jwk), "alg": "EdDSA", "use": "sig"}


def _code(
    private: ed25519.Ed25519PrivateKey,
    purpose: Purpose,
    ref_label: str,
    *,
    actor: str | None = None,
    lifetime: int = 60,
) -> str:
    token = QrToken(
        purpose=purpose,
        kid=short_kid(jwk_of(private)["kid"]),
        issued_at=ISSUED_AT,
        expires_at=ISSUED_AT + lifetime,
        ecard_ref=_seeded(ref_label)[:8],
        actor=_seeded(actor)[:8] if actor else None,
    )
    return encode(token, private.sign)


def _flip_signature(code: str) -> str:
    raw = bytearray(b45decode(code[len(PREFIX) :]))
    raw[-1] ^= 0x01
    return PREFIX + b45encode(bytes(raw))


def build() -> dict[str, Any]:
    signer, stranger = key("qr-signing-key"), key("another-key")
    jwks = {"keys": [jwk_of(signer)]}
    now = ISSUED_AT + 10
    cases: list[dict[str, Any]] = []

    def case(name: str, code: str, purpose: str | None, expect: str, at: int = now) -> None:
        cases.append({"name": name, "code": code, "purpose": purpose, "now": at, "expect": expect})

    for purpose in Purpose:
        case(f"{purpose.value}", _code(signer, purpose, purpose.value), purpose.value, "valid")
    proxy = _code(signer, Purpose.MEDICAL, "proxy", actor="relative")
    case("medical, minted by a family proxy", proxy, "medical", "valid")
    payment = _code(signer, Purpose.PAYMENT, "payment")
    case("expired (60 s lifetime, 30 s skew)", payment, "payment", "expired", ISSUED_AT + 90)
    case("within the skew after expiry", payment, "payment", "valid", ISSUED_AT + 89)
    case("not yet valid", payment, "payment", "not_yet_valid", ISSUED_AT - 31)
    case("wrong purpose", payment, "transit", "wrong_purpose")
    case("bad signature (last bit flipped)", _flip_signature(payment), "payment", "bad_signature")
    case("unknown key", _code(stranger, Purpose.PAYMENT, "payment"), "payment", "unknown_key")
    case("malformed: another prefix", "HC1:" + payment[4:], "payment", "malformed")
    case("malformed: truncated", payment[:-2], "payment", "malformed")
    revoked = _code(signer, Purpose.TRANSIT, "revoked")
    case("revoked in the status list", revoked, "transit", "revoked")
    from idp.qr.token import decode

    revoked_index = decode(revoked).token.status_index
    claims = status_list_claims(
        [revoked_index], subject=STATUS_URI, now=ISSUED_AT, ttl=60, lifetime=86_400
    )
    header = encode_header("EdDSA", jwk_of(signer)["kid"], "statuslist+jwt")
    status_list = sign_compact(header, claims, signer, "EdDSA")
    return {
        "description": "essc-idp QR token vectors (docs/qr-token.md 8). TEST-ONLY keys.",
        "skew": 30,
        "test_only_private_key_seed_hex": _seeded("qr-signing-key").hex(),
        "jwks": jwks,
        "status_list_uri": STATUS_URI,
        "status_list": status_list,
        "revoked_status_index": revoked_index,
        "cases": cases,
    }


if __name__ == "__main__":
    print(json.dumps(build(), indent=2, ensure_ascii=False))
