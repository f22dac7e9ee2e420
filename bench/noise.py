"""How much of the machine other work took while we measured, from /proc (Linux only).

The machine is shared, so each run records the CPU time spent by processes that are neither the
server under test nor wrk nor this harness, as a share of all CPUs over the run. Before a run the
harness waits, for a bounded time, until the machine looks quiet.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
CPUS = len(os.sched_getaffinity(0))


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent running tasks since boot, plus time stolen by
    the hypervisor. Interrupt time is left out: during a run it is mostly our own loopback
    traffic, which the kernel charges to no process."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, _irq, _softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + steal) / TICKS


def group_seconds(pgid: int, extra: tuple[int, ...] = ()) -> float:
    """CPU seconds of the live processes in process group ``pgid`` (a server and its workers)
    and of the processes ``extra`` names (the Redis server a peer keeps its state in)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            after = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(after[2]) == pgid or int(stat.parent.name) in extra:
            total += int(after[11]) + int(after[12])
    return total / TICKS


def pids_named(command: str) -> tuple[int, ...]:
    """The pids whose command name (``/proc/PID/comm``) is ``command``."""
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == command:
                found.append(int(comm.parent.name))
        except OSError:
            continue
    return tuple(found)


def _own_seconds() -> float:
    self_, children = (
        resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return self_.ru_utime + self_.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Meter:
    foreign: float = 0.0  # share of all CPUs used by other work during the block
    server: float = 0.0  # CPU seconds of the server under test during the block


@contextmanager
def meter(pgid: int, extra: tuple[int, ...] = ()) -> Iterator[Meter]:
    """Measure the server's CPU and other work during the block (wrk must be a waited-for
    child of this process)."""
    result = Meter()
    start = time.monotonic(), busy_seconds(), group_seconds(pgid, extra), _own_seconds()
    yield result
    elapsed = time.monotonic() - start[0]
    result.server = group_seconds(pgid, extra) - start[2]
    ours = result.server + (_own_seconds() - start[3])
    other = max(0.0, busy_seconds() - start[1] - ours)
    result.foreign = other / (elapsed * CPUS) if elapsed > 0 else 0.0


def wait_quiet(limit: float, threshold: float = 0.15) -> float:
    """Wait up to ``limit`` seconds for a 1 s window with less than ``threshold`` of all CPUs
    busy (the server is idle then, so that is other work). Returns the last window's share."""
    deadline = time.monotonic() + limit
    share = 1.0
    while True:
        before, t0 = busy_seconds(), time.monotonic()
        time.sleep(1)
        share = (busy_seconds() - before) / ((time.monotonic() - t0) * CPUS)
        if share < threshold or time.monotonic() >= deadline:
            return share
