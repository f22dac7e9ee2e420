"""The PC's approximate location (idp.scan_signin.regions): built-in ranges, the operator's
``cidr,region`` table by longest prefix, "far" across regions, and a broken table refused at
start (ESSC_NETWORK_REGIONS, read when the provider starts)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from idp.provider import _network_regions as network_regions
from idp.scan_signin.regions import NetworkRegions
from idp.settings import ConfigurationError

TABLE = """# province, then a city inside it
203.0.0.0/16,浙江省
203.0.113.0/24,浙江省杭州市
198.51.0.0/16,北京市
2001:db8::/32,上海市
"""


PRIVATE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


@pytest.fixture
def regions(tmp_path: Path) -> NetworkRegions:
    path = tmp_path / "regions.csv"
    path.write_text(TABLE, encoding="utf-8")
    return NetworkRegions.load(str(path))


def test_longest_prefix_wins(regions: NetworkRegions) -> None:
    assert regions.locate("203.0.113.0/24") == "浙江省杭州市"
    assert regions.locate("203.0.7.0/24") == "浙江省"
    assert regions.locate("2001:db8:1::/48") == "上海市"
    assert regions.locate("192.0.2.0/24") is None


def test_built_in_ranges_need_no_table() -> None:
    built_in = NetworkRegions.load("")
    assert built_in.locate("127.0.0.0/24") == "本机"
    assert built_in.locate("192.168.1.0/24") == "内部网络"
    assert built_in.locate("203.0.113.0/24") is None
    assert built_in.locate("unknown") is None


def test_far_only_between_two_located_regions(regions: NetworkRegions) -> None:
    assert regions.apart("203.0.113.0/24", "198.51.100.0/24")
    assert not regions.apart("203.0.113.0/24", "203.0.114.0/24"), "both in 浙江省"
    assert not regions.apart("203.0.113.0/24", "192.0.2.0/24"), "one side unknown"
    assert not regions.apart("127.0.0.0/24", "203.0.113.0/24"), "built-ins are no place"


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("203.0.113.5/24,杭州", "is not a network"),
        ("not-a-network,杭州", "is not a network"),
        ("203.0.113.0/24", "expected 'cidr,region'"),
        ("203.0.113.0/24,", "expected 'cidr,region'"),
        ("203.0.113.0/24," + "长" * 65, "expected 'cidr,region'"),
    ],
)
def test_a_broken_table_stops_the_start_with_its_line(
    tmp_path: Path, line: str, words: str
) -> None:
    path = tmp_path / "regions.csv"
    path.write_text(f"# header\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as refused:
        network_regions(str(path))
    assert "regions.csv:2: " in str(refused.value) and words in str(refused.value)


def test_a_missing_table_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="ESSC_NETWORK_REGIONS"):
        network_regions(str(tmp_path / "absent.csv"))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_prefix_text_locates_or_says_none(prefix: str) -> None:
    found = NetworkRegions.load("").locate(prefix)
    assert found is None or isinstance(found, str)


@settings(max_examples=200, deadline=None)
@given(st.ip_addresses(v=4))
def test_every_private_address_is_the_private_network(address: ipaddress.IPv4Address) -> None:
    prefix = str(ipaddress.ip_network(f"{address}/24", strict=False))
    found = NetworkRegions.load("").locate(prefix)
    if address.is_loopback:
        assert found == "本机"
    elif any(
        address in ipaddress.ip_network(n)
        for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
    ):
        assert found == "内部网络"
    else:
        assert found is None
