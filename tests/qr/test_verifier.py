"""The offline verifier's reasons, its JWKS and status list fetchers, and ``essc qr verify``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ed25519

from idp.cli import main
from idp.qr.status_list import status_list_claims
from idp.qr.token import Purpose
from idp.qr.token import QrToken
from idp.qr.token import QrTokenError
from idp.qr.token import encode
from idp.qr.token import short_kid
from idp.qr.verifier import JwksFetcher
from idp.qr.verifier import OfflineVerifier
from idp.qr.verifier import StatusListFetcher
from idp.qr.verifier import VerifierError
from idp.qr.verifier import keep_fresh
from keys.jwk import public_jwk
from keys.jwk import thumbprint
from keys.jws import encode_header
from keys.jws import sign_compact
from tests.support import FakeClock

NOW = 1_800_000_000


class Issuer:
    """A key, its JWKS and a status list, as documents a fetcher reads."""

    def __init__(self) -> None:
        self.key = ed25519.Ed25519PrivateKey.generate()
        jwk = public_jwk(self.key.public_key())
        self.kid = thumbprint(jwk)
        self.jwks = {"keys": [{**jwk, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]}
        self.revoked: list[int] = []
        self.reads: list[str] = []
        self.down = False

    def code(self, purpose: Purpose = Purpose.TRANSIT, start: int = NOW) -> tuple[str, QrToken]:
        token = QrToken(purpose, short_kid(self.kid), start, start + 60, os.urandom(8))
        return encode(token, self.key.sign), token

    def status_list(self, now: int = NOW) -> str:
        claims = status_list_claims(self.revoked, subject="urn:list", now=now, ttl=60, lifetime=600)
        header = encode_header("EdDSA", self.kid, "statuslist+jwt")
        return sign_compact(header, claims, self.key, "EdDSA")

    def read(self, source: str) -> bytes:
        self.reads.append(source)
        if self.down:
            raise OSError("network down")
        if source == "jwks":
            return json.dumps(self.jwks).encode()
        return self.status_list().encode()


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


def verifier(issuer: Issuer, clock: FakeClock, *, status: bool = True) -> OfflineVerifier:
    keys = JwksFetcher("jwks", clock=clock, read=issuer.read)
    lists = StatusListFetcher(
        "list", keys.key_set, subject="urn:list", clock=clock, read=issuer.read
    )
    return OfflineVerifier(keys, lists if status else None, clock=clock, skew=30)


def reason(v: OfflineVerifier, text: str, purpose: str | None = "transit") -> str:
    with pytest.raises(QrTokenError) as refused:
        v.verify(text, purpose)
    return refused.value.reason


def test_times_with_skew(issuer: Issuer) -> None:
    clock = FakeClock(NOW)
    v = verifier(issuer, clock)
    text, token = issuer.code()
    assert v.verify(text, "transit") == token
    clock.now = NOW + 60 + 29
    assert v.verify(text, "transit") == token
    clock.now = NOW + 60 + 30
    assert reason(v, text) == "expired"
    clock.now = NOW - 31
    assert reason(v, text) == "not_yet_valid"
    clock.now = NOW - 30
    assert v.verify(text, None) == token


def test_wrong_purpose_and_bad_signature(issuer: Issuer) -> None:
    v = verifier(issuer, FakeClock(NOW))
    text, _ = issuer.code(Purpose.MEDICAL)
    assert reason(v, text, "payment") == "wrong_purpose"
    other = Issuer()
    other.key = ed25519.Ed25519PrivateKey.generate()  # same kid bytes, another key
    other.kid = issuer.kid
    forged, _ = other.code(Purpose.MEDICAL)
    assert reason(v, forged, "medical") == "bad_signature"


def test_unknown_kid_refreshes_the_jwks_at_most_once_a_minute(issuer: Issuer) -> None:
    clock = FakeClock(NOW)
    v = verifier(issuer, clock, status=False)
    text, _ = issuer.code()
    v.verify(text, "transit")
    new = Issuer()
    new_text, _ = new.code()
    assert reason(v, new_text) == "unknown_key"
    assert issuer.reads.count("jwks") == 1  # just loaded: not again within the minute
    clock.advance(61)
    assert reason(v, new_text) == "unknown_key"
    assert issuer.reads.count("jwks") == 2  # the unknown kid fetched once more
    assert reason(v, new_text) == "unknown_key"
    assert issuer.reads.count("jwks") == 2  # not again within the minute
    issuer.jwks["keys"] += new.jwks["keys"]  # the issuer publishes a new key
    clock.advance(61)
    new_text, _ = new.code(start=int(clock()))
    assert v.verify(new_text, "transit")
    assert issuer.reads.count("jwks") == 3


def test_revoked_after_the_list_refreshes(issuer: Issuer) -> None:
    clock = FakeClock(NOW)
    v = verifier(issuer, clock)
    text, token = issuer.code(start=NOW)
    v.verify(text, "transit")
    issuer.revoked.append(token.status_index)
    clock.advance(30)
    assert v.verify(text, "transit")  # the cached list is 30 s old: ttl 60
    clock.advance(31)
    assert reason(v, text) == "revoked"


def test_a_gate_offline_keeps_its_last_keys_and_list(issuer: Issuer) -> None:
    clock = FakeClock(NOW)
    v = verifier(issuer, clock)
    text, _ = issuer.code(start=NOW)
    v.verify(text, "transit")
    issuer.down = True
    reads = len(issuer.reads)
    clock.advance(75)  # the list's ttl has passed: the refresh fails, the last list stays
    v.verify(text, "transit")
    assert len(issuer.reads) == reads + 1
    with pytest.raises(VerifierError):
        verifier(issuer, clock).verify(text, "transit")  # a gate that never loaded anything


def test_a_tampered_or_foreign_status_list_is_refused(issuer: Issuer) -> None:
    keys = JwksFetcher("jwks", read=issuer.read)
    for text in (issuer.status_list()[:-4] + "AAAA", Issuer().status_list(), "not a jwt"):
        fetcher = StatusListFetcher("x", keys.key_set, read=lambda _s, t=text: t.encode())
        with pytest.raises(VerifierError):
            fetcher.status_list()


# -- essc qr verify ------------------------------------------------------------------------------
def test_cli_verify(issuer: Issuer, tmp_path: Path) -> None:
    (tmp_path / "jwks.json").write_text(json.dumps(issuer.jwks))
    now = int(time.time())
    (tmp_path / "list.jwt").write_text(issuer.status_list(now=now))
    text, token = issuer.code(Purpose.PAYMENT, start=now)
    runner = CliRunner()
    jwks = str(tmp_path / "jwks.json")
    ok = runner.invoke(main, ["qr", "verify", text, "--jwks", jwks, "--purpose", "payment"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["code_id"] == token.code_id
    wrong = runner.invoke(main, ["qr", "verify", text, "--jwks", jwks, "--purpose", "medical"])
    assert wrong.exit_code == 1 and json.loads(wrong.output) == {
        "valid": False,
        "reason": "wrong_purpose",
    }
    listed = str(tmp_path / "list.jwt")
    checked = runner.invoke(main, ["qr", "verify", text, "--jwks", jwks, "--status-list", listed])
    assert json.loads(checked.output)["status_checked"] is True
    missing = runner.invoke(main, ["qr", "verify", text, "--jwks", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "cannot load the JWKS" in missing.output


def test_keep_fresh_refreshes_off_the_scan_path(issuer: Issuer) -> None:
    clock = FakeClock(NOW)
    keys = JwksFetcher("jwks", clock=clock, read=issuer.read)
    lists = StatusListFetcher("list", keys.key_set, clock=clock, read=issuer.read)
    v = OfflineVerifier(keys, lists, clock=clock)
    text, token = issuer.code(start=NOW)
    stop = keep_fresh(keys, lists, every=0.01)
    try:
        v.verify(text, "transit")
        issuer.revoked.append(token.status_index)
        clock.advance(61)
        for _ in range(500):  # the thread loads the new list; scans only read it
            if lists.status_list().is_revoked(token.status_index):
                break
            time.sleep(0.01)
        assert reason(v, text) == "revoked"
    finally:
        stop.set()
    time.sleep(0.05)
    reads = len(issuer.reads)
    clock.advance(120)  # due again, but scans leave refreshing to the (stopped) thread
    assert lists.status_list().is_revoked(token.status_index) and len(issuer.reads) == reads
