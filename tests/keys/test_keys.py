"""The key ring (``keys/``): RFC 7638 kids, sign/verify per algorithm, rotation, wrapped storage,
field encryption and keyed hashes. Runs on SQLite and, when configured, on PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from channels.signing.registry import platform_key_serials
from idp.provider import Provider
from idp.store.database import Database
from idp.store.keystore import SqlKeyStore
from idp.store.migrate import upgrade
from idp.store.security import DataKeyRow
from idp.store.security import SigningKeyRow
from keys import SIGNING_ALGS
from keys import InvalidSignature
from keys import KeyRing
from keys import KeyRingError
from keys import UndecryptableField
from keys import WrongPassphrase
from keys.data import HASH_PURPOSES
from keys.jwk import public_jwk
from keys.jwk import thumbprint
from keys.store import ACTIVE
from keys.store import PENDING
from keys.store import RETIRED
from keys.wrapping import Wrapper
from tests.conftest import BACKENDS
from tests.conftest import keyed_pg_database
from tests.conftest import test_settings as settings_for
from tests.support import FakeClock

PASSPHRASE = settings_for("sqlite://").key_passphrase
PUBLISH_RETIRED_FOR = 600
REFRESH = 60

# RFC 7638 3.1: the example RSA key and its thumbprint.
RFC7638_KEY = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJ"
    "ECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q"
    "vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6W"
    "eZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


# -- a fresh key ring per test, on each backend ------------------------------------------------
@pytest.fixture(scope="session")
def pg_ring_template() -> Iterator[str]:
    """A migrated, keyed PostgreSQL database that each test clones (CREATE DATABASE TEMPLATE)."""
    with keyed_pg_database("essc_keys_tpl") as (name, _):
        yield name


@pytest.fixture(params=BACKENDS)
def ring_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        target = tmp_path / "essc.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    template: str = request.getfixturevalue("pg_ring_template")
    with keyed_pg_database("essc_keys", template) as (_, url):
        yield url


@pytest.fixture
def db(ring_url: str) -> Iterator[Database]:
    database = Database(ring_url)
    yield database
    database.dispose()


def open_ring(db: Database, clock: FakeClock, passphrase: str = PASSPHRASE) -> KeyRing:
    return KeyRing.open(
        SqlKeyStore(db),
        passphrase,
        publish_retired_for=PUBLISH_RETIRED_FOR,
        notification_schemes=platform_key_serials(),
        refresh_seconds=REFRESH,
        clock=clock,
    )


@pytest.fixture
def ring(db: Database, clock: FakeClock) -> KeyRing:
    return open_ring(db, clock)


def claims(clock: FakeClock, ttl: int = 300, **extra: Any) -> dict[str, Any]:
    now = int(clock())
    return {"iss": "https://idp.example", "sub": "s1", "iat": now, "exp": now + ttl, **extra}


def kids(ring: KeyRing, alg: str | None = None) -> list[str]:
    return [k["kid"] for k in ring.jwks()["keys"] if alg is None or k["alg"] == alg]


def states(ring: KeyRing, alg: str) -> dict[str, str]:
    return {k["kid"]: k["state"] for k in ring.signing.public_keys() if k["alg"] == alg}


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# -- RFC 7638 ------------------------------------------------------------------------------------
def test_thumbprint_matches_rfc7638_example() -> None:
    assert thumbprint(RFC7638_KEY) == RFC7638_THUMBPRINT


def test_thumbprint_ignores_optional_members_and_member_order() -> None:
    reordered = {"e": "AQAB", "n": RFC7638_KEY["n"], "kty": "RSA", "use": "sig"}
    assert thumbprint(reordered) == RFC7638_THUMBPRINT


def test_thumbprint_refuses_unknown_key_types() -> None:
    with pytest.raises(ValueError, match="unsupported kty"):
        thumbprint({"kty": "oct", "k": "c2VjcmV0"})


def test_every_kid_is_the_thumbprint_of_its_public_key(ring: KeyRing) -> None:
    published = ring.jwks()["keys"]
    assert {k["alg"] for k in published} == set(SIGNING_ALGS)
    for key in published:
        assert key["kid"] == thumbprint(key) and key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys(), "public members only"


# -- sign and verify -----------------------------------------------------------------------------
@pytest.mark.parametrize("alg", SIGNING_ALGS)
def test_sign_and_verify(ring: KeyRing, clock: FakeClock, alg: str) -> None:
    token = ring.sign(claims(clock, aud="rp"), alg=alg, typ="at+jwt")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == alg and header["typ"] == "at+jwt"
    assert states(ring, alg)[header["kid"]] == ACTIVE
    verified = ring.verify(token, typ="at+jwt", audience="rp", issuer="https://idp.example")
    assert verified["sub"] == "s1"
    # Anyone with the published JWKS can verify it, too.
    jwk = next(k for k in ring.jwks()["keys"] if k["kid"] == header["kid"])
    public = jwt.PyJWK.from_dict(jwk).key
    assert jwt.decode(
        token,
        public,
        algorithms=[alg],
        audience="rp",
        options={"verify_exp": False, "verify_iat": False},
    )


def test_verify_refuses_wrong_typ(ring: KeyRing, clock: FakeClock) -> None:
    token = ring.sign(claims(clock), typ="JWT")
    with pytest.raises(InvalidSignature) as caught:
        ring.verify(token, typ="at+jwt")
    assert caught.value.reason == "wrong typ"
    assert ring.verify(token, typ="jwt")["sub"] == "s1", "typ compares case-insensitively"


def test_verify_refuses_unknown_kid(ring: KeyRing, clock: FakeClock) -> None:
    token = ring.sign(claims(clock))
    _, payload, signature = token.split(".")
    forged = ".".join([b64({"alg": "ES256", "typ": "JWT", "kid": "not-a-kid"}), payload, signature])
    with pytest.raises(InvalidSignature) as caught:
        ring.verify(forged)
    assert caught.value.reason == "unknown kid or alg"


def test_verify_refuses_algorithm_confusion(ring: KeyRing, clock: FakeClock) -> None:
    es_kid = kids(ring, "ES256")[0]
    ps_kid = kids(ring, "PS256")[0]
    # HS256 keyed with the published public key: the classic confusion.
    jwk = next(k for k in ring.jwks()["keys"] if k["kid"] == es_kid)
    pem = jwt.PyJWK.from_dict(jwk).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{b64({'alg': 'HS256', 'kid': es_kid})}.{b64(claims(clock))}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    hs256 = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    # alg "none" with a real kid.
    unsigned = f"{b64({'alg': 'none', 'kid': es_kid})}.{b64(claims(clock))}."
    # A valid RS256 signature presented under the PS256 key's kid (both are RSA keys).
    rs256 = ring.sign(claims(clock), alg="RS256")
    _, payload, signature = rs256.split(".")
    swapped = ".".join([b64({"alg": "RS256", "typ": "JWT", "kid": ps_kid}), payload, signature])
    # A PS256 signature with the header claiming RS256 for the PS256 key.
    ps256 = ring.sign(claims(clock), alg="PS256")
    _, payload, signature = ps256.split(".")
    relabelled = ".".join([b64({"alg": "RS256", "typ": "JWT", "kid": ps_kid}), payload, signature])
    for token in (hs256, unsigned, swapped, relabelled):
        with pytest.raises(InvalidSignature):
            ring.verify(token)


@pytest.mark.parametrize("alg", SIGNING_ALGS)
def test_verify_refuses_tampered_payload(ring: KeyRing, clock: FakeClock, alg: str) -> None:
    token = ring.sign(claims(clock, scope="openid"), alg=alg)
    header, _, signature = token.split(".")
    tampered = ".".join([header, b64(claims(clock, scope="openid essc.idnumber")), signature])
    with pytest.raises(InvalidSignature):
        ring.verify(tampered)
    with pytest.raises(InvalidSignature):
        ring.verify(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "e30.e30.", "...."])
def test_verify_refuses_garbage(ring: KeyRing, garbage: str) -> None:
    with pytest.raises(InvalidSignature):
        ring.verify(garbage)


def test_expiry_follows_the_injected_clock(ring: KeyRing, clock: FakeClock) -> None:
    token = ring.sign(claims(clock, ttl=300))
    clock.advance(299)
    assert ring.verify(token)["sub"] == "s1"
    clock.advance(1)
    with pytest.raises(InvalidSignature) as caught:
        ring.verify(token)
    assert caught.value.reason == "expired"
    assert ring.verify(token, leeway=10)["sub"] == "s1"
    clock.advance(10)
    with pytest.raises(InvalidSignature):
        ring.verify(token, leeway=10)


def test_tokens_from_the_future_are_refused(ring: KeyRing, clock: FakeClock) -> None:
    now = int(clock())
    early = ring.sign({"iat": now + 60, "exp": now + 300})
    with pytest.raises(InvalidSignature) as caught:
        ring.verify(early)
    assert caught.value.reason == "iat in the future"
    assert ring.verify(early, leeway=60)
    with pytest.raises(InvalidSignature) as caught:
        ring.verify(ring.sign({"iat": now, "nbf": now + 30, "exp": now + 300}))
    assert caught.value.reason == "nbf in the future"


def test_required_claims(ring: KeyRing, clock: FakeClock) -> None:
    with pytest.raises(InvalidSignature):
        ring.verify(ring.sign({"sub": "s1", "iat": int(clock())}))  # no exp
    with pytest.raises(InvalidSignature):
        ring.verify(ring.sign(claims(clock)), audience="rp")  # no aud


# -- rotation ------------------------------------------------------------------------------------
def test_jwks_publishes_the_pending_key_before_it_signs(ring: KeyRing, clock: FakeClock) -> None:
    before = states(ring, "ES256")
    pending = next(kid for kid, state in before.items() if state == PENDING)
    active = next(kid for kid, state in before.items() if state == ACTIVE)
    assert pending in kids(ring, "ES256")
    assert kid_of(ring.sign(claims(clock))) == active != pending


def test_rotation_promotes_pending_and_keeps_old_tokens_verifiable(
    ring: KeyRing, clock: FakeClock
) -> None:
    before = states(ring, "ES256")
    old_active = next(kid for kid, state in before.items() if state == ACTIVE)
    old_pending = next(kid for kid, state in before.items() if state == PENDING)
    old_token = ring.sign(claims(clock, ttl=PUBLISH_RETIRED_FOR))

    rotation = ring.rotate("ES256")
    assert (rotation.activated, rotation.retired) == (old_pending, old_active)
    after = states(ring, "ES256")
    assert after[old_active] == RETIRED and after[old_pending] == ACTIVE
    assert after[rotation.pending] == PENDING and rotation.pending not in before
    assert kid_of(ring.sign(claims(clock))) == old_pending, "the previously pending key signs"
    assert set(kids(ring, "ES256")) == {old_active, old_pending, rotation.pending}

    clock.advance(PUBLISH_RETIRED_FOR - 1)
    assert ring.verify(old_token)["sub"] == "s1", "signed before rotation, still valid"
    assert old_active in kids(ring, "ES256")

    clock.advance(1)
    ring.signing.reload()
    assert old_active not in kids(ring, "ES256"), "retired key leaves after publish_retired_for"
    with pytest.raises(InvalidSignature):
        ring.verify(old_token)
    other_algs = {alg: states(ring, alg) for alg in SIGNING_ALGS if alg != "ES256"}
    assert all(set(s.values()) == {ACTIVE, PENDING} for s in other_algs.values())


def test_the_jwks_refreshes_on_its_own_after_the_refresh_period(
    ring: KeyRing, clock: FakeClock
) -> None:
    old_active = next(kid for kid, s in states(ring, "ES256").items() if s == ACTIVE)
    ring.rotate("ES256")
    clock.advance(PUBLISH_RETIRED_FOR + REFRESH)
    assert old_active not in kids(ring, "ES256")


def test_another_process_sees_a_rotation(db: Database, ring: KeyRing, clock: FakeClock) -> None:
    """A second ring on the same store signs with the new key once its refresh period passes,
    and verifies tokens with a kid it has not loaded yet at once."""
    other = open_ring(db, clock)
    rotation = ring.rotate("ES256")
    new_token = ring.sign(claims(clock))
    clock.advance(2)
    assert other.verify(new_token)["sub"] == "s1", "unknown kid triggers a reload"
    clock.advance(REFRESH)
    assert kid_of(other.sign(claims(clock))) == rotation.activated


def test_tokens_of_a_stale_process_verify_until_they_expire(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    """A worker that has not reloaded yet still signs with the key another worker just retired:
    the provider keeps that key published long enough for those tokens' whole lifetime."""
    settings = settings_for(db.url, instance_dir=str(tmp_path))
    rotating = Provider(settings, clock=clock, database=db)
    stale = Provider(settings, clock=clock, database=db)
    ttl = max(settings.id_token_ttl, settings.access_token_ttl, settings.client_credentials_ttl)
    old_active = kid_of(stale.sign(claims(clock), "ES256", "JWT"))
    rotating.keyring.rotate("ES256")
    clock.advance(settings.keyring_refresh_seconds - 1)
    late = stale.sign(claims(clock, ttl=ttl), "ES256", "JWT")
    assert kid_of(late) == old_active
    clock.advance(ttl - 1)
    assert rotating.keyring.verify(late, leeway=settings.clock_skew)["sub"] == "s1"
    clock.advance(settings.clock_skew)
    assert rotating.keyring.verify(late, leeway=settings.clock_skew)["sub"] == "s1"


def test_a_fresh_ring(tmp_path: Path, clock: FakeClock, sqlite_template: Path) -> None:
    """``essc init``: every algorithm gets an active and a pending key, and its own HMAC root."""
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade(db)
    store = SqlKeyStore(db)
    fresh = KeyRing.open(
        store,
        PASSPHRASE,
        publish_retired_for=60,
        notification_schemes=platform_key_serials(),
        clock=clock,
        create=True,
    )
    assert all(set(states(fresh, alg).values()) == {ACTIVE, PENDING} for alg in SIGNING_ALGS)
    assert fresh.signing.ensure() == [], "ensure is idempotent"
    with pytest.raises(KeyRingError):
        fresh.rotate("HS256")
    with pytest.raises(KeyRingError):
        fresh.sign({}, alg="HS256")
    template = Database(f"sqlite:///{sqlite_template}")
    other = open_ring(template, clock)
    assert other.keyed_hash("token", "t") != fresh.keyed_hash("token", "t")
    with pytest.raises(UndecryptableField):
        fresh.decrypt_field(other.encrypt_field("x", context="c"), context="c")
    template.dispose()
    db.dispose()


def test_opening_an_uninitialised_ring_fails_clearly(tmp_path: Path, clock: FakeClock) -> None:
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    upgrade(db)
    with pytest.raises(KeyRingError, match="essc init"):
        KeyRing.open(
            SqlKeyStore(db),
            PASSPHRASE,
            publish_retired_for=60,
            notification_schemes=platform_key_serials(),
            clock=clock,
        )
    db.dispose()


def test_wrong_passphrase_is_refused(db: Database, clock: FakeClock) -> None:
    with pytest.raises(WrongPassphrase):
        open_ring(db, clock, passphrase="not the passphrase at all")


# -- storage -------------------------------------------------------------------------------------
def test_private_keys_are_stored_wrapped(db: Database, ring: KeyRing) -> None:
    with db.read() as s:
        rows = s.scalars(select(SigningKeyRow)).all()
        data_rows = s.scalars(select(DataKeyRow)).all()
    assert rows and data_rows
    meta = SqlKeyStore(db).load_meta()
    assert meta is not None
    wrapper = Wrapper(PASSPHRASE, meta.salt)
    for row in rows:
        # What the ring signs with is what the row holds, sealed: unwrapping it gives the key.
        private = serialization.load_der_private_key(
            wrapper.unwrap(row.kid, bytes(row.wrapped_private)), password=None
        )
        assert thumbprint(public_jwk(private.public_key())) == row.kid  # type: ignore[arg-type]
        der = private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        stored = bytes(row.wrapped_private)
        assert der not in stored and pem not in stored and b"PRIVATE KEY" not in stored
        assert len(stored) == 12 + len(der) + 16, "nonce + AES-GCM ciphertext + tag"
        with pytest.raises(ValueError):
            serialization.load_der_private_key(stored, password=None)
        assert "d" not in row.public_jwk
    for data_row in data_rows:
        assert len(bytes(data_row.wrapped)) == 12 + 32 + 16


# -- field encryption and keyed hashes -------------------------------------------------------------
def test_field_encryption_round_trip(ring: KeyRing) -> None:
    blob = ring.encrypt_field("11010519491231002X", context="person.id_number")
    assert b"11010519491231002X" not in blob
    assert ring.decrypt_field(blob, context="person.id_number") == "11010519491231002X"
    again = ring.encrypt_field("11010519491231002X", context="person.id_number")
    assert again != blob, "a fresh nonce each time"
    assert ring.decrypt_field(ring.encrypt_field("张三", context="c"), context="c") == "张三"


def test_field_encryption_is_bound_to_its_context(ring: KeyRing) -> None:
    blob = ring.encrypt_field("11010519491231002X", context="person.id_number")
    with pytest.raises(UndecryptableField):
        ring.decrypt_field(blob, context="person.name")


@pytest.mark.parametrize("position", [0, 5, 20, 40, -1])
def test_field_tampering_is_detected(ring: KeyRing, position: int) -> None:
    blob = bytearray(ring.encrypt_field("11010519491231002X", context="person.id_number"))
    blob[position] ^= 0x01
    with pytest.raises(UndecryptableField):
        ring.decrypt_field(bytes(blob), context="person.id_number")


@pytest.mark.parametrize(
    "blob", [b"", b"\x01", b"\x02" + b"0" * 60, b"\x01" + b"f" * 16 + b"x" * 40]
)
def test_malformed_ciphertexts_are_refused(ring: KeyRing, blob: bytes) -> None:
    with pytest.raises(UndecryptableField):
        ring.decrypt_field(blob, context="person.id_number")


def test_field_key_rotation_keeps_old_ciphertexts_readable(
    db: Database, ring: KeyRing, clock: FakeClock
) -> None:
    old = ring.encrypt_field("11010519491231002X", context="person.id_number")
    old_kid = old[1:17].decode()
    new_kid = ring.data.rotate_field_key()
    assert new_kid != old_kid and set(ring.data.field_key_ids()) >= {old_kid, new_kid}
    new = ring.encrypt_field("11010519491231002X", context="person.id_number")
    assert new[1:17].decode() == new_kid
    reopened = open_ring(db, clock)
    for blob in (old, new):
        assert reopened.decrypt_field(blob, context="person.id_number") == "11010519491231002X"
    assert reopened.encrypt_field("x", context="c")[1:17].decode() == new_kid


def test_keyed_hash_purposes_differ(ring: KeyRing, db: Database, clock: FakeClock) -> None:
    value = "11010519491231002X"
    hashes = {purpose: ring.keyed_hash(purpose, value) for purpose in HASH_PURPOSES}
    assert len(set(hashes.values())) == len(HASH_PURPOSES)
    assert all(len(h) == 64 for h in hashes.values())
    assert open_ring(db, clock).keyed_hash("token", value) == hashes["token"], "stable"
    assert ring.keyed_hash("token", value + " ") != hashes["token"]
    with pytest.raises(KeyError):
        ring.keyed_hash("no-such-purpose", value)


def test_keyed_hashes_survive_field_key_rotation(ring: KeyRing) -> None:
    before = ring.keyed_hash("id-number-index", "11010519491231002X")
    ring.data.rotate_field_key()
    assert ring.keyed_hash("id-number-index", "11010519491231002X") == before


# -- the platform's notification keys for the channels' native schemes --------------------------


def test_notification_keys_are_created_once_and_sign_sha256_with_rsa(
    ring: KeyRing, db: Database, clock: FakeClock
) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric import rsa

    schemes = list(platform_key_serials())  # the key names in the ring
    assert schemes == ["wechatpay-v3", "alipay-rsa2", "alipay-v3", "unionpay"]

    with pytest.raises(KeyRingError, match="essc init"):
        ring.notification_signer("wechatpay-v3")
    assert ring.ensure_notification_keys() == schemes
    assert ring.ensure_notification_keys() == []
    for scheme in schemes:
        serial, sign = ring.notification_signer(scheme)
        assert (serial, sign(b"m")) != ("", b"")
        pem_serial, pem = ring.notification_public_pem(scheme)
        public = serialization.load_pem_public_key(pem.encode())
        assert pem_serial == serial and isinstance(public, rsa.RSAPublicKey)
        assert public.key_size == 2048
        public.verify(sign(b"message"), b"message", padding.PKCS1v15(), hashes.SHA256())
        # another process opening the same ring signs with the same key under the same serial
        assert open_ring(db, clock).notification_public_pem(scheme) == (serial, pem)
    serials = {ring.notification_signer(s).serial for s in schemes}
    assert len(serials) == len(schemes)
    with pytest.raises(ValueError):
        ring.notification_signer("hmac-sha256")


def test_notification_keys_need_the_passphrase(ring: KeyRing, db: Database) -> None:
    ring.ensure_notification_keys()
    with db.read() as s:
        row = s.scalars(select(DataKeyRow).where(DataKeyRow.purpose == "rsa:unionpay")).one()
        with pytest.raises(ValueError):
            serialization.load_der_private_key(row.wrapped, password=None)
    # field encryption and keyed hashes are unaffected by the extra data keys
    assert ring.decrypt_field(ring.encrypt_field("x", context="c"), context="c") == "x"
