"""The key ring's ``KeyStore`` on the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy import update

from idp.store.database import Database
from idp.store.security import DataKeyRow
from idp.store.security import KeyRingMetaRow
from idp.store.security import SigningKeyRow
from keys.store import ACTIVE
from keys.store import RETIRED
from keys.store import KeyRingMeta
from keys.store import StoredDataKey
from keys.store import StoredSigningKey


class SqlKeyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def load_meta(self) -> KeyRingMeta | None:
        with self._db.read() as s:
            row = s.get(KeyRingMetaRow, 1)
            return KeyRingMeta(salt=row.salt, verifier=row.verifier) if row else None

    def save_meta(self, meta: KeyRingMeta) -> None:
        with self._db.transaction() as s:
            s.add(KeyRingMetaRow(id=1, salt=meta.salt, verifier=meta.verifier))

    def signing_keys(self) -> list[StoredSigningKey]:
        with self._db.read() as s:
            rows = s.scalars(select(SigningKeyRow).order_by(SigningKeyRow.created_at)).all()
            return [
                StoredSigningKey(
                    kid=r.kid,
                    alg=r.alg,
                    state=r.state,
                    wrapped_private=r.wrapped_private,
                    public_jwk=r.public_jwk,
                    created_at=r.created_at,
                    activated_at=r.activated_at,
                    retired_at=r.retired_at,
                )
                for r in rows
            ]

    def data_keys(self) -> list[StoredDataKey]:
        with self._db.read() as s:
            rows = s.scalars(select(DataKeyRow).order_by(DataKeyRow.created_at)).all()
            return [
                StoredDataKey(
                    kid=r.kid,
                    purpose=r.purpose,
                    wrapped=r.wrapped,
                    created_at=r.created_at,
                    active=r.active,
                )
                for r in rows
            ]

    def add_data_key(self, key: StoredDataKey, *, deactivate_others: bool) -> None:
        with self._db.transaction() as s:
            if deactivate_others:
                s.execute(
                    update(DataKeyRow).where(DataKeyRow.purpose == key.purpose).values(active=False)
                )
            s.add(
                DataKeyRow(
                    kid=key.kid,
                    purpose=key.purpose,
                    wrapped=key.wrapped,
                    created_at=key.created_at,
                    active=key.active,
                )
            )

    def save_rotation(
        self, *, new_pending: StoredSigningKey, promote: str | None, retire: str | None, at: int
    ) -> None:
        with self._db.transaction() as s:
            if retire:
                s.execute(
                    update(SigningKeyRow)
                    .where(SigningKeyRow.kid == retire)
                    .values(state=RETIRED, retired_at=at)
                )
            if promote:
                s.execute(
                    update(SigningKeyRow)
                    .where(SigningKeyRow.kid == promote)
                    .values(state=ACTIVE, activated_at=at)
                )
            s.add(
                SigningKeyRow(
                    kid=new_pending.kid,
                    alg=new_pending.alg,
                    state=new_pending.state,
                    wrapped_private=new_pending.wrapped_private,
                    public_jwk=new_pending.public_jwk,
                    created_at=new_pending.created_at,
                )
            )
