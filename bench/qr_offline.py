"""Offline QR verification per second, in process, against the raw signature check it rests on.

``python -m bench.qr_offline`` (``make bench`` runs it too): one Ed25519 key, one payment code
(docs/qr-token.md), a status list of 2**24 entries with 1,000 revoked; then, alternately, runs
of 100 ``OfflineVerifier.verify`` calls (Base45, parsing, kid look-up, signature, times,
purpose, status bit) and of 100 bare ``Ed25519PublicKey.verify`` calls over the same signing
input, so other work on the machine falls on both alike. Prints the median rates, the median
of the per-run ratios (and their range), and the QR version the code needs at error correction
M (without and with an actor), as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from collections.abc import Callable

import cryptography
import segno
from cryptography.hazmat.primitives.asymmetric import ed25519

from idp.qr.status_list import status_list_claims
from idp.qr.token import Purpose
from idp.qr.token import QrToken
from idp.qr.token import decode
from idp.qr.token import encode
from idp.qr.token import short_kid
from idp.qr.verifier import OfflineVerifier
from idp.qr.verifier import QrKeySet
from idp.qr.verifier import StatusList
from keys.jwk import public_jwk
from keys.jwk import thumbprint
from keys.jws import encode_header
from keys.jws import sign_compact


class _Fixed:
    def __init__(self, found: StatusList) -> None:
        self.found = found

    def status_list(self, *, force: bool = False) -> StatusList:
        return self.found


def _seconds(operation: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        operation()
    return time.perf_counter() - start


def _interleaved(
    first: Callable[[], object], second: Callable[[], object], count: int, chunk: int = 100
) -> tuple[float, float]:
    """Rates of two operations, ``count`` calls each, in alternating chunks of ``chunk``: load
    that comes and goes on a shared machine falls on both alike."""
    spent = [0.0, 0.0]
    for _ in range(count // chunk):
        spent[0] += _seconds(first, chunk)
        spent[1] += _seconds(second, chunk)
    return count / spent[0], count / spent[1]


def _qr_version(text: str) -> int:
    version = segno.make_qr(text, error="m", boost_error=False).version
    assert isinstance(version, int)
    return version


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.qr_offline")
    parser.add_argument("--count", type=int, default=5000, help="verifications per run")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    key = ed25519.Ed25519PrivateKey.generate()
    jwk = public_jwk(key.public_key())
    kid = thumbprint(jwk)
    jwks = {"keys": [{**jwk, "kid": kid, "alg": "EdDSA", "use": "sig"}]}
    now = int(time.time())
    token = QrToken(Purpose.PAYMENT, short_kid(kid), now, now + 60, os.urandom(8))
    text = encode(token, key.sign)
    with_actor = encode(
        QrToken(Purpose.PAYMENT, short_kid(kid), now, now + 60, os.urandom(8), os.urandom(8)),
        key.sign,
    )
    revoked = random.Random(7).sample(range(2**24), 1000)  # noqa: S311 (test data)
    claims = status_list_claims(revoked, subject="urn:bench", now=now, ttl=60, lifetime=600)
    jwt = sign_compact(encode_header("EdDSA", kid, "statuslist+jwt"), claims, key, "EdDSA")
    keys = QrKeySet.from_jwks(jwks)
    status = StatusList.from_jwt(jwt, keys, subject="urn:bench", now=now)
    verifier = OfflineVerifier(keys, _Fixed(status))
    decoded = decode(text)
    public = key.public_key()

    def offline() -> object:
        return verifier.verify(text, Purpose.PAYMENT)

    def raw() -> object:
        public.verify(decoded.signature, decoded.signing_input)
        return None

    _interleaved(offline, raw, 500)  # warm-up
    runs = [_interleaved(offline, raw, args.count) for _ in range(args.runs)]
    offline_rate = statistics.median(r[0] for r in runs)
    raw_rate = statistics.median(r[1] for r in runs)
    ratio = statistics.median(r[0] / r[1] for r in runs)
    print(
        json.dumps(
            {
                "offline_verifications_per_s": round(offline_rate),
                "raw_ed25519_verifications_per_s": round(raw_rate),
                "ratio": round(ratio, 3),
                "ratio_min": round(min(r[0] / r[1] for r in runs), 3),
                "ratio_max": round(max(r[0] / r[1] for r in runs), 3),
                "runs": args.runs,
                "count_per_run": args.count,
                "code_chars": len(text),
                "qr_version_at_m": _qr_version(text),
                "qr_version_at_m_with_actor": _qr_version(with_actor),
                "python": platform.python_version(),
                "cryptography": cryptography.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
