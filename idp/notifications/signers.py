"""What a notification says and how it is signed: one ``NotificationSigner`` per channel scheme.

Every scheme carries the same facts (delivery id, event, payload, times) in that channel's own
form, and the delivery id is always inside what the signature covers, so a receiver can trust it
for dropping duplicates. This module has the common parts and the default signer, a Security
Event Token (RFC 8417) signed by the platform key ring, for ``private_key_jwt`` channels and any
channel without a native scheme. Channel-native signers are in ``idp.notifications.native``.
Contract for channels: ``docs/notifications.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any
from typing import Protocol

from channels.signing import security_event
from channels.signing.freshness import CHINA_TIME
from channels.signing.security_event import SET_MEDIA_TYPE
from channels.signing.security_event import SecurityEventSigner
from channels.signing.security_event import SignJwt

JSON_MEDIA_TYPE = "application/json; charset=utf-8"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded; charset=utf-8"


@dataclass(frozen=True)
class Envelope:
    """One outbox message as the signers see it; no storage types."""

    delivery_id: str
    client_id: str
    event: str
    payload: Mapping[str, Any]
    created_at: int


@dataclass(frozen=True)
class Outgoing:
    """A signed request body and the headers its scheme needs (content type included)."""

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class NotificationSigner(Protocol):
    """Turns an ``Envelope`` into the bytes and headers one channel's scheme expects."""

    scheme: str

    def sign(self, envelope: Envelope, now: int) -> Outgoing: ...


def canonical_json(value: Any) -> bytes:
    """Compact, key-sorted UTF-8 JSON: the same payload always signs the same bytes."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def china_time(seconds: int, layout: str) -> str:
    """Wall-clock time in UTC+8, the zone Alipay and UnionPay timestamps use."""
    return datetime.fromtimestamp(seconds, CHINA_TIME).strftime(layout)


def rfc3339_china(seconds: int) -> str:
    """RFC 3339 with the +08:00 offset, as WeChat Pay's ``create_time``."""
    return datetime.fromtimestamp(seconds, CHINA_TIME).isoformat()


class JwsSetSigner:
    """RFC 8417 Security Event Token, pushed as in RFC 8935, signed with the platform key ring.

    ``jti`` is the delivery id, ``aud`` the channel, ``toe`` when the change happened; the
    channel verifies it with the keys published at ``/jwks.json``
    (``channels.signing.security_event.SecurityEventVerifier``).
    """

    scheme = security_event.NAME

    def __init__(self, sign_jwt: SignJwt, *, issuer: str, alg: str) -> None:
        self._set = SecurityEventSigner(sign_jwt, issuer=issuer, alg=alg)

    def claims(self, envelope: Envelope, now: int) -> dict[str, Any]:
        return self._set.claims(
            audience=envelope.client_id,
            jti=envelope.delivery_id,
            now=now,
            occurred=envelope.created_at,
            event=envelope.event,
            payload=dict(envelope.payload),
        )

    def sign(self, envelope: Envelope, now: int) -> Outgoing:
        token = self._set.sign(self.claims(envelope, now))
        return Outgoing(token.encode("ascii"), {"Content-Type": SET_MEDIA_TYPE})
