"""``python -m bench.portal_signin``: portal sign-in at load (issue 10's benchmark).

On one ``essc serve --production`` (Granian, 2 workers, SQLite, as ``bench.run``):

- ``scan create``: what a PC browser does to show a scan-to-sign-in QR. Each request needs its
  own interaction (the scan page is bound to the flow cookie of the browser that asked), so the
  unit is the pair ``GET /authorize`` (302 to the sign-in page, flow cookie set) +
  ``GET /interaction/<id>/scan`` (a new ``waiting`` request, its QR, the ``essc_scan``
  cookie), from ``--client-threads`` fresh browsers in this process (``requests``);
- ``scan status``: the ``--pages`` PC pages just made, all waiting at once, polled round-robin
  with their own cookies by wrk (``bench/scan_status.lua``);
- ``sso second portal``: the browser signed in at portal A (session cookie) asks for portal B,
  consented once: ``GET /authorize`` for B answers 302 with a code, ``POST /token`` redeems it
  (``bench/authorization_code.lua`` with B's client, query and cookie).

Reports rate, p50, p99 and the server's CPU milliseconds per unit (``bench.noise``), with the
load average. Writes ``bench/results/portal-signin.md``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests

from bench import instance as inst
from bench import noise
from bench import report
from bench import server as srv
from bench import signin
from bench import wrk
from bench.run import Bench
from bench.run import Target

RESULTS = Path(__file__).resolve().parent / "results" / "portal-signin.md"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.portal_signin", description=__doc__)
    p.add_argument("--server", choices=srv.SERVERS, default="granian")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--pages", type=int, default=1000, help="PC pages made, then polled")
    p.add_argument("--client-threads", type=int, default=8, help="browsers making pages at once")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (-t)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (-c)")
    # Short: the pages must still be waiting (120 s) when the last status run ends.
    p.add_argument("--duration", type=int, default=5, help="seconds per measured wrk run")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--quiet-wait", type=int, default=5)
    p.add_argument("--retries", type=int, default=1)
    p.add_argument("--output", type=Path, default=RESULTS)
    return p


@dataclass(frozen=True)
class Page:
    """One waiting PC page: its status path and the Cookie header of its browser."""

    status_path: str
    cookie: str


@dataclass(frozen=True)
class Created:
    pages: list[Page]
    latencies_ms: list[float]
    seconds: float
    server_cpu: float
    foreign_cpu: float

    @property
    def rate(self) -> float:
        return len(self.pages) / self.seconds

    @property
    def cpu_ms_per_pair(self) -> float:
        return self.server_cpu * 1000 / len(self.pages)


def percentile(ordered: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted values (``share`` 0.5 is the median)."""
    if not ordered:
        raise ValueError("no values")
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def open_scan_page(issuer: str, client: inst.Client) -> tuple[Page, float]:
    """A fresh browser: ``GET /authorize``, then the scan page it leads to; the pair's time."""
    _, challenge = signin.pkce_pair()
    browser = requests.Session()
    began = time.perf_counter()
    step = browser.get(
        f"{issuer}/authorize?{signin.query_for(client, challenge)}",
        allow_redirects=False,
        timeout=10,
    )
    signin_page = signin.redirect_location(step, "authorize")
    base = signin_page.split("?", 1)[0].rsplit("/", 1)[0]
    page = browser.get(f"{base}/scan", allow_redirects=False, timeout=10)
    elapsed = time.perf_counter() - began
    if page.status_code != 200 or "essc_scan" not in browser.cookies:
        raise signin.SignInError(f"scan page: {page.status_code} {page.text[:300]}")
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    path = base.removeprefix(issuer) + "/scan/status"
    return Page(path, cookie), elapsed * 1000


def create_pages(issuer: str, client: inst.Client, n: int, threads: int, pgid: int) -> Created:
    with noise.meter(pgid) as meter, ThreadPoolExecutor(threads) as pool:
        began = time.perf_counter()
        made = list(pool.map(lambda _: open_scan_page(issuer, client), range(n)))
        seconds = time.perf_counter() - began
    return Created(
        [m[0] for m in made], sorted(m[1] for m in made), seconds, meter.server, meter.foreign
    )


def _rows(created: Created, results: list[report.Result]) -> list[str]:
    lat = created.latencies_ms
    rows = [
        f"| scan create (pair) | {created.rate:,.0f} pairs/s | {percentile(lat, 0.5):.2f} "
        f"| {percentile(lat, 0.99):.2f} | {created.cpu_ms_per_pair:.3f} | {len(lat):,} pairs "
        f"| {created.foreign_cpu:.0%} |"
    ]
    for r in results:
        m = r.median
        rows.append(
            f"| {r.scenario} | {m.rate:,.0f} {r.unit}/s | {m.p50_ms:.2f} | {m.p99_ms:.2f} "
            f"| {m.cpu_ms_per_unit:.3f} | {m.requests:,} requests | {m.foreign_cpu:.0%} |"
        )
    return rows


def render(args: argparse.Namespace, created: Created, results: list[report.Result]) -> str:
    return "\n".join(
        [
            f"# Portal sign-in: scan-to-sign-in and SSO ({args.server}, {args.workers} workers)",
            "",
            *report.machine([args.server]),
            f"- Command: `{report.command_line('bench.portal_signin')}`",
            f"- Load average before / after: {args.load_before} / {report.loadavg()}",
            f"- scan create: {args.pages} fresh browsers, {args.client_threads} at once "
            "(Python requests in the harness); the others: wrk "
            f"-t{args.threads} -c{args.connections}, {args.warmup} s warm-up, "
            f"{args.runs} runs of {args.duration} s, median run",
            "",
            "| scenario | rate | p50 ms | p99 ms | server CPU ms/unit | measured | other work |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            *_rows(created, results),
            "",
        ]
    )


def _measure(args: argparse.Namespace, stack: ExitStack, tmp: Path) -> str:
    instance = inst.prepare(tmp, "essc.qr.verify")
    portal_b = inst.add_portal(instance.env, "bench-portal-b")
    command = srv.essc_command(args.server, args.workers, instance.port)
    ready = f"{instance.issuer}/.well-known/openid-configuration"
    essc = stack.enter_context(srv.serving(command, instance.env, ready, tmp / "server.log"))
    print(f"[{args.server}] up; signing in at portal A, then SSO to portal B once", flush=True)
    at_b = signin.second_portal(instance, signin.sign_in(instance), portal_b)
    create_pages(instance.issuer, instance.portal, 50, args.client_threads, essc.pid)  # warm-up
    created = create_pages(
        instance.issuer, instance.portal, args.pages, args.client_threads, essc.pid
    )
    print(
        f"  scan create: {created.rate:,.0f} pairs/s, CPU {created.cpu_ms_per_pair:.3f} ms/pair",
        flush=True,
    )
    poll_file = tmp / "pages.tsv"
    poll_file.write_text("".join(f"{p.status_path}\t{p.cookie}\n" for p in created.pages))
    sso_env = {
        "BENCH_AUTHORIZE_QUERY": at_b.authorize_query,
        "BENCH_COOKIE": at_b.cookie,
        "BENCH_AUTHORIZATION": portal_b.basic,
        "BENCH_REDIRECT_URI_ENC": quote(inst.REDIRECT_URI, safe=""),
        "BENCH_CODE_VERIFIER": at_b.code_verifier,
    }
    issuer, pgid = instance.issuer, essc.pid
    bench = Bench(args)
    # Status first: the pages expire 120 s after they were made.
    for target in (
        Target(
            args.server,
            "scan status",
            issuer,
            "scan_status.lua",
            {"BENCH_POLL_FILE": str(poll_file)},
            "req",
            pgid,
        ),
        Target(
            args.server,
            "sso second portal",
            issuer,
            "authorization_code.lua",
            sso_env,
            "round trips",
            pgid,
        ),
    ):
        bench.measure([target])
    return render(args, created, bench.results)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.load_before = report.loadavg()
    try:
        with tempfile.TemporaryDirectory(prefix="essc-bench-signin-") as tmp, ExitStack() as st:
            text = _measure(args, st, Path(tmp))
    except (inst.SetupError, srv.ServerError, signin.SignInError, wrk.WrkError) as error:
        print(f"bench.portal_signin: {error}", file=sys.stderr)
        return 1
    print()
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
