"""A channel's WeChat Pay APIv3 key: the AES-256-GCM key for encrypted notification resources.

WeChat Pay (wechatpay4_2) encrypts callback ``resource`` objects with the merchant's 32-byte APIv3
key. A ``wechatpay-v3`` channel that wants encrypted resources gives essc-idp its key
(``essc channels notification-key``); it is stored with ``KeyRing.encrypt_field`` under a context
naming the channel, so a ciphertext copied to another channel's row does not decrypt. It is
never printed nor logged.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from idp.store.channels import ChannelRow
from keys import KeyRing

CONTEXT = "channel.notification_key"
KEY_BYTES = 32


class NotificationKeyError(Exception):
    """The key is not 32 bytes, or the channel does not exist."""


def _context(client_id: str) -> str:
    return f"{CONTEXT}:{client_id}"


def set_key(session: Session, keyring: KeyRing, client_id: str, key: bytes | None) -> None:
    """Store (or with ``None`` remove) the channel's APIv3 key, encrypted."""
    row = session.get(ChannelRow, client_id)
    if row is None:
        raise NotificationKeyError("no channel has that client_id")
    if key is None:
        row.notification_key_enc = None
        return
    if len(key) != KEY_BYTES:
        raise NotificationKeyError("a WeChat Pay APIv3 key is exactly 32 bytes")
    try:
        text = key.decode("ascii")
    except UnicodeDecodeError:
        raise NotificationKeyError("a WeChat Pay APIv3 key is 32 ASCII characters") from None
    row.notification_key_enc = keyring.encrypt_field(text, context=_context(client_id))


def get_key(session: Session, keyring: KeyRing, client_id: str) -> bytes | None:
    """The channel's APIv3 key, or None when it asked for plain resources."""
    row = session.get(ChannelRow, client_id)
    if row is None or row.notification_key_enc is None:
        return None
    return keyring.decrypt_field(row.notification_key_enc, context=_context(client_id)).encode()
