"""The formats of scan-to-sign-in (docs/scan-signin.md "Formats"): vectors and bounded
property tests of the parsers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from idp.qr import render
from idp.scan_signin import formats


def test_reference_round_trips_and_fits_a_small_symbol() -> None:
    reference = formats.new_reference()
    text = formats.qr_text(reference)
    assert formats.parse_qr_text(text) == reference and len(text) == 44
    assert render.symbol(text).version <= 3


def test_vector() -> None:
    text = "ESSC:SIGNIN:MZXW6YTBOI5DEMBRGAYTCMJRGEYTCMJR"
    assert formats.parse_qr_text(text) == "MZXW6YTBOI5DEMBRGAYTCMJRGEYTCMJR"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_parse_never_raises_and_accepts_only_the_format(value: str) -> None:
    parsed = formats.parse_qr_text(value)
    assert parsed is None or value == formats.qr_text(parsed)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(), st.booleans(), st.floats(), st.text(max_size=4), st.none()))
def test_numbers(value: object) -> None:
    parsed = formats.parse_number(value)
    assert parsed is None or (type(value) is int and 10 <= parsed <= 99)


def test_choices_hold_the_number_once() -> None:
    for _ in range(200):
        number, choices = formats.number_and_choices()
        assert number in choices and len(set(choices)) == 3
        assert all(10 <= c <= 99 for c in choices)


@pytest.mark.parametrize(
    ("pc", "phone", "far"),
    [
        ("203.0.113.0/24", "203.0.200.0/24", False),
        ("203.0.113.0/24", "198.51.100.0/24", True),
        ("2001:db8:1::/48", "2001:db8:2::/48", False),
        ("203.0.113.0/24", "2001:db8:2::/48", True),
        ("unknown", "203.0.113.0/24", True),
    ],
)
def test_far_apart(pc: str, phone: str, far: bool) -> None:
    assert formats.far_apart(pc, phone) is far


def test_network_of_keeps_only_the_prefix() -> None:
    assert formats.network_of("203.0.113.77") == "203.0.113.0/24"
    assert formats.network_of("2001:db8:1:2::5") == "2001:db8:1::/48"
    assert formats.network_of("nonsense") == formats.network_of(None) == "unknown"
