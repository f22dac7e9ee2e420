"""Resident memory of a server's processes after the run, from /proc (Linux only).

Issue 12's target is a worker RSS of at most 120 MB after the benchmark. A server's process
group holds its master (the group leader, ``pid == pgid``) and its workers; the figure that
scales with the number of workers on a machine is the workers' RSS, so that is what the report
compares with the ceiling. The master's is shown beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Issue 12: every worker's RSS after the run at most this.
CEILING_MB = 120.0


@dataclass(frozen=True)
class Resident:
    """One process of a server's group: its pid, command name, resident set in MB, and its
    proportional share (PSS: each shared page divided among the processes that map it), which
    is what one more worker costs the machine."""

    pid: int
    command: str
    rss_mb: float
    pss_mb: float


@dataclass(frozen=True)
class ServerMemory:
    server: str
    master: Resident | None
    workers: tuple[Resident, ...]

    @property
    def largest_worker_mb(self) -> float:
        return max((w.rss_mb for w in self.workers), default=0.0)


def _status(pid_dir: Path) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in (pid_dir / "status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def _pss_kb(pid_dir: Path) -> int:
    for line in (pid_dir / "smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _pgid(pid_dir: Path) -> int:
    # /proc/PID/stat: the command may hold spaces and parentheses; the fields after its last ")"
    # are state, ppid, pgrp, ...
    return int((pid_dir / "stat").read_text().rsplit(")", 1)[1].split()[2])


def group(server: str, pgid: int) -> ServerMemory:
    """The RSS of every live process in process group ``pgid``."""
    master, workers = None, []
    for pid_dir in Path("/proc").glob("[0-9]*"):
        try:
            if _pgid(pid_dir) != pgid:
                continue
            status = _status(pid_dir)
            rss_kb = int(status.get("VmRSS", "0 kB").split()[0])
            pss_mb = _pss_kb(pid_dir) / 1024
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        resident = Resident(int(pid_dir.name), status.get("Name", "?"), rss_kb / 1024, pss_mb)
        if resident.pid == pgid:
            master = resident
        else:
            workers.append(resident)
    return ServerMemory(server, master, tuple(sorted(workers, key=lambda w: w.pid)))


def lines(memories: list[ServerMemory]) -> list[str]:
    """The report's section: each server's workers and master, and the verdict."""
    if not memories:
        return []
    out = [
        "",
        f"Resident memory after the run (VmRSS from /proc; target: each worker <= "
        f"{CEILING_MB:.0f} MB):",
        "",
        "| server | workers: RSS (PSS) MB each | largest worker RSS | master RSS | within target |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for m in memories:
        each = ", ".join(f"{w.command} {w.rss_mb:.0f} ({w.pss_mb:.0f})" for w in m.workers)
        master = f"{m.master.command} {m.master.rss_mb:.0f} MB" if m.master else "gone"
        verdict = "yes" if m.workers and m.largest_worker_mb <= CEILING_MB else "no"
        largest = f"{m.largest_worker_mb:.0f} MB"
        out.append(f"| {m.server} | {each or 'none'} | {largest} | {master} | {verdict} |")
    return out
