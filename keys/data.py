"""Data keys: field encryption (AES-256-GCM) and keyed hashes (HMAC-SHA-256).

Two stored keys, both wrapped under the KEK:
- ``field``: encrypts personal data at rest (ID numbers). Rotatable: a ciphertext names its key,
  old keys still decrypt.
- ``hmac-root``: never rotated, because look-ups depend on it. Each purpose (blind index,
  client secret, token hash, pairwise subject) gets its own HKDF-derived subkey (RFC 5869), so a
  hash made for one purpose means nothing for another.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keys.store import KeyStore
from keys.store import StoredDataKey
from keys.wrapping import Wrapper

FIELD = "field"
HMAC_ROOT = "hmac-root"
_FORMAT_VERSION = b"\x01"
_KID_LEN = 16

#: The keyed-hash purposes. Adding one is safe; renaming one breaks every stored hash.
HASH_PURPOSES = (
    "id-number-index",
    "client-secret",
    "token",
    "pairwise",
    "card-number-index",
    "ecard-sd-salt",
)


class UndecryptableField(Exception):
    """A ciphertext that no data key opens, or that was altered."""


class DataKeys:
    def __init__(self, store: KeyStore, wrapper: Wrapper, clock: Callable[[], float] = time.time):
        self._store = store
        self._wrapper = wrapper
        self._clock = clock
        self._field_keys: dict[str, AESGCM] = {}
        self._active_field: str | None = None
        self._hash_keys: dict[str, bytes] = {}
        self.reload()

    def reload(self) -> None:
        field_keys: dict[str, AESGCM] = {}
        active: str | None = None
        root: bytes | None = None
        for stored in self._store.data_keys():
            if stored.purpose not in (FIELD, HMAC_ROOT):
                continue  # other keys stored as data keys (keys.notification) load themselves
            material = self._wrapper.unwrap(stored.kid, stored.wrapped)
            if stored.purpose == FIELD:
                field_keys[stored.kid] = AESGCM(material)
                if stored.active:
                    active = stored.kid
            elif stored.purpose == HMAC_ROOT:
                root = material
        self._field_keys, self._active_field = field_keys, active
        self._hash_keys = {p: _subkey(root, p) for p in HASH_PURPOSES} if root else {}

    def ensure(self) -> None:
        """Create the field key and the HMAC root if missing (``essc init``)."""
        purposes = {k.purpose for k in self._store.data_keys()}
        if HMAC_ROOT not in purposes:
            self._add(HMAC_ROOT, deactivate_others=False)
        if FIELD not in purposes:
            self._add(FIELD, deactivate_others=True)
        self.reload()

    def rotate_field_key(self) -> str:
        kid = self._add(FIELD, deactivate_others=True)
        self.reload()
        return kid

    def _add(self, purpose: str, *, deactivate_others: bool) -> str:
        kid = secrets.token_hex(_KID_LEN // 2)
        material = os.urandom(32)
        self._store.add_data_key(
            StoredDataKey(
                kid=kid,
                purpose=purpose,
                wrapped=self._wrapper.wrap(kid, material),
                created_at=int(self._clock()),
                active=True,
            ),
            deactivate_others=deactivate_others,
        )
        return kid

    # -- the safe surface -----------------------------------------------------------------
    def encrypt_field(self, plaintext: str, *, context: str) -> bytes:
        """AES-256-GCM; ``context`` (e.g. ``person.id_number``) is bound as associated data."""
        if self._active_field is None:
            raise UndecryptableField("no field key; run `essc init`")
        kid = self._active_field
        nonce = os.urandom(12)
        sealed = self._field_keys[kid].encrypt(nonce, plaintext.encode("utf-8"), context.encode())
        return _FORMAT_VERSION + kid.encode("ascii") + nonce + sealed

    def decrypt_field(self, blob: bytes, *, context: str) -> str:
        if len(blob) < 1 + _KID_LEN + 12 + 16 or blob[:1] != _FORMAT_VERSION:
            raise UndecryptableField("malformed ciphertext")
        kid = blob[1 : 1 + _KID_LEN].decode("ascii", "replace")
        key = self._field_keys.get(kid)
        if key is None:
            raise UndecryptableField("unknown field key")
        nonce, sealed = blob[1 + _KID_LEN : 13 + _KID_LEN], blob[13 + _KID_LEN :]
        try:
            return key.decrypt(nonce, sealed, context.encode()).decode("utf-8")
        except InvalidTag:
            raise UndecryptableField("ciphertext altered or wrong context") from None

    def keyed_hash(self, purpose: str, value: str) -> str:
        """HMAC-SHA-256 of ``value`` under the subkey for ``purpose``; hex."""
        key = self._hash_keys.get(purpose)
        if key is None:
            raise KeyError("unknown keyed-hash purpose or no HMAC root; run `essc init`")
        return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def field_key_ids(self) -> list[str]:
        return sorted(self._field_keys)


def _subkey(root: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"essc-idp {purpose}".encode()
    ).derive(root)
