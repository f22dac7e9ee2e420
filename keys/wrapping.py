"""Key wrapping under the operator's passphrase: the only place key bytes are (de)crypted.

The key-encryption key (KEK) is scrypt(passphrase, salt) (RFC 7914; n=2**15, r=8, p=1, the
cryptography docs' interactive-login cost). Keys are wrapped with AES-256-GCM and the key id as
associated data, so a wrapped key cannot be swapped for another row's.
"""

from __future__ import annotations

import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

_VERIFIER_AAD = b"essc-idp key ring verifier"
_VERIFIER_TEXT = b"essc-idp"


class WrongPassphrase(Exception):
    """The configured passphrase does not open this key ring."""


@functools.lru_cache(maxsize=8)
def _derive_kek(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode("utf-8"))


class Wrapper:
    """Wraps and unwraps key material under a passphrase-derived KEK."""

    def __init__(self, passphrase: str, salt: bytes) -> None:
        self._aead = AESGCM(_derive_kek(passphrase, salt))

    def wrap(self, key_id: str, material: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, material, key_id.encode("ascii"))

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        try:
            return self._aead.decrypt(wrapped[:12], wrapped[12:], key_id.encode("ascii"))
        except InvalidTag:
            raise WrongPassphrase("the key passphrase does not open this key ring") from None

    def make_verifier(self) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, _VERIFIER_TEXT, _VERIFIER_AAD)

    def check_verifier(self, verifier: bytes) -> None:
        try:
            self._aead.decrypt(verifier[:12], verifier[12:], _VERIFIER_AAD)
        except InvalidTag:
            raise WrongPassphrase("the key passphrase does not open this key ring") from None
