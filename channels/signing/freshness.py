"""Replay protection shared by the schemes: a timestamp window and single-use nonces.

WeChat Pay's official SDK refuses messages more than 5 minutes old
(``WechatPay2Validator``: "拒绝5分钟之外的应答"); essc-idp applies the same 300 s default to every
scheme, in both directions (a clock running ahead is refused too). A nonce is remembered for
twice the window, which covers the longest time the same timestamp can still be accepted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from datetime import timezone

from channels.signing.scheme import Clock
from channels.signing.scheme import NonceStore
from channels.signing.scheme import SignatureError

DEFAULT_WINDOW_SECONDS = 300

#: China Standard Time, the zone of Alipay ``timestamp`` and UnionPay ``txnTime`` (no DST).
CHINA_TIME = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class ReplayGuard:
    """The clock, the nonce store and the window one scheme checks messages against."""

    clock: Clock
    nonces: NonceStore
    window_seconds: int = DEFAULT_WINDOW_SECONDS

    def __post_init__(self) -> None:
        if not 0 < self.window_seconds <= 3600:
            raise ValueError("the replay window must be between 1 and 3600 seconds")

    def check_time(self, timestamp: float, window_seconds: int | None = None) -> None:
        """``stale_timestamp`` unless ``timestamp`` is within the window of now."""
        window = self.window_seconds if window_seconds is None else window_seconds
        if abs(self.clock() - timestamp) > window:
            raise SignatureError("stale_timestamp")

    def consume(self, scope: str, nonce: str) -> None:
        """``replayed_nonce`` if this nonce was already accepted in ``scope``."""
        if not self.nonces.add_once(f"{scope}:{nonce}", 2 * self.window_seconds):
            raise SignatureError("replayed_nonce")


def signature_nonce(signature: bytes) -> str:
    """A replay key for schemes that carry no nonce: the digest of the (deterministic) signature.

    Hash the decoded bytes, not the base64 text: base64 with different padding bits decodes to
    the same signature and must not count as a new message.
    """
    return hashlib.sha256(signature).hexdigest()


def parse_china_time(value: str, layout: str) -> float:
    """Seconds since the epoch for a UTC+8 wall-clock string, or ``malformed``."""
    try:
        moment = datetime.strptime(value, layout)
    except ValueError:
        raise SignatureError("malformed") from None
    if moment.strftime(layout) != value:  # strptime also takes unpadded fields like "7"
        raise SignatureError("malformed")
    return moment.replace(tzinfo=CHINA_TIME).timestamp()
