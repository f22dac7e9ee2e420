"""Fixtures for the channel-signing tests: TEST-ONLY keys, a settable clock, a nonce store.

The vectors in ``tests/vectors/channels`` describe each verifier (``own`` key, ``peers``,
``window_seconds``) and each case (``now``, ``request``, ``expect``, ``repeat``); the fixtures
here turn those descriptions into scheme instances and run the cases.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from channels.signing import ChannelRequest
from channels.signing import KeyRing
from channels.signing import KnownKey
from channels.signing import OwnKey
from channels.signing import ReplayGuard
from channels.signing import SignatureError
from channels.signing import Verified
from tests.support import FakeClock

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "channels"
KEY_FILES = {
    "channel": "TEST-ONLY-channel-rsa2048.pem",
    "essc": "TEST-ONLY-essc-rsa2048.pem",
    "stranger": "TEST-ONLY-stranger-rsa2048.pem",
}


class MemoryNonceStore:
    """``NonceStore`` for tests only: a dict of expiry times on the injected clock."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self.ttls: list[int] = []

    def add_once(self, key: str, ttl_seconds: int) -> bool:
        now = self._clock()
        if self._expiry.get(key, now) > now:
            return False
        self._expiry[key] = now + ttl_seconds
        self.ttls.append(ttl_seconds)
        return True


def to_request(data: dict[str, Any]) -> ChannelRequest:
    return ChannelRequest(
        method=data["method"],
        target=data["target"],
        headers=data["headers"],
        body=data["body"].encode(),
        params=data["params"],
    )


@pytest.fixture(scope="session")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    loaded = {}
    for role, name in KEY_FILES.items():
        key = serialization.load_pem_private_key((VECTORS / name).read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        loaded[role] = key
    return loaded


@pytest.fixture
def make_scheme(keys: dict[str, rsa.RSAPrivateKey]) -> Callable[..., tuple[Any, FakeClock]]:
    """Build ``cls`` from a vector ``verifier`` spec; returns the scheme and its clock."""

    def ring(entries: list[dict[str, Any]]) -> KeyRing:
        return KeyRing(
            KnownKey(e["owner"], keys[e["key"]].public_key(), e["serial"]) for e in entries
        )

    def make(cls: Any, spec: dict[str, Any], **extra: Any) -> tuple[Any, FakeClock]:
        clock = FakeClock()
        guard = ReplayGuard(clock, MemoryNonceStore(clock), spec["window_seconds"])
        mine = spec["own"]
        if "platform_peers" in spec:
            extra["platform_peers"] = ring(spec["platform_peers"])
        scheme = cls(
            own=OwnKey(mine["owner"], keys[mine["key"]], mine["serial"]),
            peers=ring(spec["peers"]),
            guard=guard,
            **extra,
        )
        return scheme, clock

    return make


def run_case(
    verify: Callable[[ChannelRequest], Verified], clock: FakeClock, case: dict[str, Any]
) -> None:
    """Verify ``repeat`` times at ``now``: all but the last pass, the last ends in ``expect``."""
    clock.now = case["now"]
    request = to_request(case["request"])
    for _ in range(case["repeat"] - 1):
        verify(request)
    if case["expect"] == "ok":
        assert isinstance(verify(request), Verified)
        return
    with pytest.raises(SignatureError) as refused:
        verify(request)
    assert refused.value.reason == case["expect"]
    assert str(refused.value) == case["expect"]  # the message never carries request data


@pytest.fixture
def check() -> Callable[[Callable[[ChannelRequest], Verified], FakeClock, dict[str, Any]], None]:
    return run_case
