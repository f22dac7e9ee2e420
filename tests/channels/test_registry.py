"""The per-process client cache: TTL on an injected clock, ``forget``, bounded size."""

from __future__ import annotations

from dataclasses import replace

from channels.client import Client
from channels.kinds import ChannelKind
from channels.registry import ClientRegistry
from tests.support import FakeClock

BASE = Client(
    client_id="c1",
    name="portal",
    kind=ChannelKind.PORTAL,
    status="active",
    redirect_uris=("https://rp.example/cb",),
    grant_types=frozenset({"authorization_code"}),
    scopes=frozenset({"openid"}),
    token_endpoint_auth_method="client_secret_basic",
    secret_hash="h",
    jwks=None,
    jwks_uri=None,
    sector_identifier="rp.example",
    subject_type="pairwise",
    id_token_signed_response_alg="ES256",
    rotate_refresh_tokens=True,
)


class Source:
    """A storage stand-in that counts look-ups; its clients can be changed behind the cache."""

    def __init__(self) -> None:
        self.clients: dict[str, Client] = {"c1": BASE}
        self.loads: list[str] = []

    def load_client(self, client_id: str) -> Client | None:
        self.loads.append(client_id)
        return self.clients.get(client_id)


def registry(source: Source, clock: FakeClock, **kwargs: int) -> ClientRegistry:
    return ClientRegistry(source, ttl=30, clock=clock, **kwargs)


def test_cached_until_the_ttl_passes() -> None:
    source, clock = Source(), FakeClock()
    clients = registry(source, clock)
    assert clients.get("c1") is BASE
    source.clients["c1"] = replace(BASE, status="suspended")
    clock.advance(29.9)
    assert clients.get("c1") is BASE and source.loads == ["c1"]
    clock.advance(0.1)
    assert clients.get("c1").status == "suspended"  # type: ignore[union-attr]
    assert source.loads == ["c1", "c1"]


def test_unknown_clients_are_cached_too() -> None:
    """A flood of requests for a missing client_id must not reach the database each time."""
    source, clock = Source(), FakeClock()
    clients = registry(source, clock)
    assert clients.get("nobody") is None and clients.get("nobody") is None
    assert source.loads == ["nobody"]
    source.clients["nobody"] = replace(BASE, client_id="nobody")
    clock.advance(30)
    assert clients.get("nobody") is not None


def test_forget_drops_the_entry_at_once() -> None:
    source, clock = Source(), FakeClock()
    clients = registry(source, clock)
    clients.get("c1")
    source.clients["c1"] = replace(BASE, redirect_uris=("https://rp.example/new",))
    clients.forget("c1")
    assert clients.get("c1").redirect_uris == ("https://rp.example/new",)  # type: ignore[union-attr]
    clients.forget("never-seen")  # no error


def test_size_is_bounded() -> None:
    source, clock = Source(), FakeClock()
    clients = registry(source, clock, max_entries=3)
    for i in range(10):
        clients.get(f"unknown-{i}")
        assert len(clients._entries) <= 3
    assert len(source.loads) == 10
    clients.get("c1")
    clients.get("c1")
    assert source.loads.count("c1") == 1, "the newest entry survives the clear"


def test_inactive_clients_are_not_cached() -> None:
    """An operator's approval in another process counts at the next request (docs/onboarding.md)."""
    source, clock = Source(), FakeClock()
    source.clients["c1"] = replace(BASE, status="pending")
    clients = registry(source, clock)
    assert not clients.get("c1").active  # type: ignore[union-attr]
    source.clients["c1"] = BASE
    assert clients.get("c1") is BASE
    assert source.loads == ["c1", "c1"]
