"""``bench.memory``: the RSS table ``make bench`` ends with (issue 12's 120 MB a worker)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench import memory


def test_a_process_group_reads_as_its_leader_and_its_workers() -> None:
    # A leader of its own group with two children that hold ~30 MB each.
    hold = "b = bytearray(30 * 1024 * 1024); import time; time.sleep(30)"
    leader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            f"kids = [subprocess.Popen([sys.executable, '-c', {hold!r}]) for _ in range(2)]\n"
            "print('up', flush=True); time.sleep(30)",
        ],
        start_new_session=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert leader.stdout is not None and leader.stdout.readline() == "up\n"
        for _ in range(100):  # the children touch their 30 MB after they start
            found = memory.group("probe", leader.pid)
            if len(found.workers) == 2 and found.largest_worker_mb > 30:
                break
            time.sleep(0.05)
        assert found.master is not None and found.master.pid == leader.pid
        assert len(found.workers) == 2
        assert all(30 < w.rss_mb < 100 and 0 < w.pss_mb <= w.rss_mb for w in found.workers)
    finally:
        os.killpg(leader.pid, 9)
        leader.wait()
        if leader.stdout is not None:
            leader.stdout.close()


def test_the_verdict_compares_the_largest_worker_with_the_ceiling() -> None:
    def server(name: str, *rss: float) -> memory.ServerMemory:
        workers = tuple(memory.Resident(i, "w", mb, mb / 2) for i, mb in enumerate(rss, 2))
        return memory.ServerMemory(name, memory.Resident(1, "m", 20.0, 10.0), workers)

    table = memory.lines([server("lean", 80, 119.9), server("fat", 90, 131), server("gone")])
    assert "| lean | w 80 (40), w 120 (60) | 120 MB | m 20 MB | yes |" in table
    assert "| fat | w 90 (45), w 131 (66) | 131 MB | m 20 MB | no |" in table
    assert "| gone | none | 0 MB | m 20 MB | no |" in table
    assert memory.lines([]) == []
