"""When to try a failed notification again: capped exponential backoff with "equal jitter".

Marc Brooker, "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015): the delay before
attempt n+1 is ``d = min(cap, base * 2**(n-1))``, and "equal jitter" waits ``d/2 + U(0, d/2)``.
Equal rather than full jitter keeps a floor under every delay, so ``max_attempts`` always spans
a known minimum time (docs/notifications.md has the schedule) and a channel that is down for an
hour cannot be parked by a run of unlucky draws.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

#: Draws a float in [0, 1); injected so tests are deterministic.
Uniform = Callable[[], float]

_SYSTEM = random.SystemRandom()


@dataclass(frozen=True)
class Backoff:
    """``delay(attempts)``: seconds to wait after the ``attempts``-th failed attempt."""

    base_seconds: int
    cap_seconds: int
    uniform: Uniform = _SYSTEM.random

    def __post_init__(self) -> None:
        if not 0 < self.base_seconds <= self.cap_seconds:
            raise ValueError("backoff needs 0 < base <= cap")

    def ceiling(self, attempts: int) -> int:
        """``min(cap, base * 2**(attempts-1))``, without building huge integers."""
        exponent = min(max(attempts - 1, 0), 40)
        return min(self.cap_seconds, self.base_seconds * (1 << exponent))

    def delay(self, attempts: int, retry_after: int | None = None) -> int:
        """Equal jitter; a ``Retry-After`` (RFC 9110 10.2.3) may lengthen it, up to the cap."""
        ceiling = self.ceiling(attempts)
        jittered = ceiling / 2 + self.uniform() * ceiling / 2
        if retry_after is not None:
            jittered = max(jittered, min(retry_after, self.cap_seconds))
        return max(1, round(jittered))

    def minimum_span(self, attempts: int) -> int:
        """The shortest time ``attempts`` failures can take: every draw at the floor."""
        return sum(self.ceiling(n) // 2 for n in range(1, attempts))
