"""The pure helper of ``bench.portal_signin``: nearest-rank percentiles of the pair latencies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from bench.portal_signin import percentile


def test_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([1.0, 2.0, 3.0], 0.5) == 2.0


def test_no_values() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=300), st.floats(0.01, 1.0))
def test_is_a_value_with_that_share_at_or_below(values: list[float], share: float) -> None:
    ordered = sorted(values)
    p = percentile(ordered, share)
    assert p in ordered
    assert sum(1 for v in ordered if v <= p) >= share * len(ordered) - 1e-9
