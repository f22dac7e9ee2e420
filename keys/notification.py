"""The platform's RSA keys for signing notifications in the channels' native schemes.

WeChat Pay API v3, Alipay (gateway RSA2 and Open API v3) and UnionPay verify SHA256withRSA
(RSASSA-PKCS1-v1_5 with SHA-256, RFC 8017 8.2) with a 2048-bit key the channel has registered
under a serial: ``Wechatpay-Serial``, ``alipay-sn``/``app_cert_sn``, UnionPay ``certId``. One key
per scheme, stored as a data key (purpose ``rsa:<scheme>``, the serial as its id) wrapped under
the KEK. Outside this module only the serial, a signing function and the public PEM exist.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import NamedTuple

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa

from keys.store import KeyStore
from keys.store import StoredDataKey
from keys.wrapping import Wrapper

#: The native schemes essc-idp signs notifications in (``essc keys notification-cert``).
NOTIFICATION_SCHEMES = ("wechatpay-v3", "alipay-rsa2", "alipay-v3", "unionpay")
PURPOSE_PREFIX = "rsa:"
RSA_BITS = 2048


class NotificationKey(NamedTuple):
    """What a scheme needs to sign: the serial it names, and SHA256withRSA over bytes."""

    serial: str
    sign: Callable[[bytes], bytes]


def _new_serial(scheme: str) -> str:
    """A serial in the form the channel expects: UnionPay certIds are decimal, WeChat's hex."""
    if scheme == "unionpay":
        return str(10**19 + secrets.randbelow(9 * 10**19))
    serial = secrets.token_hex(16)
    return serial.upper() if scheme == "wechatpay-v3" else serial


def _require_scheme(scheme: str) -> str:
    if scheme not in NOTIFICATION_SCHEMES:
        raise ValueError("unknown notification scheme")
    return PURPOSE_PREFIX + scheme


class NotificationKeys:
    """Loads, creates and uses the per-scheme keys; private keys stay inside this object."""

    def __init__(
        self, store: KeyStore, wrapper: Wrapper, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._wrapper = wrapper
        self._clock = clock
        self._loaded: dict[str, tuple[str, rsa.RSAPrivateKey]] = {}

    def ensure(self, schemes: tuple[str, ...] = NOTIFICATION_SCHEMES) -> list[str]:
        """Create each missing scheme key (``essc init``); the schemes that got a new key."""
        present = {k.purpose for k in self._store.data_keys() if k.active}
        created = []
        for scheme in schemes:
            if _require_scheme(scheme) not in present:
                self._add(scheme)
                created.append(scheme)
        return created

    def _add(self, scheme: str) -> None:
        serial = _new_serial(scheme)
        private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        der = private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self._store.add_data_key(
            StoredDataKey(
                kid=serial,
                purpose=_require_scheme(scheme),
                wrapped=self._wrapper.wrap(serial, der),
                created_at=int(self._clock()),
                active=True,
            ),
            deactivate_others=True,
        )

    def _key(self, scheme: str) -> tuple[str, rsa.RSAPrivateKey] | None:
        purpose = _require_scheme(scheme)
        if scheme not in self._loaded:
            stored = [k for k in self._store.data_keys() if k.purpose == purpose and k.active]
            if not stored:
                return None
            row = stored[-1]
            private = serialization.load_der_private_key(
                self._wrapper.unwrap(row.kid, row.wrapped), password=None
            )
            if not isinstance(private, rsa.RSAPrivateKey) or private.key_size < RSA_BITS:
                raise ValueError("a notification key is not an RSA key of 2048 bits or more")
            self._loaded[scheme] = (row.kid, private)
        return self._loaded[scheme]

    def signer(self, scheme: str) -> NotificationKey | None:
        """The scheme's serial and SHA256withRSA signing function; None before ``essc init``."""
        found = self._key(scheme)
        if found is None:
            return None
        serial, private = found

        def sign(message: bytes) -> bytes:
            return private.sign(message, padding.PKCS1v15(), hashes.SHA256())

        return NotificationKey(serial, sign)

    def public(self, scheme: str) -> tuple[str, str] | None:
        """The scheme's serial and SubjectPublicKeyInfo PEM, for channels to register."""
        found = self._key(scheme)
        if found is None:
            return None
        serial, private = found
        pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return serial, pem.decode("ascii")
