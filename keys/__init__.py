"""The key ring: a small safe surface over the raw key operations.

``KeyRing.open(store, passphrase)`` gives ``sign``/``verify``/``jwks``/``rotate`` for JWT
signing keys, ``encrypt_field``/``decrypt_field``/``keyed_hash`` for data keys, and
``notification_signer``/``notification_public_pem`` for the platform's RSA keys of the channels'
native schemes, which the caller names when it opens the ring. Nothing outside this package sees
private key bytes; ``essc keys export-jwks`` and ``essc keys notification-cert`` export public
keys only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from keys.algorithms import SIGNING_ALGS
from keys.data import DataKeys
from keys.data import UndecryptableField
from keys.notification import NotificationKey
from keys.notification import NotificationKeys
from keys.notification import SchemeSerials
from keys.qr import QrKeys
from keys.ring import InvalidSignature
from keys.ring import KeyRingError
from keys.ring import Rotation
from keys.ring import SigningKeys
from keys.store import KeyRingMeta
from keys.store import KeyStore
from keys.vault import KeyVault
from keys.vault import SoftwareVault
from keys.vault import Vault
from keys.vault import VaultError
from keys.wrapping import Wrapper
from keys.wrapping import WrongPassphrase

__all__ = [
    "SIGNING_ALGS",
    "InvalidSignature",
    "KeyRing",
    "KeyRingError",
    "KeyStore",
    "NotificationKey",
    "Rotation",
    "SchemeSerials",
    "UndecryptableField",
    "VaultError",
    "WrongPassphrase",
]


class KeyRing:
    """Signing keys and data keys opened with the operator's passphrase."""

    def __init__(
        self,
        signing: SigningKeys,
        data: DataKeys,
        notification: NotificationKeys,
        qr: QrKeys | None = None,
    ) -> None:
        self.signing = signing
        self.data = data
        self.notification = notification
        #: The QR code signing keys (keys/qr.py), published apart from the JWT keys; the first
        #: is made on first use (``QrKeys.ensure``), so older instances need no new init step.
        self.qr = qr

    @classmethod
    def open(
        cls,
        store: KeyStore,
        passphrase: str,
        *,
        publish_retired_for: int,
        notification_schemes: SchemeSerials,
        refresh_seconds: int = 60,
        clock: Callable[[], float] = time.time,
        create: bool = False,
        token: KeyVault | None = None,
    ) -> KeyRing:
        """Open the ring; with ``create=True`` initialise an empty one (``essc init``).

        With a ``token`` (``keys.hsm.TokenVault``, a PKCS#11 token) every new signing key (JWT,
        QR, notification) is made and kept inside it; data keys stay wrapped under the KEK.

        ``notification_schemes`` names the native schemes that get a platform RSA key, each with
        how its serial is made (``channels.signing.registry.platform_key_serials``).
        """
        meta = store.load_meta()
        if meta is None:
            if not create:
                raise KeyRingError("the key ring is not initialised; run `essc init`")
            salt = os.urandom(16)
            wrapper = Wrapper(passphrase, salt)
            store.save_meta(KeyRingMeta(salt=salt, verifier=wrapper.make_verifier()))
        else:
            wrapper = Wrapper(passphrase, meta.salt)
            wrapper.check_verifier(meta.verifier)
        vault = Vault(SoftwareVault(wrapper), token)
        signing = SigningKeys(
            store,
            vault,
            publish_retired_for=publish_retired_for,
            refresh_seconds=refresh_seconds,
            clock=clock,
        )
        data = DataKeys(store, wrapper, clock)
        qr = QrKeys(store, vault, clock)
        if create:
            data.ensure()
            signing.ensure()
        signing.reload()
        return cls(signing, data, NotificationKeys(store, vault, notification_schemes, clock), qr)

    # Thin delegates, so callers write ``keyring.sign(...)``.
    def sign(self, claims: dict[str, Any], *, alg: str = "ES256", typ: str = "JWT") -> str:
        return self.signing.sign(claims, alg=alg, typ=typ)

    def verify(self, token: str, **kwargs: Any) -> dict[str, Any]:
        return self.signing.verify(token, **kwargs)

    def jwks(self) -> dict[str, Any]:
        return self.signing.jwks()

    def rotate(self, alg: str) -> Rotation:
        return self.signing.rotate(alg)

    def encrypt_field(self, plaintext: str, *, context: str) -> bytes:
        return self.data.encrypt_field(plaintext, context=context)

    def decrypt_field(self, blob: bytes, *, context: str) -> str:
        return self.data.decrypt_field(blob, context=context)

    def keyed_hash(self, purpose: str, value: str) -> str:
        return self.data.keyed_hash(purpose, value)

    def ensure_notification_keys(self) -> list[str]:
        """Create the missing native-scheme notification keys (``essc init``); which were new."""
        return self.notification.ensure()

    def notification_signer(self, scheme: str) -> NotificationKey:
        """``(serial, sign)`` for one of the ring's notification schemes: SHA256withRSA."""
        found = self.notification.signer(scheme)
        if found is None:
            raise KeyRingError(f"no notification key for {scheme}; run `essc init`")
        return found

    def notification_public_pem(self, scheme: str) -> tuple[str, str]:
        """``(serial, public key PEM)`` channels register to verify our notifications."""
        found = self.notification.public(scheme)
        if found is None:
            raise KeyRingError(f"no notification key for {scheme}; run `essc init`")
        return found
