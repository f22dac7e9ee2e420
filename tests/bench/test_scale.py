"""The pure parts of ``bench.scale``: size labels, the people it draws, the ratio verdict."""

from __future__ import annotations

import argparse

from bench import wrk
from bench.report import Result
from bench.scale import Side
from bench.scale import label
from bench.scale import render
from bench.scale_clients import People
from idp.cardholders.gb11643 import is_valid_id_number


def test_labels() -> None:
    assert [label(n) for n in (10_000, 10_000_000, 1_500, 12_345)] == [
        "10k",
        "10m",
        "1500",
        "12345",
    ]


def test_people_are_drawn_from_the_whole_data_set_and_the_same_each_time() -> None:
    drawn = People(10_000_000, 1).draw(200, "salt")
    assert drawn == People(10_000_000, 1).draw(200, "salt")
    assert max(c.index for c in drawn) > 5_000_000 > min(c.index for c in drawn)
    assert all(is_valid_id_number(c.id_number) for c in drawn)


def _result(side: str, rate: float) -> Result:
    run = wrk.Run(10.0, int(rate * 10), int(rate * 10), 1.0, 2.0, {}, {}, {})
    return Result(side, "ecard status", "req", [run], run)


def test_the_ratio_is_the_large_size_over_the_small_and_says_whether_it_is_within() -> None:
    args = argparse.Namespace(
        server="granian", workers=2, redis_url="", load_before="0 0 0", threads=1,
        connections=32, warmup=3, runs=3, duration=10, signins=1, issuances=1, client_threads=1,
    )  # fmt: skip
    sides = [Side(n, "", {}, None, None, 0, {}) for n in (10_000, 10_000_000)]  # type: ignore[arg-type]
    near = render(args, sides, [_result("10k", 1000.0), _result("10m", 900.0)])
    far = render(args, sides, [_result("10k", 1000.0), _result("10m", 700.0)])
    assert "| 0.90 (within 1.2x) | 0.00 |" in near
    assert "| 0.70 (outside 1.2x) | 0.00 |" in far
