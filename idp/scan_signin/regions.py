"""The PC's approximate location, as the phone shows it before the citizen approves
(RFC 10027, cross-device flows: show "the PC's approximate location and network").

essc-idp ships no GeoIP data (no network at runtime, and a province's own address plan is better
than a commercial database): an operator points ``ESSC_NETWORK_REGIONS`` at a CSV file of
``cidr,region`` lines (``203.0.113.0/24,浙江省杭州市``), from their registry or a GeoIP export.
Without one, only what every network knows is said: this machine, or a private network.
Only the stored network prefix (idp.scan_signin.formats.network_of) is ever looked up. No Flask.
"""

from __future__ import annotations

import csv
import ipaddress
from pathlib import Path

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: What needs no table: the demo's loopback, and the ranges RFC 1918 / RFC 4193 keep private.
BUILT_IN: tuple[tuple[str, str], ...] = (
    ("127.0.0.0/8", "本机"),
    ("::1/128", "本机"),
    ("10.0.0.0/8", "内部网络"),
    ("172.16.0.0/12", "内部网络"),
    ("192.168.0.0/16", "内部网络"),
    ("fc00::/7", "内部网络"),
)
#: A region name longer than this is a broken table, not a place.
MAX_REGION = 64


class NetworkRegions:
    """Longest-prefix match of a network prefix to a region name."""

    def __init__(self, entries: list[tuple[Network, str]]) -> None:
        self._by_length: dict[tuple[int, int], dict[Network, str]] = {}
        for network, region in entries:
            key = (network.version, network.prefixlen)
            self._by_length.setdefault(key, {})[network] = region
        self._lengths = sorted(self._by_length, key=lambda k: -k[1])

    @classmethod
    def load(cls, path: str) -> NetworkRegions:
        """The built-in ranges, then the operator's file (its lines win where more specific);
        a malformed line stops the start with its line number (``ValueError``)."""
        entries = [(ipaddress.ip_network(c), r) for c, r in BUILT_IN]
        if path:
            entries += _read(Path(path))
        return cls(entries)

    def locate(self, prefix: str) -> str | None:
        """The region of the most specific entry that holds all of ``prefix``; None if none."""
        found = self._match(prefix)
        return found[1] if found else None

    def apart(self, pc_prefix: str, phone_prefix: str) -> bool:
        """Both placed by the operator's table (not the built-ins) in regions neither of which
        holds the other: a phone in 浙江省 is not far from a PC in 浙江省杭州市."""
        pc, phone = self._match(pc_prefix), self._match(phone_prefix)
        if pc is None or phone is None or {pc[1], phone[1]} & _BUILT_IN_NAMES:
            return False
        return not (pc[0].overlaps(phone[0]))

    def _match(self, prefix: str) -> tuple[Network, str] | None:
        try:
            network = ipaddress.ip_network(prefix)
        except ValueError:
            return None
        for version, length in self._lengths:
            if version != network.version or length > network.prefixlen:
                continue
            holder = network.supernet(new_prefix=length)
            region = self._by_length[(version, length)].get(holder)
            if region is not None:
                return holder, region
        return None


_BUILT_IN_NAMES = {region for _, region in BUILT_IN}


def _read(path: Path) -> list[tuple[Network, str]]:
    entries: list[tuple[Network, str]] = []
    with path.open(encoding="utf-8", newline="") as f:
        for number, row in enumerate(csv.reader(f), start=1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) != 2 or not row[1].strip() or len(row[1].strip()) > MAX_REGION:
                raise ValueError(f"{path}:{number}: expected 'cidr,region'")
            try:
                network = ipaddress.ip_network(row[0].strip())
            except ValueError:
                raise ValueError(f"{path}:{number}: {row[0]!r} is not a network") from None
            entries.append((network, row[1].strip()))
    return entries
