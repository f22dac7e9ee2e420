"""Run wrk with one of the Lua scripts beside this file and read back its JSON summary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MARKER = "BENCH_JSON "


class WrkError(RuntimeError):
    """wrk failed, printed no summary, or saw errors that make the run meaningless."""


@dataclass(frozen=True)
class Load:
    """How hard to push: wrk's threads, open connections, and seconds."""

    threads: int
    connections: int
    duration: int
    timeout: int = 5


@dataclass(frozen=True)
class Run:
    """One wrk run. ``units`` is what the scenario counts (requests, or round trips)."""

    seconds: float
    requests: int
    units: int
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    counters: dict[str, int]
    notes: dict[str, str]
    #: Share of all CPUs that other work on the machine took during the run (``bench.noise``).
    foreign_cpu: float = 0.0
    #: CPU seconds the server under test (all its processes) spent during the run.
    server_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.units / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_unit(self) -> float:
        return self.server_cpu * 1000 / self.units if self.units else 0.0


def wrk_path() -> str:
    found = shutil.which("wrk")
    if not found:
        raise WrkError("wrk is not installed: apt-get install -y wrk (make bench does this)")
    return found


def run(url: str, script: str, load: Load, env: dict[str, str]) -> dict[str, Any]:
    """Run wrk once against ``url`` (loopback only) and return the script's summary."""
    if not url.startswith("http://127.0.0.1:"):
        raise WrkError("the benchmark only ever targets 127.0.0.1")
    command = [
        wrk_path(),
        f"--threads={load.threads}",
        f"--connections={load.connections}",
        f"--duration={load.duration}s",
        f"--timeout={load.timeout}s",
        f"--script={HERE / script}",
        url,
    ]
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        command,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=load.duration + 60,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith(MARKER):
            return dict(json.loads(line[len(MARKER) :]))
    raise WrkError(f"wrk exited {done.returncode} without a summary:\n{done.stdout}{done.stderr}")


def to_run(summary: dict[str, Any], units_counter: str | None = None) -> Run:
    """Turn a summary into a ``Run``; ``units_counter`` names the Lua counter to rate."""
    counters = {k: int(v) for k, v in summary.get("counters", {}).items()}
    requests = int(summary["requests"])
    percentiles = summary["latency_us"]["percentiles"]
    return Run(
        seconds=summary["duration_us"] / 1e6,
        requests=requests,
        units=counters[units_counter] if units_counter else requests,
        p50_ms=percentiles["50"] / 1000,
        p99_ms=percentiles["99"] / 1000,
        errors={k: int(v) for k, v in summary["errors"].items()},
        counters=counters,
        notes={k: str(v) for k, v in summary.get("notes", {}).items()},
    )


def check(run: Run, what: str) -> None:
    """A run with failed responses measures the error path, not the endpoint: refuse it."""
    bad = run.errors["status"] + run.errors["timeout"] + run.errors["connect"]
    bad += run.counters.get("unexpected", 0)
    if run.requests == 0 or bad > run.requests * 0.001:
        detail = run.notes.get("first_unexpected", "")
        raise WrkError(f"{what}: {bad} bad responses of {run.requests} {run.errors} {detail}")


def median(runs: list[Run]) -> Run:
    """The run with the median rate (3 runs: the middle one), reported whole."""
    ordered = sorted(runs, key=lambda r: r.rate)
    return ordered[(len(ordered) - 1) // 2]
