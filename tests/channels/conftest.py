"""Fixtures for the channel-signing tests: TEST-ONLY keys, a settable clock, a nonce store.

The vectors in ``tests/vectors/channels`` describe each verifier (``own`` key, ``peers``,
``window_seconds``) and each case (``now``, ``request``, ``expect``, ``repeat``); the fixtures
here turn those descriptions into a scheme's ``Verifier`` (the public keys of ``peers``) or its
``Signer`` (the ``own`` key's signing function) and run the cases.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from channels.signing import ChannelKeys
from channels.signing import ChannelRequest
from channels.signing import KnownKey
from channels.signing import OwnKey
from channels.signing import ReplayGuard
from channels.signing import SignatureError
from channels.signing import Verified
from keys.notification import rsa_signer
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
def make_verifier(keys: dict[str, rsa.RSAPrivateKey]) -> Callable[..., tuple[Any, FakeClock]]:
    """Build a ``Verifier`` class from a vector ``verifier`` spec (public keys only)."""

    def directory(entries: list[dict[str, Any]]) -> ChannelKeys:
        return ChannelKeys(
            KnownKey(e["owner"], keys[e["key"]].public_key(), e["serial"]) for e in entries
        )

    def make(cls: Any, spec: dict[str, Any]) -> tuple[Any, FakeClock]:
        clock = FakeClock()
        guard = ReplayGuard(clock, MemoryNonceStore(clock), spec["window_seconds"])
        if "platform_peers" in spec:
            return cls(directory(spec["peers"]), guard, directory(spec["platform_peers"])), clock
        return cls(directory(spec["peers"]), guard), clock

    return make


@pytest.fixture
def make_signer(keys: dict[str, rsa.RSAPrivateKey]) -> Callable[..., tuple[Any, FakeClock]]:
    """Build a ``Signer`` class from a vector spec's ``own`` key, through its signing function."""

    def make(cls: Any, spec: dict[str, Any], **extra: Any) -> tuple[Any, FakeClock]:
        clock, mine = FakeClock(), spec["own"]
        own = OwnKey(mine["owner"], rsa_signer(keys[mine["key"]]), mine["serial"])
        return cls(own, clock, **extra), clock

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
