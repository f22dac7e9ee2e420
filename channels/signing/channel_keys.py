"""The channel keys a verifier trusts: the public keys operators registered for each channel.

A peer's key is registered under its owner id (Alipay ``app_id``, WeChat Pay ``mchid``, UnionPay
``merId``) and, where the channel names certificates, a serial (Alipay ``app_cert_sn``, WeChat
Pay ``serial_no``, UnionPay ``certId``). A message is checked only against the key registered
for exactly the (owner, serial) pair it claims; anything else is ``unknown_key``.

Serials are numbers, not strings (RFC 5280 4.1.2.2): SDKs print the same certificate serial in
upper or lower case hex, with or without leading zeros (wechatpay-node-v3 prints lowercase), so
a directory built with ``numeric_serials`` compares ``canonical_serial`` forms, at registration
and lookup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa

from channels.signing.rsa_sha256 import require_strength
from channels.signing.scheme import SignatureError

_HEX = re.compile(r"[0-9A-Fa-f]{1,64}")


def canonical_serial(text: str) -> str:
    """The one spelling of a serial: the number it is, in uppercase hex without leading zeros.

    WeChat Pay ``serial_no`` and Alipay ``app_cert_sn`` are hex. A UnionPay ``certId`` is the
    certificate serial in decimal (the ACP SDK's ``getSerialNumber().toString()``): its digits
    are hex digits too, and two digit strings are the same decimal number exactly when they are
    the same hex number, so one reading serves every scheme. Anything that is not a hex number of
    at most 64 digits is ``ValueError``.
    """
    if not _HEX.fullmatch(text):
        raise ValueError("a serial is a hex (or, for UnionPay, decimal) number")
    return format(int(text, 16), "X")


@dataclass(frozen=True)
class KnownKey:
    """A peer's public key, registered by an operator."""

    owner: str
    public_key: rsa.RSAPublicKey
    serial: str | None = None

    def __post_init__(self) -> None:
        require_strength(self.public_key)


class ChannelKeys:
    """The directory of known channel keys (public only), looked up by exact (owner, serial).

    With ``numeric_serials`` serials are compared as numbers through ``canonical_serial``;
    without it, as exact strings (platform key ids like ``PUB_KEY_ID_…``).
    A key without a serial (Alipay public-key mode) is found only by a message naming none.
    """

    def __init__(self, keys: Iterable[KnownKey], *, numeric_serials: bool = False) -> None:
        self._numeric = numeric_serials
        self._by_pair: dict[tuple[str, str | None], KnownKey] = {}
        self._by_serial: dict[str, KnownKey] = {}
        for key in keys:
            self._add(key)

    def _canonical(self, serial: str | None) -> str | None:
        if serial is None or not self._numeric:
            return serial
        return canonical_serial(serial)

    def _add(self, key: KnownKey) -> None:
        serial = self._canonical(key.serial)
        pair = (key.owner, serial)
        if pair in self._by_pair or (serial is not None and serial in self._by_serial):
            raise ValueError("a key is registered twice")
        self._by_pair[pair] = key
        if serial is not None:
            self._by_serial[serial] = key

    def _lookup(self, serial: str | None) -> str | None:
        try:
            return self._canonical(serial)
        except ValueError:
            raise SignatureError("unknown_key") from None

    def find(self, owner: str, serial: str | None) -> KnownKey:
        """The key for exactly this owner and serial, or ``unknown_key``."""
        key = self._by_pair.get((owner, self._lookup(serial)))
        if key is None:
            raise SignatureError("unknown_key")
        return key

    def find_serial(self, serial: str) -> KnownKey:
        """The key with this serial when the message names no owner (WeChat Pay callbacks)."""
        key = self._by_serial.get(self._lookup(serial) or "")
        if key is None:
            raise SignatureError("unknown_key")
        return key
