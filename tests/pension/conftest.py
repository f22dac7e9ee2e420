"""The pension tests reuse the family world: the channel, a father and a daughter."""

from __future__ import annotations

from tests.family.conftest import channel
from tests.family.conftest import daughter
from tests.family.conftest import father

__all__ = ["channel", "daughter", "father"]
