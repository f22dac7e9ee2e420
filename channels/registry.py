"""The registry of OAuth clients: a per-process cache in front of storage.

The token endpoint looks a client up on every request; a short TTL keeps that off the database
while an operator's change (suspend, new redirect URI) still reaches every worker within
``ttl`` seconds. Writes made through this process drop the entry at once. Inactive clients
(pending, suspended) are not cached, so approving or resuming one takes effect at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from channels.client import Client

#: Issued ids are ``<kind>-<16 hex>``; the column holds 64 characters.
MAX_CLIENT_ID = 64


def plausible_client_id(client_id: str) -> bool:
    """Could this be a client id at all? Ids are visible ASCII (``idp.clients`` makes them);
    anything else, a NUL byte say, which PostgreSQL refuses with an error, names no client."""
    return 0 < len(client_id) <= MAX_CLIENT_ID and client_id.isascii() and client_id.isprintable()


class ClientSource(Protocol):
    def load_client(self, client_id: str) -> Client | None: ...


class ClientRegistry:
    def __init__(
        self,
        source: ClientSource,
        *,
        ttl: float = 30,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Client | None]] = {}

    def get(self, client_id: str) -> Client | None:
        if not plausible_client_id(client_id):
            return None  # e.g. a NUL byte, which PostgreSQL refuses with an error
        now = self._clock()
        entry = self._entries.get(client_id)
        if entry is not None and entry[0] > now:
            return entry[1]
        client = self._source.load_client(client_id)
        if client is not None and not client.active:
            return client  # not cached: an operator's approval or resume counts at once
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.clear()  # bounded memory; unknown ids cannot grow it forever
            self._entries[client_id] = (now + self._ttl, client)
        return client

    def forget(self, client_id: str) -> None:
        with self._lock:
            self._entries.pop(client_id, None)
