"""``make bench``: measure the production server against its peer and a hello-world ceiling.

Scenarios, each run ``--runs`` times after a warm-up, median run reported with the server's
CPU milliseconds per unit:

- ``client_credentials``: POST /token, client_secret_basic (RFC 6749 4.4);
- ``discovery``: GET /.well-known/openid-configuration;
- ``jwks``: GET /jwks.json;
- ``authorization_code``: GET /authorize (302 with a code, signed-in user with consent) +
  POST /token with PKCE, counted as round trips;
- ``refresh``: POST /token with ``grant_type=refresh_token``, rotation on (each answer's new
  token is presented next), counted as refreshes; every run starts from fresh tokens;
- ``hello (ceiling)``: a Flask hello-world under the same server and worker count.

The peer, node-oidc-provider (``bench/peer/``, 2 processes sharing Redis), runs the first five.
All servers are started first; each scenario then runs on them in turn, run by run, so that
other work on a shared machine falls on all of them alike. Before the load, one in-process run
counts SQL statements per authorization-code round trip (``bench.statements``). Every duration
is bounded and every request goes to 127.0.0.1. Writes the table to stdout and to
``bench/results/latest.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

from bench import instance as inst
from bench import memory
from bench import noise
from bench import peer as peer_server
from bench import preflight
from bench import report
from bench import server as srv
from bench import signin
from bench import statements
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
    p.add_argument(
        "--scenario",
        action="append",
        choices=[*SCENARIOS, "hello (ceiling)"],
        help="run only this scenario (repeatable; default: all)",
    )
    p.add_argument("--output", type=Path, default=RESULTS)
    p.add_argument(
        "--peer",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure node-oidc-provider (bench/peer/, needs node, npm ci and Redis)",
    )
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", help="the peer's Redis")
    p.add_argument(
        "--essc-database-url",
        default="",
        help="run essc-idp on a fresh database of this PostgreSQL server (dropped afterwards)"
        " instead of SQLite, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test",
    )
    p.add_argument(
        "--essc-redis-url",
        default="",
        help="essc-idp's own Redis (replay caches, deny-list, rate limits) with"
        " --essc-database-url, e.g. redis://127.0.0.1:6379/13",
    )
    p.add_argument(
        "--statement-round-trips",
        type=int,
        default=statements.ROUND_TRIPS,
        help="in-process round trips for the SQL statement count (0: skip)",
    )
    p.add_argument(
        "--code-label",
        default="",
        help="what code is measured, when the run is not from a git checkout",
    )
    return p


@dataclass(frozen=True, eq=False)
class Target:
    """One scenario on one running server (``pgid``: its process group, for ``bench.noise``)."""

    server: str
    scenario: str
    url: str
    script: str
    env: dict[str, str]
    unit: str
    pgid: int
    #: Processes outside the group whose CPU is the server's too (the peer's Redis).
    extra_pids: tuple[int, ...] = ()
    #: Environment made anew before each run (single-use refresh tokens), outside the meter.
    env_for_run: Callable[[], dict[str, str]] | None = None


#: The Lua counter each unit is rated by (else every request is one unit).
UNIT_COUNTERS = {"round trips": "round_trips", "refreshes": "refreshes"}


class Bench:
    """Starts every server first, then runs each scenario on the servers in turn, run by run,
    so that a burst of other work on the shared machine hits both servers' figures alike."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.load = wrk.Load(args.threads, args.connections, args.duration)
        self.warm = wrk.Load(args.threads, args.connections, args.warmup)
        self.results: list[report.Result] = []
        #: More waiting refresh tokens than connections, so the queue never runs dry.
        self.tokens_per_run = 2 * args.connections

    def once(self, t: Target, load: wrk.Load) -> wrk.Run:
        counter = UNIT_COUNTERS.get(t.unit)
        env = {**t.env, **t.env_for_run()} if t.env_for_run else t.env
        with noise.meter(t.pgid, t.extra_pids) as meter:
            result = wrk.to_run(wrk.run(t.url, t.script, load, env), counter)
        wrk.check(result, f"{t.server} {t.scenario}")
        return replace(result, foreign_cpu=meter.foreign, server_cpu=meter.server)

    def measure(self, targets: list[Target]) -> None:
        """Warm each up, then ``--runs`` rounds; a run spoilt by other work is run again while
        that target has ``--retries`` left."""
        for t in targets:
            if self.args.warmup:
                self.once(t, self.warm)
        runs: dict[Target, list[wrk.Run]] = {t: [] for t in targets}
        retries = dict.fromkeys(targets, self.args.retries)
        while any(len(r) < self.args.runs for r in runs.values()):
            for t in targets:
                if len(runs[t]) >= self.args.runs:
                    continue
                noise.wait_quiet(self.args.quiet_wait)
                r = self.once(t, self.load)
                again = r.foreign_cpu > NOISY and retries[t] > 0
                print(
                    f"  {t.server:8} {t.scenario:20} run {len(runs[t]) + 1}: "
                    f"{r.rate:9,.0f} {t.unit}/s  p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:7.2f} ms  "
                    f"CPU {r.cpu_ms_per_unit:6.3f} ms/unit  "
                    f"other work {r.foreign_cpu:4.0%}" + ("  (noisy: run again)" if again else ""),
                    flush=True,
                )
                if again:
                    retries[t] -= 1
                else:
                    runs[t].append(r)
        for t in targets:
            self.results.append(
                report.Result(t.server, t.scenario, t.unit, runs[t], wrk.median(runs[t]))
            )

    def start(self, stack: ExitStack, server: str, tmp: Path) -> list[Target]:
        """Start essc-idp and the hello-world under ``server``; return their targets."""
        directory = tmp / server
        directory.mkdir()
        database_url = None
        if self.args.essc_database_url:  # the production setting: PostgreSQL + Redis
            database_url = stack.enter_context(
                inst.postgresql_database(self.args.essc_database_url)
            )
        where = "PostgreSQL + Redis" if database_url else "SQLite"
        print(f"[{server}] preparing a production-mode {where} instance in {directory}", flush=True)
        instance = inst.prepare(
            directory, self.args.service_scope, database_url, self.args.essc_redis_url
        )
        command = srv.essc_command(server, self.args.workers, instance.port)
        ready = f"{instance.issuer}/.well-known/openid-configuration"
        essc = stack.enter_context(
            srv.serving(command, instance.env, ready, directory / "server.log")
        )
        print(f"[{server}] {' '.join(command[1:])} is up; signing in once", flush=True)
        browser = signin.sign_in(instance)
        preflight.client_credentials(instance, self.args.service_scope)

        port = inst.free_port()
        hello_url = f"http://127.0.0.1:{port}"
        hello_command = srv.hello_command(server, self.args.workers, port)
        hello = stack.enter_context(
            srv.serving(hello_command, {}, f"{hello_url}/", directory / "hello.log")
        )
        print(f"[{server}] hello-world ceiling is up", flush=True)

        code_env = {
            "BENCH_AUTHORIZE_QUERY": browser.authorize_query,
            "BENCH_COOKIE": browser.cookie,
            "BENCH_AUTHORIZATION": instance.portal.basic,
            "BENCH_REDIRECT_URI_ENC": quote(inst.REDIRECT_URI, safe=""),
            "BENCH_CODE_VERIFIER": browser.code_verifier,
        }
        cc_env = {
            "BENCH_AUTHORIZATION": instance.service.basic,
            "BENCH_SCOPE": self.args.service_scope,
        }
        issuer, pgid = instance.issuer, essc.pid
        refresh = Refresh(
            {"BENCH_AUTHORIZATION": instance.refresh_portal.basic},
            lambda: signin.refresh_tokens(instance, browser, self.tokens_per_run),
        )
        return [
            *scenarios(server, issuer, cc_env, code_env, pgid, refresh),
            Target(
                server,
                "hello (ceiling)",
                hello_url,
                "get.lua",
                {"BENCH_PATH": "/"},
                "req",
                hello.pid,
            ),
        ]

    def start_peer(self, stack: ExitStack, tmp: Path) -> list[Target]:
        """Start node-oidc-provider with Redis; sign its cardholder in; return its targets."""
        port = inst.free_port()
        peer = peer_server.prepare(port, self.args.workers, self.args.redis_url)
        command = peer_server.command()
        ready = f"{peer.issuer}/.well-known/openid-configuration"
        process = stack.enter_context(srv.serving(command, peer.env, ready, tmp / "peer.log"))
        print(f"[peer] node-oidc-provider {peer_server.version()} is up; signing in once")
        peer_server.check_client_credentials(peer)
        browser = peer_server.sign_in(peer)
        code_env = {
            "BENCH_AUTHORIZE_QUERY": browser.authorize_query,
            "BENCH_COOKIE": browser.cookie,
            "BENCH_AUTHORIZATION": peer.portal.basic,
            "BENCH_REDIRECT_URI_ENC": quote(inst.REDIRECT_URI, safe=""),
            "BENCH_CODE_VERIFIER": browser.code_verifier,
        }
        cc_env = {"BENCH_AUTHORIZATION": peer.service.basic, "BENCH_SCOPE": peer_server.SCOPE}
        refresh = Refresh(
            {"BENCH_AUTHORIZATION": peer.refresh_portal.basic},
            lambda: peer_server.refresh_tokens(peer, self.tokens_per_run),
        )
        extra = noise.pids_named("redis-server")
        return [
            replace(t, extra_pids=extra)
            for t in scenarios(PEER, peer.issuer, cc_env, code_env, process.pid, refresh)
        ]


PEER = "peer"
SCENARIOS = ("client_credentials", "discovery", "jwks", "authorization_code", "refresh")


@dataclass(frozen=True)
class Refresh:
    """The refresh scenario's client (``env``) and where each run's fresh tokens come from."""

    env: dict[str, str]
    tokens: Callable[[], list[str]]

    def env_for_run(self) -> dict[str, str]:
        return {"BENCH_REFRESH_TOKENS": ",".join(self.tokens())}


def scenarios(
    server: str,
    issuer: str,
    cc_env: dict[str, str],
    code_env: dict[str, str],
    pgid: int,
    refresh: Refresh,
) -> list[Target]:
    """The scenarios both essc-idp and the peer run, in the order they run."""
    return [
        Target(server, "client_credentials", issuer, "client_credentials.lua", cc_env, "req", pgid),
        Target(
            server,
            "discovery",
            issuer,
            "get.lua",
            {"BENCH_PATH": "/.well-known/openid-configuration"},
            "req",
            pgid,
        ),
        Target(server, "jwks", issuer, "get.lua", {"BENCH_PATH": "/jwks.json"}, "req", pgid),
        Target(
            server,
            "authorization_code",
            issuer,
            "authorization_code.lua",
            code_env,
            "round trips",
            pgid,
        ),
        Target(
            server,
            "refresh",
            issuer,
            "refresh.lua",
            refresh.env,
            "refreshes",
            pgid,
            env_for_run=refresh.env_for_run,
        ),
    ]


def by_scenario(targets: list[list[Target]]) -> list[list[Target]]:
    """Each scenario with every side that runs it, scenarios in their first-seen order."""
    grouped: dict[str, list[Target]] = {}
    for side in targets:
        for t in side:
            grouped.setdefault(t.scenario, []).append(t)
    return list(grouped.values())


def count_statements(args: argparse.Namespace, tmp: Path) -> statements.Counted | None:
    if args.statement_round_trips <= 0:
        return None
    directory = tmp / "statements"
    directory.mkdir()
    print("[in-process] counting SQL statements per authorization-code round trip", flush=True)
    counted = statements.count(
        inst.prepare(directory, args.service_scope), args.statement_round_trips
    )
    print(
        f"[in-process] {counted.statements_per_round_trip:.1f} statements, "
        f"{counted.commits_per_round_trip:.1f} commits, "
        f"{counted.cpu_ms_per_round_trip:.2f} ms CPU per round trip",
        flush=True,
    )
    return counted


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    servers = list(srv.SERVERS) if args.server == "both" else [args.server]
    bench = Bench(args)
    load_before = report.loadavg()
    try:
        with tempfile.TemporaryDirectory(prefix="essc-bench-") as tmp, ExitStack() as stack:
            counted = count_statements(args, Path(tmp))
            targets = [bench.start(stack, server, Path(tmp)) for server in servers]
            if args.peer:
                targets.append(bench.start_peer(stack, Path(tmp)))
            for scenario in by_scenario(targets):
                if args.scenario and scenario[0].scenario not in args.scenario:
                    continue
                bench.measure(scenario)
            # Read before the ExitStack stops the servers: what each holds after the load.
            memories = [memory.group(side[0].server, side[0].pgid) for side in targets]
    except (
        inst.SetupError,
        srv.ServerError,
        signin.SignInError,
        preflight.PreflightError,
        peer_server.PeerError,
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
    # The table reads server by server (the peer last), scenarios in the order they ran.
    sides = [*servers, *([PEER] if args.peer else [])]
    results = sorted(bench.results, key=lambda r: sides.index(r.server))
    text = report.render(
        results,
        servers,
        bench.load,
        args.workers,
        extra,
        code_label=args.code_label,
        peer=PEER if args.peer else None,
        counted=counted,
    )
    text += "\n".join([*memory.lines(memories), ""])
    print()
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"written to {os.path.relpath(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
