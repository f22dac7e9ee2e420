"""The interface every channel-native signing scheme implements.

Pure protocol types: no Flask, no storage, no clock of its own. The web layer turns an HTTP
request into a ``ChannelRequest`` and a ``Notification`` back into HTTP; a scheme's ``Verifier``
checks with public keys only and its ``Signer`` signs through a ``SignFunction`` (the key stays
in ``keys/``). Spec: ``docs/channels/signing.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import ClassVar
from typing import Literal
from typing import Protocol
from typing import get_args

Reason = Literal["bad_signature", "stale_timestamp", "replayed_nonce", "unknown_key", "malformed"]

#: Seconds since the Unix epoch; injected so tests never sleep.
Clock = Callable[[], float]


class SignatureError(Exception):
    """A refused server-to-server message.

    ``reason`` is one short ASCII word from ``Reason``. The message is the reason itself and
    never contains any part of the request, so it is safe for logs and public error bodies.
    """

    REASONS: ClassVar[frozenset[str]] = frozenset(get_args(Reason))

    def __init__(self, reason: Reason) -> None:
        if reason not in self.REASONS:
            raise ValueError("unknown SignatureError reason")
        super().__init__(reason)
        self.reason: Reason = reason


class NonceStore(Protocol):
    """Single-use memory for nonces (Redis ``SET NX EX``, a unique row, ...).

    ``add_once`` returns True when ``key`` was not present and is now stored for
    ``ttl_seconds``; False when it was already there. It must be atomic.
    """

    def add_once(self, key: str, ttl_seconds: int) -> bool: ...


@dataclass(frozen=True)
class ChannelRequest:
    """An inbound server-to-server request as the web layer received it.

    ``target`` is the request-target exactly as sent (path plus ``?query``), ``body`` the raw
    bytes, and ``params`` the decoded form or query fields for the form-signed schemes.
    """

    method: str
    target: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    params: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup (RFC 9110 5.1)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def encode_text(text: str, codec: str = "utf-8") -> bytes:
    """The bytes a channel signs for ``text``; text that cannot be encoded is ``malformed``."""
    try:
        return text.encode(codec)
    except UnicodeEncodeError:
        raise SignatureError("malformed") from None


@dataclass(frozen=True)
class Verified:
    """Who signed an accepted message: the registered owner id and the key serial used."""

    scheme: str
    owner: str
    serial: str | None


@dataclass(frozen=True)
class Notification:
    """An outbound notification: a body for header-signed schemes, params for form-signed ones."""

    body: bytes = b""
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


#: SHA256withRSA (RSASSA-PKCS1-v1_5, SHA-256) over the bytes, returning the raw signature: what
#: ``keys.NotificationKey.sign`` is. A signer gets this function, never a private key object.
SignFunction = Callable[[bytes], bytes]


@dataclass(frozen=True)
class OwnKey:
    """How essc-idp (or, in tests, a channel) signs in one scheme: the ids the receiver expects
    (owner, certificate serial or certId) and the signing function of the key behind them."""

    owner: str
    sign: SignFunction
    serial: str | None = None


class Verifier(Protocol):
    """Checks one scheme's inbound requests against registered public keys.

    ``verify_request`` returns ``Verified`` or raises ``SignatureError``.
    """

    def verify_request(self, request: ChannelRequest) -> Verified: ...


class Signer(Protocol):
    """Signs what essc-idp sends in one scheme: the notification with the signature added."""

    def sign_notification(self, notification: Notification) -> Notification: ...
