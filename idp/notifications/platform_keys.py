"""The platform's keys for the native schemes, from the key ring (``keys.notification``).

Each registered scheme (``channels.signing.registry``) signs notifications, e-card API responses
and Alipay gateway envelopes with an ``OwnKey``: the serial of the scheme's key in the ring
(named by ``Adapter.platform_key``) and the ring's SHA256withRSA function. No private key
object leaves ``keys/``.
"""

from __future__ import annotations

from channels.signing import ADAPTERS
from channels.signing import OwnKey
from keys import KeyRing
from keys import KeyRingError

OWNER = "essc-idp"


def own_keys(keyring: KeyRing) -> dict[str, OwnKey]:
    """An ``OwnKey`` per scheme name whose key exists; a missing one stays ``NoSigner``."""
    found: dict[str, OwnKey] = {}
    for adapter in ADAPTERS:
        try:
            key = keyring.notification_signer(adapter.platform_key)
        except KeyRingError:
            continue
        found[adapter.name] = OwnKey(OWNER, key.sign, key.serial)
    return found
