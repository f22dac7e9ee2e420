"""Which keys a scheme trusts and which key it signs with.

A peer's key is registered under its owner id (Alipay ``app_id``, WeChat Pay ``mchid``, UnionPay
``merId``) and, where the channel names certificates, a serial (Alipay ``app_cert_sn``, WeChat
Pay ``serial_no``, UnionPay ``certId``). A message is checked only against the key registered
for exactly the (owner, serial) pair it claims; anything else is ``unknown_key``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa

from channels.signing.rsa_sha256 import require_strength
from channels.signing.scheme import SignatureError


@dataclass(frozen=True)
class KnownKey:
    """A peer's public key, registered by an operator."""

    owner: str
    public_key: rsa.RSAPublicKey
    serial: str | None = None

    def __post_init__(self) -> None:
        require_strength(self.public_key)


@dataclass(frozen=True)
class OwnKey:
    """The key essc-idp signs with in one scheme, with the ids the channel expects beside it."""

    owner: str
    private_key: rsa.RSAPrivateKey
    serial: str | None = None

    def __post_init__(self) -> None:
        require_strength(self.private_key)


class KeyRing:
    """Registered peer keys, looked up by exact (owner, serial)."""

    def __init__(self, keys: Iterable[KnownKey]) -> None:
        self._by_pair: dict[tuple[str, str | None], KnownKey] = {}
        self._by_serial: dict[str, KnownKey] = {}
        for key in keys:
            self._add(key)

    def _add(self, key: KnownKey) -> None:
        pair = (key.owner, key.serial)
        if pair in self._by_pair or (key.serial is not None and key.serial in self._by_serial):
            raise ValueError("a key is registered twice")
        self._by_pair[pair] = key
        if key.serial is not None:
            self._by_serial[key.serial] = key

    def find(self, owner: str, serial: str | None) -> KnownKey:
        """The key for exactly this owner and serial, or ``unknown_key``."""
        key = self._by_pair.get((owner, serial))
        if key is None:
            raise SignatureError("unknown_key")
        return key

    def find_serial(self, serial: str) -> KnownKey:
        """The key with this serial when the message names no owner (WeChat Pay callbacks)."""
        key = self._by_serial.get(serial)
        if key is None:
            raise SignatureError("unknown_key")
        return key
