"""What the key ring needs from storage: a narrow Protocol the database layer implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from typing import Protocol

PENDING = "pending"
ACTIVE = "active"
RETIRED = "retired"


@dataclass(frozen=True)
class KeyRingMeta:
    salt: bytes
    verifier: bytes


@dataclass(frozen=True)
class StoredSigningKey:
    kid: str
    alg: str
    state: str
    wrapped_private: bytes
    public_jwk: dict[str, Any]
    created_at: int
    activated_at: int | None = None
    retired_at: int | None = None


@dataclass(frozen=True)
class StoredDataKey:
    kid: str
    purpose: str
    wrapped: bytes
    created_at: int
    active: bool


class KeyStore(Protocol):
    def load_meta(self) -> KeyRingMeta | None: ...

    def save_meta(self, meta: KeyRingMeta) -> None: ...

    def signing_keys(self) -> list[StoredSigningKey]: ...

    def data_keys(self) -> list[StoredDataKey]: ...

    def add_data_key(self, key: StoredDataKey, *, deactivate_others: bool) -> None: ...

    def save_rotation(
        self,
        *,
        new_pending: StoredSigningKey,
        promote: str | None,
        retire: str | None,
        at: int,
    ) -> None:
        """Atomically: add ``new_pending``, make ``promote`` active, make ``retire`` retired."""
        ...
