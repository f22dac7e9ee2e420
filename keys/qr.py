"""The platform's QR signing keys (Ed25519): published at ``/qr/jwks.json``, not ``/jwks.json``.

A key that signs QR codes signs nothing else but the QR status list, so a relying party that
trusts ``/jwks.json`` for ID tokens never trusts a QR key, and a scanner's JWKS holds only what it
needs. Stored as data keys (purpose ``qr-ed25519``) wrapped under the KEK, like the notification
keys, or kept inside a PKCS#11 token when one is configured (``keys.vault``). The key states
follow from times alone, so no state is ever written back:

- a key is *pending* for ``prepublish`` seconds after it is created: published, not signing, so
  offline verifiers that refresh their JWKS that often have it before the first code it signs;
- the newest key past its pending time *signs*; on a fresh ring (no such key) the oldest signs;
- an older key is *retired* from the moment a newer one signs, and published ``publish_retired``
  seconds more, longer than any code it signed can be valid.

``kid`` is the RFC 7638 thumbprint; a code carries its first 4 bytes (idp/qr/token.py).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from keys.jwk import public_jwk
from keys.jwk import thumbprint
from keys.jws import encode_header
from keys.jws import sign_compact_with
from keys.store import KeyStore
from keys.store import StoredDataKey
from keys.vault import Sign
from keys.vault import Vault

PURPOSE = "qr-ed25519"
ALG = "EdDSA"
DAY = 86_400


@dataclass(frozen=True)
class _QrKey:
    kid: str
    created_at: int
    sign: Sign
    jwk: dict[str, Any]


@dataclass(frozen=True)
class QrSigner:
    """The signing key: its thumbprint ``kid`` and raw Ed25519 over bytes."""

    kid: str
    sign: Callable[[bytes], bytes]


class QrKeys:
    def __init__(
        self,
        store: KeyStore,
        vault: Vault,
        clock: Callable[[], float] = time.time,
        *,
        prepublish: int = DAY,
        publish_retired: int = DAY,
        refresh_seconds: int = 60,
    ) -> None:
        self._store, self._vault, self._clock = store, vault, clock
        self._prepublish, self._publish_retired = prepublish, publish_retired
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._keys: list[_QrKey] = []
        self._loaded_at = float("-inf")

    def reload(self) -> None:
        known = {k.kid: k for k in self._keys}
        keys = []
        for stored in self._store.data_keys():
            if stored.purpose != PURPOSE:
                continue
            keys.append(_already_loaded(known, stored.kid) or self._load(stored))
        keys.sort(key=lambda k: k.created_at)
        with self._lock:
            self._keys, self._loaded_at = keys, self._clock()

    def _load(self, stored: StoredDataKey) -> _QrKey:
        public = self._vault.public_key(stored.kid, stored.wrapped)
        if not isinstance(public, ed25519.Ed25519PublicKey):
            raise ValueError("a QR key is not an Ed25519 key")
        jwk = public_jwk(public)
        sign = self._vault.signer(stored.kid, stored.wrapped, ALG)
        return _QrKey(thumbprint(jwk), stored.created_at, sign, jwk)

    def _fresh(self) -> list[_QrKey]:
        if self._clock() - self._loaded_at >= self._refresh_seconds:
            self.reload()
        return self._keys

    def ensure(self) -> bool:
        """Create the first QR key if there is none (``essc init``); whether one was made."""
        if any(k.purpose == PURPOSE for k in self._store.data_keys()):
            return False
        self.rotate()
        return True

    def rotate(self) -> str:
        """Add a new key; it signs once it has been published ``prepublish`` seconds."""
        new = self._vault.create(ALG)  # in the token when one is configured
        kid = thumbprint(public_jwk(new.public))
        stored_kid = _stored_kid(kid)
        self._store.add_data_key(
            StoredDataKey(
                kid=stored_kid,
                purpose=PURPOSE,
                wrapped=new.seal(stored_kid),
                created_at=int(self._clock()),
                active=True,
            ),
            deactivate_others=False,
        )
        self.reload()
        return kid

    def _signing_key(self, keys: list[_QrKey], now: float) -> _QrKey | None:
        ready = [k for k in keys if k.created_at + self._prepublish <= now]
        if ready:
            return ready[-1]
        return keys[0] if keys else None

    def signer(self) -> QrSigner | None:
        """The key that signs now, or None before ``essc init``."""
        key = self._signing_key(self._fresh(), self._clock())
        return QrSigner(key.kid, key.sign) if key else None

    def states(self) -> list[dict[str, Any]]:
        """Every stored QR key with its state now (``essc qr keys``)."""
        keys, now = self._fresh(), self._clock()
        signing = self._signing_key(keys, now)
        out = []
        for key in keys:
            state = "retired"
            if key is signing:
                state = "active"
            elif signing is None or key.created_at > signing.created_at:
                state = "pending"
            out.append({"kid": key.kid, "alg": ALG, "state": state, "created_at": key.created_at})
        return out

    def jwks(self) -> dict[str, Any]:
        """The published keys: pending, active, and retired ones within ``publish_retired``."""
        keys, now = self._fresh(), self._clock()
        signing = self._signing_key(keys, now)
        published = []
        for i, key in enumerate(keys):
            successor_signs = keys[i + 1].created_at + self._prepublish if i + 1 < len(keys) else 0
            retired = signing is not None and key.created_at < signing.created_at
            if retired and successor_signs + self._publish_retired <= now:
                continue
            published.append({**key.jwk, "kid": key.kid, "alg": ALG, "use": "sig"})
        return {"keys": published}

    def sign_jwt(self, claims: dict[str, Any], *, typ: str) -> str:
        """A compact JWS with the signing key (the status list, ``typ`` statuslist+jwt)."""
        key = self._signing_key(self._fresh(), self._clock())
        if key is None:
            raise LookupError("no QR signing key; run `essc init`")
        return sign_compact_with(encode_header(ALG, key.kid, typ), claims, key.sign)


def _stored_kid(kid: str) -> str:
    """The data-key id (32 characters at most): a hash of the thumbprint, for the wrapping AAD."""
    return hashlib.sha256(kid.encode("ascii")).hexdigest()[:32]


def _already_loaded(known: dict[str, _QrKey], stored_kid: str) -> _QrKey | None:
    for key in known.values():
        if _stored_kid(key.kid) == stored_kid:
            return key
    return None
