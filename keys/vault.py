"""Where the ring's private signing keys live, and the one way to sign with them.

A key is created by a vault, which hands back its public key and what to store for it:

- the software vault (the embedded default) stores the private key as PKCS#8, AES-256-GCM
  wrapped under the passphrase's KEK (``keys.wrapping``), and signs with pyca/cryptography;
- a PKCS#11 token (``keys.hsm``, an HSM) creates the key inside itself, never lets it out, and
  stores only a reference to it (``pkcs11:`` and the object's ``CKA_ID``); it signs inside.

Every signer (tokens, QR codes, notifications) asks ``Vault.signer`` for a ``Sign``, a function
from the JWS signing input to the signature bytes, so none of them knows where the key is. A
stored value names its own place: a token reference has one fixed length, shorter than any
wrapped key, so keys made before an HSM was configured keep signing until they retire.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives import serialization

from keys.algorithms import PrivateKey
from keys.algorithms import generate_private_key
from keys.jwk import PublicKey
from keys.jws import signature
from keys.wrapping import Wrapper

#: The JWS signature over a signing input (RFC 7515 5.1), for one key and algorithm.
Sign = Callable[[bytes], bytes]

TOKEN_REFERENCE_PREFIX = b"pkcs11:"
TOKEN_ID_BYTES = 16
TOKEN_REFERENCE_LENGTH = len(TOKEN_REFERENCE_PREFIX) + TOKEN_ID_BYTES


class VaultError(Exception):
    """A key cannot be created or used where it lives (no token configured, object missing)."""


@dataclass(frozen=True)
class NewKey:
    """A key just created: its public half, and what to store for it once its id is known."""

    public: PublicKey
    seal: Callable[[str], bytes]


class KeyVault(Protocol):
    def create(self, alg: str) -> NewKey: ...

    def signer(self, key_id: str, stored: bytes, alg: str) -> Sign: ...

    def public_key(self, key_id: str, stored: bytes) -> PublicKey: ...


def is_token_reference(stored: bytes) -> bool:
    return len(stored) == TOKEN_REFERENCE_LENGTH and stored.startswith(TOKEN_REFERENCE_PREFIX)


class SoftwareVault:
    """Private keys wrapped under the KEK in the database; unwrapped in memory to sign."""

    def __init__(self, wrapper: Wrapper) -> None:
        self._wrapper = wrapper

    def create(self, alg: str) -> NewKey:
        private = generate_private_key(alg)
        der = private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),  # wrapped at once under the KEK, never stored raw
        )
        return NewKey(private.public_key(), lambda key_id: self._wrapper.wrap(key_id, der))

    def _private(self, key_id: str, stored: bytes) -> PrivateKey:
        private = serialization.load_der_private_key(
            self._wrapper.unwrap(key_id, stored), password=None
        )
        if not isinstance(private, PrivateKey):
            raise VaultError("a stored key is not a signing key")
        return private

    def signer(self, key_id: str, stored: bytes, alg: str) -> Sign:
        return functools.partial(signature, self._private(key_id, stored), alg)

    def public_key(self, key_id: str, stored: bytes) -> PublicKey:
        return self._private(key_id, stored).public_key()


class Vault:
    """The ring's vault: new keys go to the token when one is configured, else to software;
    a stored key is used where its stored value says it lives."""

    def __init__(self, software: SoftwareVault, token: KeyVault | None = None) -> None:
        self._software = software
        self._token = token

    @property
    def in_token(self) -> bool:
        return self._token is not None

    def create(self, alg: str) -> NewKey:
        return (self._token or self._software).create(alg)

    def _where(self, stored: bytes) -> KeyVault:
        if not is_token_reference(stored):
            return self._software
        if self._token is None:
            raise VaultError("a key lives in a PKCS#11 token; set ESSC_PKCS11_MODULE to use it")
        return self._token

    def signer(self, key_id: str, stored: bytes, alg: str) -> Sign:
        return self._where(stored).signer(key_id, stored, alg)

    def public_key(self, key_id: str, stored: bytes) -> PublicKey:
        return self._where(stored).public_key(key_id, stored)
