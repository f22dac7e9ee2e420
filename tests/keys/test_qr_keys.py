"""The QR signing keys (keys/qr.py): made on first use, wrapped, rotated by time alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from idp.store.database import Database
from idp.store.keystore import SqlKeyStore
from idp.store.security import DataKeyRow
from keys import KeyRing
from keys.qr import DAY
from keys.qr import PURPOSE
from keys.qr import QrKeys
from tests import conftest
from tests.support import FakeClock

PASSPHRASE = conftest.test_settings("sqlite://").key_passphrase


@pytest.fixture
def db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    target = tmp_path / "essc.db"
    target.write_bytes(sqlite_template.read_bytes())
    database = Database(f"sqlite:///{target}")
    yield database
    database.dispose()


def qr_keys(db: Database, clock: FakeClock) -> QrKeys:
    ring = KeyRing.open(SqlKeyStore(db), PASSPHRASE, publish_retired_for=0, clock=clock)
    assert ring.qr is not None
    return ring.qr


def test_made_once_on_first_use_and_stored_wrapped(db: Database) -> None:
    keys = qr_keys(db, FakeClock())
    assert keys.signer() is None and keys.jwks() == {"keys": []}
    assert keys.ensure() is True and keys.ensure() is False
    signer = keys.signer()
    assert signer is not None and len(signer.sign(b"x")) == 64
    with db.read() as s:
        rows = s.scalars(select(DataKeyRow).where(DataKeyRow.purpose == PURPOSE)).all()
    assert len(rows) == 1 and len(rows[0].wrapped) == 12 + 48 + 16  # nonce, PKCS#8 DER, tag
    (jwk,) = keys.jwks()["keys"]
    assert jwk["kid"] == signer.kid and "d" not in jwk and jwk["alg"] == "EdDSA"


def test_rotation_prepublishes_then_retires(db: Database) -> None:
    clock = FakeClock()
    keys = qr_keys(db, clock)
    keys.ensure()
    first = keys.signer()
    assert first is not None
    clock.advance(10)
    second = keys.rotate()
    still = keys.signer()
    assert still is not None and still.kid == first.kid
    assert [k["state"] for k in keys.states()] == ["active", "pending"]
    assert {k["kid"] for k in keys.jwks()["keys"]} == {first.kid, second}
    clock.advance(DAY)
    signing = keys.signer()
    assert signing is not None and signing.kid == second
    assert [k["state"] for k in keys.states()] == ["retired", "active"]
    assert {k["kid"] for k in keys.jwks()["keys"]} == {first.kid, second}  # still published
    clock.advance(DAY)
    assert [k["kid"] for k in keys.jwks()["keys"]] == [second]
