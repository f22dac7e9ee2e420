"""``make bench``: measure the production server against a hello-world ceiling with wrk.

Scenarios, each run ``--runs`` times after a warm-up, median run reported:

- ``client_credentials``: POST /token, client_secret_basic (RFC 6749 4.4);
- ``jwks``: GET /jwks.json;
- ``authorization_code``: GET /authorize (302 with a code, signed-in user with consent) +
  POST /token with PKCE, counted as round trips;
- ``hello (ceiling)``: a Flask hello-world under the same server and worker count.

Every duration is bounded and every request goes to 127.0.0.1. Writes the table to stdout and to
``bench/results/latest.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

from bench import instance as inst
from bench import noise
from bench import preflight
from bench import report
from bench import server as srv
from bench import signin
from bench import wrk

RESULTS = Path(__file__).resolve().parent / "results" / "latest.md"
#: A run during which other work took more than this share of the machine is repeated.
NOISY = 0.10


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--server", choices=[*srv.SERVERS, "both"], default="both")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="wrk threads (-t)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (-c)")
    p.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    p.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per scenario")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument(
        "--quiet-wait",
        type=int,
        default=15,
        help="before each run, wait up to this many seconds for the machine to look idle",
    )
    p.add_argument(
        "--service-scope", default="essc.qr.verify", help="scope of the client_credentials client"
    )
    p.add_argument(
        "--retries",
        type=int,
        default=2,
        help="extra runs per scenario allowed to replace runs spoilt by other work",
    )
    p.add_argument("--output", type=Path, default=RESULTS)
    p.add_argument(
        "--code-label",
        default="",
        help="what code is measured, when the run is not from a git checkout",
    )
    return p


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.load = wrk.Load(args.threads, args.connections, args.duration)
        self.warm = wrk.Load(args.threads, args.connections, args.warmup)
        self.results: list[report.Result] = []

    def measure(
        self,
        target: tuple[str, int],
        scenario: str,
        url: str,
        script: str,
        env: dict[str, str],
        unit: str,
    ) -> None:
        """Warm up, then ``--runs`` runs; ``target`` is (server name, its process group)."""
        server, pgid = target
        counter = "round_trips" if unit == "round trips" else None

        def once(load: wrk.Load) -> wrk.Run:
            with noise.meter(pgid) as meter:
                result = wrk.to_run(wrk.run(url, script, load, env), counter)
            wrk.check(result, f"{server} {scenario}")
            return replace(result, foreign_cpu=meter.foreign)

        if self.args.warmup:
            once(self.warm)
        runs: list[wrk.Run] = []
        retries = self.args.retries
        while len(runs) < self.args.runs:
            noise.wait_quiet(self.args.quiet_wait)
            r = once(self.load)
            noisy = r.foreign_cpu > NOISY
            print(
                f"  {server:8} {scenario:20} run {len(runs) + 1}: {r.rate:9,.0f} {unit}/s  "
                f"p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:7.2f} ms  "
                f"other work {r.foreign_cpu:4.0%}"
                + ("  (noisy: run again)" if noisy and retries else ""),
                flush=True,
            )
            if noisy and retries:
                retries -= 1
                continue
            runs.append(r)
        self.results.append(report.Result(server, scenario, unit, runs, wrk.median(runs)))

    def essc(self, server: str, tmp: Path) -> None:
        directory = tmp / server
        directory.mkdir()
        print(f"[{server}] preparing a production-mode SQLite instance in {directory}", flush=True)
        instance = inst.prepare(directory, self.args.service_scope)
        command = srv.essc_command(server, self.args.workers, instance.port)
        ready = f"{instance.issuer}/.well-known/openid-configuration"
        with srv.serving(command, instance.env, ready, directory / "server.log") as process:
            target = (server, process.pid)
            print(f"[{server}] {' '.join(command[1:])} is up; signing in once", flush=True)
            browser = signin.sign_in(instance)
            preflight.client_credentials(instance, self.args.service_scope)
            basic = {"BENCH_AUTHORIZATION": instance.service.basic}
            scope = {"BENCH_SCOPE": self.args.service_scope}
            self.measure(
                target,
                "client_credentials",
                instance.issuer,
                "client_credentials.lua",
                {**basic, **scope},
                "req",
            )
            self.measure(
                target, "jwks", instance.issuer, "get.lua", {"BENCH_PATH": "/jwks.json"}, "req"
            )
            self.measure(
                target,
                "authorization_code",
                instance.issuer,
                "authorization_code.lua",
                {
                    "BENCH_AUTHORIZE_QUERY": browser.authorize_query,
                    "BENCH_COOKIE": browser.cookie,
                    "BENCH_AUTHORIZATION": instance.portal.basic,
                    "BENCH_REDIRECT_URI_ENC": quote(inst.REDIRECT_URI, safe=""),
                    "BENCH_CODE_VERIFIER": browser.code_verifier,
                },
                "round trips",
            )

    def hello(self, server: str, tmp: Path) -> None:
        port = inst.free_port()
        url = f"http://127.0.0.1:{port}"
        command = srv.hello_command(server, self.args.workers, port)
        with srv.serving(command, {}, f"{url}/", tmp / f"hello-{server}.log") as process:
            print(f"[{server}] hello-world ceiling is up", flush=True)
            target = (server, process.pid)
            self.measure(target, "hello (ceiling)", url, "get.lua", {"BENCH_PATH": "/"}, "req")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    servers = list(srv.SERVERS) if args.server == "both" else [args.server]
    bench = Bench(args)
    load_before = report.loadavg()
    steps: list[Callable[[str, Path], None]] = [bench.essc, bench.hello]
    try:
        with tempfile.TemporaryDirectory(prefix="essc-bench-") as tmp:
            for server in servers:
                for step in steps:
                    step(server, Path(tmp))
    except (
        inst.SetupError,
        srv.ServerError,
        signin.SignInError,
        preflight.PreflightError,
        wrk.WrkError,
    ) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    extra = {
        "runs": str(args.runs),
        "warmup": str(args.warmup),
        "load_before": load_before,
        "load_after": report.loadavg(),
    }
    text = report.render(
        bench.results, servers, bench.load, args.workers, extra, code_label=args.code_label
    )
    print()
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"written to {os.path.relpath(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
