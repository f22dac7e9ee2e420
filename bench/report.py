"""The machine, the figures and the verdict, as one markdown document."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bench import peer as peer_server
from bench.statements import Counted
from bench.wrk import Load
from bench.wrk import Run

REPO = Path(__file__).resolve().parent.parent
TARGET_RATE = 2000.0
TARGET_RATIO = 0.60
#: Above this share of the machine taken by other work, a figure is flagged.
NOISY = 0.10


@dataclass(frozen=True)
class Result:
    server: str
    scenario: str
    unit: str
    runs: list[Run]
    median: Run


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _wrk_version() -> str:
    try:
        done = subprocess.run(
            ["wrk", "-v"],  # noqa: S607 - wrk from PATH, as make bench installs it
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return "not installed"
    first = (done.stdout or done.stderr).splitlines()
    return first[0].split(" Copyright")[0] if first else "unknown"


def _git(*args: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        ["git", "-C", str(REPO), *args],  # noqa: S607 - git from PATH
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return done.stdout.strip()


def _commit() -> str:
    """The commit measured, and whether the server's code differs from it."""
    commit = _git("log", "-1", "--format=%h %s")
    if not commit:
        return "not a git checkout"
    dirty = _git("status", "--porcelain", "--", "idp", "keys", "channels", "templates")
    return commit + (" (plus uncommitted changes to the server)" if dirty else "")


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def command_line(module: str = "bench.run") -> str:
    args = " ".join(sys.argv[1:])
    command = f".venv/bin/python -m {module} {args}".strip()
    return f"make bench  # {command}" if os.environ.get("MAKELEVEL") else command


def machine(servers: list[str], code_label: str = "", peer: str | None = None) -> list[str]:
    versions = ", ".join(f"{name} {_version(name)}" for name in servers)
    peer_line = (
        [
            f"- Peer: node-oidc-provider {peer_server.version()} on Node.js "
            f"{peer_server.node_version()}, 2 processes (node:cluster), state in Redis"
        ]
        if peer
        else []
    )
    return [
        *peer_line,
        f"- CPU: {os.cpu_count()} logical CPUs (nproc {len(os.sched_getaffinity(0))}), "
        f"{_cpu_model()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.release()}",
        f"- Server: {versions}; Flask {_version('flask')}, Werkzeug {_version('werkzeug')}",
        f"- Load generator: {_wrk_version()}",
        f"- Code: {code_label or _commit()}",
    ]


def _row(result: Result) -> str:
    rates = sorted(r.rate for r in result.runs)
    m = result.median
    return (
        f"| {result.server} | {result.scenario} | {m.rate:,.0f} {result.unit}/s "
        f"| {m.p50_ms:.2f} | {m.p99_ms:.2f} | {rates[0]:,.0f} – {rates[-1]:,.0f} "
        f"| {m.cpu_ms_per_unit:.3f} | {m.requests:,} | {m.foreign_cpu:.0%} |"
    )


def _find(results: list[Result], server: str, scenario: str) -> Result | None:
    return next((r for r in results if r.server == server and r.scenario == scenario), None)


def verdicts(results: list[Result], servers: list[str]) -> list[str]:
    lines = []
    for server in servers:
        cc = _find(results, server, "client_credentials")
        hello = _find(results, server, "hello (ceiling)")
        if not cc or not hello:
            continue
        ratio = cc.median.rate / hello.median.rate
        met = cc.median.rate >= TARGET_RATE and ratio >= TARGET_RATIO
        noisy = max(cc.median.foreign_cpu, hello.median.foreign_cpu) > NOISY
        lines.append(
            f"- {server}: client_credentials / hello = {cc.median.rate:,.0f} / "
            f"{hello.median.rate:,.0f} = **{ratio:.0%}**; target (>= {TARGET_RATE:,.0f} req/s "
            f"and >= {TARGET_RATIO:.0%}): **{'met' if met else 'not met'}**"
            + (" (other work during these runs: treat with care)" if noisy else "")
        )
    if len(servers) == 2:
        a, b = servers
        for scenario in ("client_credentials", "jwks", "authorization_code", "hello (ceiling)"):
            ra, rb = _find(results, a, scenario), _find(results, b, scenario)
            if ra and rb and rb.median.rate:
                lines.append(f"- {scenario}: {a} / {b} = {ra.median.rate / rb.median.rate:.2f}x")
    return lines


def peer_ratios(results: list[Result], servers: list[str], peer: str) -> list[str]:
    """essc-idp's rate over the peer's, per scenario and server, from this one run."""
    lines = []
    for scenario in ("client_credentials", "discovery", "jwks", "authorization_code", "refresh"):
        theirs = _find(results, peer, scenario)
        if not theirs or not theirs.median.rate:
            continue
        parts = []
        for server in servers:
            ours = _find(results, server, scenario)
            if ours:
                ratio = ours.median.rate / theirs.median.rate
                cpu = (
                    ours.median.cpu_ms_per_unit / theirs.median.cpu_ms_per_unit
                    if theirs.median.cpu_ms_per_unit
                    else 0.0
                )
                parts.append(f"{server} **{ratio:.2f}x** the rate, {cpu:.2f}x the CPU per unit")
        lines.append(f"- {scenario}: essc-idp / node-oidc-provider: " + "; ".join(parts))
    return lines


def statement_lines(counted: Counted | None) -> list[str]:
    if counted is None:
        return []
    return [
        f"- Authorization-code round trip, in-process (Flask test client, SQLite, "
        f"{counted.round_trips} round trips after a warm-up): "
        f"**{counted.statements_per_round_trip:.1f} SQL statements** and "
        f"{counted.commits_per_round_trip:.1f} commits per round trip, "
        f"{counted.cpu_ms_per_round_trip:.2f} ms of CPU per round trip (test client included)",
    ]


def render(
    results: list[Result],
    servers: list[str],
    load: Load,
    workers: int,
    extra: dict[str, str],
    *,
    code_label: str = "",
    peer: str | None = None,
    counted: Counted | None = None,
) -> str:
    lines = [
        "# essc-idp benchmark",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Command: `{command_line()}`",
        "",
        *machine(servers, code_label, peer),
        f"- Load: wrk -t{load.threads} -c{load.connections} -d{load.duration}s, "
        f"{extra['runs']} runs after a {extra['warmup']} s warm-up, median run shown; "
        f"{workers} server workers; everything on 127.0.0.1",
        f"- Load average before / after: {extra['load_before']} / {extra['load_after']}",
        "",
        "| server | scenario | rate (median run) | p50 ms | p99 ms | rate range, all runs "
        "| CPU ms per unit | requests | other work |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(_row(r) for r in results),
        "",
        "Round trip = GET /authorize (302 with a code) + POST /token; its latencies are "
        "per request, the two kinds mixed. Refresh = one POST /token with grant_type="
        "refresh_token, the presented token retired and a new one issued (rotation). "
        "Other work = share of all CPUs taken by processes "
        "other than the server, wrk and the harness during the median run (the machine is shared). "
        "CPU ms per unit = CPU time of all the server's processes (for the peer: and of "
        "redis-server) during the median run, over its requests or round trips.",
        "",
        *verdicts(results, servers),
        *(peer_ratios(results, servers, peer) if peer else []),
        *statement_lines(counted),
        "",
    ]
    return "\n".join(lines)
