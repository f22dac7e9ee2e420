"""The platform's keys for native-scheme notifications, from the key ring (``keys.notification``).

The schemes in ``channels.signing`` sign with an ``OwnKey`` holding an ``RSAPrivateKey``. The key
ring never hands one out: it gives a serial and a SHA256withRSA function. ``RingHeldKey`` is the
``RSAPrivateKey`` interface over that function: it signs PKCS#1 v1.5 with SHA-256 and refuses
everything else, so no private bytes exist outside ``keys/``.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils
from cryptography.hazmat.primitives.asymmetric.padding import AsymmetricPadding

from channels.signing.keyring import OwnKey
from keys import KeyRing
from keys import KeyRingError
from keys import NotificationKey

#: ``choose.NATIVE`` key names to the key ring's scheme names.
RING_SCHEME = {
    "wechatpay-v3": "wechatpay-v3",
    "alipay-rsa2": "alipay-rsa2",
    "alipay-v3": "alipay-v3",
    "unionpay-rsa": "unionpay",
}
OWNER = "essc-idp"


class RingHeldKey(rsa.RSAPrivateKey):
    """Signs SHA256withRSA through the key ring; cannot export, decrypt or use other padding."""

    def __init__(self, key: NotificationKey, public: rsa.RSAPublicKey) -> None:
        self._key = key
        self._public = public

    def sign(
        self,
        data: bytes,
        padding: AsymmetricPadding,
        algorithm: asym_utils.Prehashed | hashes.HashAlgorithm | asym_utils.NoDigestInfo,
    ) -> bytes:
        if not isinstance(padding, rsa_padding.PKCS1v15) or not isinstance(
            algorithm, hashes.SHA256
        ):
            raise TypeError("a notification key signs PKCS#1 v1.5 with SHA-256 only")
        return self._key.sign(data)

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    def decrypt(self, ciphertext: bytes, padding: AsymmetricPadding) -> bytes:
        raise TypeError("a notification key only signs")

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        raise TypeError("the key ring keeps notification keys")

    def private_bytes(self, *args: Any, **kwargs: Any) -> bytes:
        raise TypeError("the key ring keeps notification keys")

    def __copy__(self) -> RingHeldKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> RingHeldKey:
        return self


def own_keys(keyring: KeyRing) -> dict[str, OwnKey]:
    """An ``OwnKey`` per native scheme whose key exists; a missing one stays ``NoSigner``."""
    found: dict[str, OwnKey] = {}
    for key_name, scheme in RING_SCHEME.items():
        try:
            signer = keyring.notification_signer(scheme)
            _, pem = keyring.notification_public_pem(scheme)
        except KeyRingError:
            continue
        public = serialization.load_pem_public_key(pem.encode("ascii"))
        if not isinstance(public, rsa.RSAPublicKey):
            raise KeyRingError("a notification key is not an RSA key")
        found[key_name] = OwnKey(OWNER, RingHeldKey(signer, public), signer.serial)
    return found
