"""The e-card PIN: each rule of ``check_pin_rules`` and the argon2id hasher with its decoy."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher

from idp.cardholders.pin import PinHasher
from idp.cardholders.pin import WeakPin
from idp.cardholders.pin import check_pin_rules

ID_NUMBER = "11010519491231002X"
SHAPE = "the PIN must be exactly 6 digits"
RUN = "the PIN must not be a run of consecutive digits"
TRIPLE = "the PIN must not repeat a digit three times in a row"
PATTERN = "the PIN must not repeat a pattern"
FROM_ID = "the PIN must not be taken from the ID number"


@pytest.mark.parametrize(
    ("pin", "reason"),
    [
        ("", SHAPE),
        ("80241", SHAPE),
        ("8024135", SHAPE),
        ("80241a", SHAPE),
        (" 80241", SHAPE),
        ("８０２４１３", SHAPE),  # full-width digits: isdigit() but not ASCII
        ("٨٠٢٤١٣", SHAPE),  # Arabic-Indic digits
        ("123456", RUN),
        ("012345", RUN),
        ("456789", RUN),
        ("876543", RUN),
        ("543210", RUN),
        ("111258", TRIPLE),
        ("258111", TRIPLE),
        ("259990", TRIPLE),
        ("000000", TRIPLE),
        ("121212", PATTERN),
        ("505050", PATTERN),
        ("123123", PATTERN),
        ("907907", PATTERN),
        ("112233", PATTERN),
        ("774411", PATTERN),
        ("194912", FROM_ID),  # the birth year and month
        ("491231", FROM_ID),  # the birth date
        ("231002", FROM_ID),  # the sequence number
    ],
)
def test_weak_pins(pin: str, reason: str) -> None:
    with pytest.raises(WeakPin) as caught:
        check_pin_rules(pin, ID_NUMBER)
    assert caught.value.reason == reason


@pytest.mark.parametrize("pin", ["802413", "135790", "901234", "975318", "110220", "246824"])
def test_acceptable_pins(pin: str) -> None:
    check_pin_rules(pin, ID_NUMBER)


@pytest.fixture(scope="module")
def hasher() -> PinHasher:
    return PinHasher(memory_kib=1024, time_cost=1)


def test_hash_is_argon2id_with_the_configured_cost(hasher: PinHasher) -> None:
    stored = hasher.hash("802413")
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert "802413" not in stored
    assert hasher.hash("802413") != stored, "each hash has its own salt"


def test_default_cost_is_owasp_minimum() -> None:
    assert PinHasher().hash("802413").startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_verify(hasher: PinHasher) -> None:
    stored = hasher.hash("802413")
    assert hasher.verify(stored, "802413")
    assert not hasher.verify(stored, "802414")
    assert not hasher.verify(stored, "")


@pytest.mark.parametrize("stored", ["", "not-a-hash", "$argon2id$v=19$m=1024,t=1,p=1$broken"])
def test_malformed_stored_hash_is_a_failure_not_an_error(hasher: PinHasher, stored: str) -> None:
    assert not hasher.verify(stored, "802413")


def test_unknown_card_runs_the_decoy(hasher: PinHasher, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown card costs one argon2id verification, like a known one, and never succeeds."""
    calls: list[str] = []
    real = PasswordHasher.verify

    def spy(self: PasswordHasher, stored: Any, pin: Any) -> Any:
        calls.append(stored)
        return real(self, stored, pin)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    assert not hasher.verify(None, "000000"), "the decoy's own PIN must not sign anyone in"
    assert not hasher.verify(None, "802413")
    assert len(calls) == 2 and calls[0] == calls[1] and calls[0].startswith("$argon2id$")
