"""Fixtures of the family tests: the channel, a father and a daughter."""

from __future__ import annotations

import pytest

from idp.provider import Provider
from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.helpers import person


@pytest.fixture
def channel(provider: Provider) -> Channel:
    return Channel(provider)


@pytest.fixture
def father(provider: Provider) -> Person:
    return person(provider, 1, born="19500301", name="李建国")


@pytest.fixture
def daughter(provider: Provider) -> Person:
    return person(provider, 2, born="19800101", name="李小红")
