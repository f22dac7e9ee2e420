"""The key ring with its signing keys in a PKCS#11 token: SoftHSM2 (Debian's ``softhsm2``,
installed by ``make test``) in a temporary directory, as an HSM would hold them (keys/hsm.py).

Issue, rotate, verify and publish work as with the software keys, for every signer (JWT,
QR, notification), and nothing that opens to a private signing key is in the database or in
the project: the token made the keys (``CKA_LOCAL``), will not let them out, and the database
holds only references.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pkcs11
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa
from pkcs11 import Attribute
from pkcs11 import ObjectClass
from sqlalchemy import select

from idp.app import create_app
from idp.provider import Provider
from idp.settings import ConfigurationError
from idp.settings import Settings
from idp.store.migrate import upgrade
from idp.store.security import DataKeyRow
from idp.store.security import SigningKeyRow
from keys import SIGNING_ALGS
from keys import KeyRing
from keys import VaultError
from keys import WrongPassphrase
from keys.vault import TOKEN_REFERENCE_LENGTH
from keys.vault import is_token_reference
from keys.wrapping import Wrapper
from tests.conftest import BACKENDS
from tests.conftest import test_settings as settings_for
from tests.live import empty_pg_database
from tests.support import FakeClock

MODULE = next(
    (
        path
        for path in (
            "/usr/lib/softhsm/libsofthsm2.so",
            "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        )
        if Path(path).is_file()
    ),
    "",
)
PROJECT = Path(__file__).resolve().parents[2]
LABEL = "essc-idp-test"
USER_PIN = "731946"

pytestmark = pytest.mark.skipif(
    not MODULE or shutil.which("softhsm2-util") is None,
    reason="SoftHSM2 is not installed (make system-deps installs Debian's softhsm2)",
)


@pytest.fixture(scope="session")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One token per test process: SoftHSM2 reads its configuration and its tokens once, when
    the library is first initialised in a process."""
    home = tmp_path_factory.mktemp("softhsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    settings = (f"directories.tokendir = {home / 'tokens'}", "objectstore.backend = file")
    conf.write_text("\n".join((*settings, "log.level = ERROR", "")), encoding="utf-8")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            LABEL,
            "--pin",
            USER_PIN,
            "--so-pin",
            "24681357",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pin_file = home / "pin"
    pin_file.write_text(USER_PIN + "\n", encoding="utf-8")
    yield {"tokendir": str(home / "tokens"), "pin_file": str(pin_file)}
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hsm-instance")


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, home: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{home / 'essc.db'}"
        return
    with empty_pg_database("essc_hsm") as url:
        yield url


def hsm_settings(url: str, token: dict[str, str], tmp_path: Path) -> Settings:
    return settings_for(
        url,
        instance_dir=str(tmp_path / "instance"),
        pkcs11_module=MODULE,
        pkcs11_token_label=LABEL,
        pkcs11_pin_file=token["pin_file"],
    )


@pytest.fixture(scope="module")
def provider(database_url: str, token: dict[str, str], home: Path) -> Iterator[Provider]:
    """``essc init`` with the token configured: every signing key is made in it (once per
    module and backend: RSA key generation in SoftHSM2 takes seconds)."""
    made = Provider(hsm_settings(database_url, token, home), clock=FakeClock())
    upgrade(made.db)
    ring = made.open_keyring(create=True)
    assert ring.qr is not None and ring.qr.ensure()
    ring.ensure_notification_keys()
    yield made
    made.db.dispose()


def stored_keys(provider: Provider) -> tuple[list[SigningKeyRow], list[DataKeyRow]]:
    with provider.db.read() as s:
        return list(s.scalars(select(SigningKeyRow))), list(s.scalars(select(DataKeyRow)))


def token_objects(provider: Provider, object_class: ObjectClass) -> dict[bytes, Any]:
    """The token's objects of this database's keys, by ``CKA_ID``."""
    rows, data_rows = stored_keys(provider)
    refs = [bytes(r.wrapped_private) for r in rows] + [bytes(d.wrapped) for d in data_rows]
    ids = {ref[-16:] for ref in refs if is_token_reference(ref)}
    session = pkcs11.lib(MODULE).get_token(token_label=LABEL).open(rw=True)
    found = {o[Attribute.ID]: o for o in session.get_objects({Attribute.CLASS: object_class})}
    return {i: found[i] for i in ids}


# -- issue, verify, publish -------------------------------------------------------------------
@pytest.mark.parametrize("alg", SIGNING_ALGS)
def test_tokens_signed_inside_verify_against_the_published_jwks(
    provider: Provider, alg: str
) -> None:
    ring = provider.keyring
    token = ring.sign({"sub": "s", "iat": 1, "exp": 2**40}, alg=alg, typ="at+jwt")
    assert ring.verify(token, typ="at+jwt")["sub"] == "s"
    published = create_app(provider.settings, provider=provider).test_client().get("/jwks.json")
    keys = {k["kid"]: k for k in published.get_json()["keys"]}
    kid = jwt.get_unverified_header(token)["kid"]
    assert keys[kid]["alg"] == alg and "d" not in keys[kid] and "p" not in keys[kid]
    public = jwt.PyJWK(keys[kid]).key
    assert jwt.decode(token, public, algorithms=[alg])["sub"] == "s"  # any verifier, not ours


def test_rotation_makes_the_new_key_in_the_token_and_keeps_the_old_verifying(
    provider: Provider,
) -> None:
    ring = provider.keyring
    before = ring.sign({"n": 1, "iat": 1, "exp": 2**40}, alg="ES256")
    rotation = ring.rotate("ES256")
    after = ring.sign({"n": 2, "iat": 1, "exp": 2**40}, alg="ES256")
    assert jwt.get_unverified_header(after)["kid"] == rotation.activated
    assert rotation.retired == jwt.get_unverified_header(before)["kid"]
    published = {k["kid"] for k in ring.jwks()["keys"]}
    assert {rotation.activated, rotation.retired, rotation.pending} <= published
    assert ring.verify(before)["n"] == 1 and ring.verify(after)["n"] == 2
    rows, _ = stored_keys(provider)
    pending = next(r for r in rows if r.kid == rotation.pending)
    assert is_token_reference(bytes(pending.wrapped_private))


def test_another_process_finds_the_same_keys_in_the_token(
    provider: Provider, token: dict[str, str], home: Path
) -> None:
    signed = provider.keyring.sign({"iat": 1, "exp": 2**40}, alg="EdDSA")
    other = Provider(hsm_settings(provider.settings.database_url, token, home))
    assert other.keyring.verify(signed)["exp"] == 2**40
    again = other.keyring.sign({"iat": 1, "exp": 2**40}, alg="EdDSA")
    assert jwt.get_unverified_header(again)["kid"] == jwt.get_unverified_header(signed)["kid"]
    other.db.dispose()


def test_qr_codes_are_signed_inside(provider: Provider) -> None:
    qr = provider.keyring.qr
    assert qr is not None
    signer = qr.signer()
    assert signer is not None
    published = {k["kid"]: k for k in qr.jwks()["keys"]}
    public = jwt.PyJWK(published[signer.kid]).key
    public.verify(signer.sign(b"qr payload"), b"qr payload")  # raises if not


def test_notifications_are_signed_inside(provider: Provider) -> None:
    for scheme in ("wechatpay-v3", "alipay-v3", "unionpay"):
        signer = provider.keyring.notification_signer(scheme)
        serial, pem = provider.keyring.notification_public_pem(scheme)
        assert serial == signer.serial
        public = serialization.load_pem_public_key(pem.encode("ascii"))
        assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
        public.verify(signer.sign(b"message"), b"message", padding.PKCS1v15(), hashes.SHA256())


# -- nothing of the private keys outside the token ------------------------------------------------
def test_the_database_holds_only_references(provider: Provider) -> None:
    """With the database and the passphrase, everything the operator's side holds, nothing
    opens to a private key: signing keys are references, only the data keys unwrap."""
    rows, data_rows = stored_keys(provider)
    assert {r.alg for r in rows} == set(SIGNING_ALGS)
    for row in rows:
        assert len(bytes(row.wrapped_private)) == TOKEN_REFERENCE_LENGTH
        assert is_token_reference(bytes(row.wrapped_private))
    meta = provider.keyring  # opened: the passphrase is right
    assert meta is not None
    with provider.db.read() as s:
        from idp.store.security import KeyRingMetaRow

        salt = s.get(KeyRingMetaRow, 1).salt  # type: ignore[union-attr]
    wrapper = Wrapper(provider.settings.key_passphrase, salt)
    signers = [d for d in data_rows if d.purpose not in ("field", "hmac-root")]
    assert {d.purpose for d in signers} >= {"qr-ed25519", "rsa:wechatpay-v3"}
    for data in signers:
        assert is_token_reference(bytes(data.wrapped)), data.purpose
    for data in data_rows:
        if data.purpose in ("field", "hmac-root"):
            assert len(wrapper.unwrap(data.kid, bytes(data.wrapped))) == 32  # AES / HMAC keys
        else:
            with pytest.raises(WrongPassphrase):
                wrapper.unwrap(data.kid, bytes(data.wrapped))
    for row in rows:
        with pytest.raises(WrongPassphrase):
            wrapper.unwrap(row.kid, bytes(row.wrapped_private))


def test_the_token_made_the_keys_and_keeps_them(provider: Provider) -> None:
    privates = token_objects(provider, ObjectClass.PRIVATE_KEY)
    rows, data_rows = stored_keys(provider)
    assert len(privates) == len(rows) + len(data_rows) - 2  # all but the field and HMAC keys
    for key in privates.values():
        assert key[Attribute.LOCAL] is True, "generated inside the token, not imported"
        assert key[Attribute.SENSITIVE] is True and key[Attribute.ALWAYS_SENSITIVE] is True
        assert key[Attribute.EXTRACTABLE] is False and key[Attribute.NEVER_EXTRACTABLE] is True
        with pytest.raises(pkcs11.AttributeSensitive):
            key[
                Attribute.VALUE
                if key.key_type != pkcs11.KeyType.RSA
                else Attribute.PRIVATE_EXPONENT
            ]


def test_nothing_of_the_keys_is_on_disk_in_the_project(
    provider: Provider, token: dict[str, str], home: Path
) -> None:
    """The token's own files (SoftHSM2 encrypts them under the PIN) are its business and live
    outside the project; the instance directory holds nothing of the keys."""
    assert not Path(token["tokendir"]).resolve().is_relative_to(PROJECT)
    instance = home / "instance"
    assert not instance.exists() or not [p for p in instance.rglob("*") if p.is_file()]
    if provider.settings.database_url.startswith("sqlite"):
        database = Path(provider.settings.database_url.removeprefix("sqlite:///"))
        assert not database.resolve().is_relative_to(PROJECT)
        assert b"PRIVATE KEY" not in database.read_bytes()


# -- without the token -------------------------------------------------------------------------
def test_keys_in_a_token_need_the_token(provider: Provider) -> None:
    from channels.signing.registry import platform_key_serials
    from idp.store.keystore import SqlKeyStore

    with pytest.raises(VaultError, match="ESSC_PKCS11_MODULE"):
        KeyRing.open(
            SqlKeyStore(provider.db),
            provider.settings.key_passphrase,
            publish_retired_for=600,
            notification_schemes=platform_key_serials(),
        )


def test_an_unknown_token_stops_the_ring_with_a_clear_message(
    tmp_path: Path, token: dict[str, str]
) -> None:
    from keys.hsm import TokenVault

    with pytest.raises(VaultError, match="cannot open the PKCS#11 token"):
        TokenVault(MODULE, "no-such-token", USER_PIN).create("ES256")


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"pkcs11_token_label": LABEL}, "ESSC_PKCS11_MODULE is empty"),
        ({"pkcs11_module": "/no/such/module.so", "pkcs11_token_label": LABEL}, "library file"),
        ({"pkcs11_module": MODULE, "pkcs11_pin": USER_PIN}, "ESSC_PKCS11_TOKEN_LABEL"),
        ({"pkcs11_module": MODULE, "pkcs11_token_label": LABEL}, "exactly one"),
        (
            {
                "pkcs11_module": MODULE,
                "pkcs11_token_label": LABEL,
                "pkcs11_pin": "1",
                "pkcs11_pin_file": "/x",
            },
            "exactly one",
        ),
        (
            {"pkcs11_module": MODULE, "pkcs11_token_label": LABEL, "pkcs11_pin_file": "/no/pin"},
            "ESSC_PKCS11_PIN_FILE",
        ),
    ],
)
def test_pkcs11_settings_fail_closed(changes: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        Settings(**changes).check()  # type: ignore[arg-type]


def test_the_pin_file_loses_one_trailing_newline(token: dict[str, str]) -> None:
    settings = Settings(
        pkcs11_module=MODULE, pkcs11_token_label=LABEL, pkcs11_pin_file=token["pin_file"]
    )
    settings.check()
    assert settings.pkcs11_user_pin() == USER_PIN


def test_a_key_missing_from_the_token_is_named_not_replaced(provider: Provider) -> None:
    from keys.hsm import TokenVault
    from keys.vault import TOKEN_REFERENCE_PREFIX

    vault = TokenVault(MODULE, LABEL, USER_PIN)
    missing = TOKEN_REFERENCE_PREFIX + bytes(16)
    with pytest.raises(VaultError, match="no single key 0000"):
        vault.signer("kid", missing, "ES256")
    with pytest.raises(VaultError, match="not a PKCS#11 key reference"):
        vault.public_key("kid", b"pkcs11:short")
