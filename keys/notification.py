"""The platform's RSA keys for signing notifications in the channels' native schemes.

WeChat Pay API v3, Alipay (gateway RSA2 and Open API v3) and UnionPay verify SHA256withRSA
(RSASSA-PKCS1-v1_5 with SHA-256, RFC 8017 8.2) with a 2048-bit key the channel has registered
under a serial: ``Wechatpay-Serial``, ``alipay-sn``/``app_cert_sn``, UnionPay ``certId``. One key
per scheme, stored as a data key (purpose ``rsa:<scheme>``, the serial as its id) wrapped under
the KEK, or kept inside a PKCS#11 token when one is configured (``keys.vault``). Outside this
module only the serial, a signing function and the public PEM exist.

Which schemes exist, and the serial form each channel's SDK expects, is not this package's to
know: the key ring is opened with them (``channels.signing.registry.platform_key_serials``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Mapping
from typing import NamedTuple

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa

from keys.store import KeyStore
from keys.store import StoredDataKey
from keys.vault import Sign
from keys.vault import Vault

#: A scheme's key name in the ring, to how a new key's serial is made.
SchemeSerials = Mapping[str, Callable[[], str]]
PURPOSE_PREFIX = "rsa:"
RSA_BITS = 2048


class NotificationKey(NamedTuple):
    """What a scheme needs to sign: the serial it names, and SHA256withRSA over bytes."""

    serial: str
    sign: Callable[[bytes], bytes]


def rsa_signer(private: rsa.RSAPrivateKey) -> Callable[[bytes], bytes]:
    """SHA256withRSA (PKCS#1 v1.5) over bytes with ``private``, refusing keys under 2048 bits."""
    if not isinstance(private, rsa.RSAPrivateKey) or private.key_size < RSA_BITS:
        raise ValueError("a notification key is not an RSA key of 2048 bits or more")

    def sign(message: bytes) -> bytes:
        return private.sign(message, padding.PKCS1v15(), hashes.SHA256())

    return sign


class NotificationKeys:
    """Loads, creates and uses the per-scheme keys; private keys stay inside this object."""

    def __init__(
        self,
        store: KeyStore,
        vault: Vault,
        schemes: SchemeSerials,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._vault = vault
        self._schemes = dict(schemes)
        self._clock = clock
        self._loaded: dict[str, tuple[str, Sign, rsa.RSAPublicKey]] = {}

    def _purpose(self, scheme: str) -> str:
        if scheme not in self._schemes:
            raise ValueError("unknown notification scheme")
        return PURPOSE_PREFIX + scheme

    def ensure(self) -> list[str]:
        """Create each missing scheme key (``essc init``); the schemes that got a new key."""
        present = {k.purpose for k in self._store.data_keys() if k.active}
        created = []
        for scheme in self._schemes:
            if self._purpose(scheme) not in present:
                self._add(scheme)
                created.append(scheme)
        return created

    def _add(self, scheme: str) -> None:
        serial = self._schemes[scheme]()
        new = self._vault.create("RS256")  # SHA256withRSA is RS256's signature (RFC 7518 3.3)
        self._store.add_data_key(
            StoredDataKey(
                kid=serial,
                purpose=self._purpose(scheme),
                wrapped=new.seal(serial),
                created_at=int(self._clock()),
                active=True,
            ),
            deactivate_others=True,
        )

    def _key(self, scheme: str) -> tuple[str, Sign, rsa.RSAPublicKey] | None:
        purpose = self._purpose(scheme)
        if scheme not in self._loaded:
            stored = [k for k in self._store.data_keys() if k.purpose == purpose and k.active]
            if not stored:
                return None
            row = stored[-1]
            public = self._vault.public_key(row.kid, row.wrapped)
            if not isinstance(public, rsa.RSAPublicKey) or public.key_size < RSA_BITS:
                raise ValueError("a notification key is not an RSA key of 2048 bits or more")
            self._loaded[scheme] = (
                row.kid,
                self._vault.signer(row.kid, row.wrapped, "RS256"),
                public,
            )
        return self._loaded[scheme]

    def signer(self, scheme: str) -> NotificationKey | None:
        """The scheme's serial and SHA256withRSA signing function; None before ``essc init``."""
        found = self._key(scheme)
        if found is None:
            return None
        serial, sign, _ = found
        return NotificationKey(serial, sign)

    def public(self, scheme: str) -> tuple[str, str] | None:
        """The scheme's serial and SubjectPublicKeyInfo PEM, for channels to register."""
        found = self._key(scheme)
        if found is None:
            return None
        serial, _, public = found
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return serial, pem.decode("ascii")
