"""A channel's notification endpoint for tests: a real HTTP server on 127.0.0.1 in a thread.

It records every request in arrival order, answers 5xx while ``failing()`` says so, and drops
duplicates by ``X-Essc-Delivery-Id`` the way docs/notifications.md asks channels to.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    delivery_id: str
    headers: dict[str, str]
    body: bytes
    accepted: bool


class Receiver:
    """``fail_first`` requests get 500; while ``down()`` is true every request gets 503."""

    def __init__(self, *, fail_first: int = 0, down: Callable[[], bool] = lambda: False) -> None:
        self.fail_first = fail_first
        self.down = down
        self.fail_every: int | None = None
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self.url = ""

    def decide(self) -> int:
        """The status for the next request (called under the lock)."""
        count = len(self.requests) + 1
        if count <= self.fail_first:
            return 500
        if self.down():
            return 503
        if self.fail_every and count % self.fail_every == 0:
            return 500
        return 200

    def record(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            status = self.decide()
            delivery_id = headers.get("X-Essc-Delivery-Id", "")
            self.requests.append(Received(delivery_id, headers, body, status == 200))
            return status

    def accepted(self) -> list[Received]:
        """Requests that got 2xx, first copy of each delivery id only (the dedup)."""
        seen: set[str] = set()
        first: list[Received] = []
        for request in self.requests:
            if request.accepted and request.delivery_id not in seen:
                seen.add(request.delivery_id)
                first.append(request)
        return first

    def last(self, delivery_id: str) -> Received:
        return [r for r in self.requests if r.delivery_id == delivery_id and r.accepted][-1]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            status = receiver.record(dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(receiver: Receiver) -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/essc/notify"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
