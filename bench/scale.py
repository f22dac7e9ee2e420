"""``python -m bench.scale``: the citizen's path at 10 thousand and at 10 million cardholders.

Loads one PostgreSQL database per ``--sizes`` entry with ``essc scale load`` (issue 12 item 4;
``--no-load`` reuses them), starts ``essc serve --production`` on each, and runs every scenario
on the sizes in turn, run by run (``bench.run.Bench``), so other work on the shared machine
falls on all sizes alike:

- ``sign-in``: ``GET /authorize``, the sign-in page, ``POST`` card or ID number and PIN
  (argon2id verify and the lockout count), for random cardholders (``bench.scale_clients``);
- ``authorization_code``: returning, consented browsers of ``--browsers`` random cardholders
  round-robin, ``GET /authorize`` + ``POST /token`` (``bench/scale_code.lua``, wrk);
- ``ecard issuance``: ``POST /api/v1/ecards`` for random cardholders (``bench.scale_clients``);
- ``ecard status``: ``GET /api/v1/ecards/{sign_no}`` of ``--ecards`` random e-cards
  (``bench/scale_status.lua``, wrk).

Reports each size's rate, p50, p99 and server CPU per unit, and the ratio of the largest size's
rate to the smallest's (issue 12 target: within 1.2x). Writes ``bench/results/scale.md``. The
databases are dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests
from sqlalchemy import create_engine
from sqlalchemy import text

from bench import instance as inst
from bench import noise
from bench import report
from bench import scale_clients as clients
from bench import server as srv
from bench import signin
from bench import wrk
from bench.run import Bench
from bench.run import Target

RESULTS = Path(__file__).resolve().parent / "results" / "scale.md"
TARGET_RATIO = 1.2
SCENARIOS = ("sign-in", "authorization_code", "ecard issuance", "ecard status")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000", help="cardholders per database, comma-separated")
    p.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432",
        help="the PostgreSQL server; databases essc_scale_<size> are made there",
    )
    p.add_argument(
        "--load",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="load the databases first (--no-load: reuse them, same ESSC_KEY_PASSPHRASE"
        " and ESSC_SECRET_KEY as their load, channels in --instance-dir)",
    )
    p.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    p.add_argument("--instance-dir", type=Path, default=None, help="channel files (--no-load)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--server", choices=srv.SERVERS, default="granian")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--redis-url", default="", help="ESSC_REDIS_URL of the servers")
    p.add_argument("--signins", type=int, default=150, help="sign-ins per run")
    p.add_argument("--issuances", type=int, default=400, help="e-card issuances per run")
    p.add_argument("--client-threads", type=int, default=8)
    p.add_argument("--browsers", type=int, default=64, help="signed-in browsers for the code")
    p.add_argument("--ecards", type=int, default=1000, help="e-cards polled for their status")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (-t)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (-c)")
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--quiet-wait", type=int, default=10)
    p.add_argument("--retries", type=int, default=1)
    p.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, of {', '.join(SCENARIOS)}",
    )
    p.add_argument("--output", type=Path, default=RESULTS)
    return p


def label(size: int) -> str:
    for unit, name in ((1_000_000, "m"), (1_000, "k")):
        if size >= unit and size % unit == 0:
            return f"{size // unit}{name}"
    return str(size)


@dataclass(frozen=True)
class Side:
    """One size's database and its running server."""

    size: int
    url: str
    env: dict[str, str]
    instance: inst.Instance
    channel: inst.Client
    pgid: int
    loaded: dict[str, object]

    @property
    def name(self) -> str:
        return label(self.size)


def secrets_env() -> dict[str, str]:
    """The key ring's passphrase and the cookie key: from the environment (needed with
    ``--no-load``), else new for this run."""
    return {
        "ESSC_KEY_PASSPHRASE": os.environ.get("ESSC_KEY_PASSPHRASE") or secrets.token_urlsafe(32),
        "ESSC_SECRET_KEY": os.environ.get("ESSC_SECRET_KEY") or secrets.token_urlsafe(48),
    }


def load_side(
    args: argparse.Namespace, size: int, directory: Path, keys: dict[str, str]
) -> tuple[str, Path, dict[str, object]]:
    url = f"{args.postgres}/essc_scale_{label(size)}"
    channels = (args.instance_dir or directory) / f"scale-channels-{label(size)}.json"
    if not args.load:
        return url, channels, {}
    print(f"[{label(size)}] essc scale load --cardholders {size:,}", flush=True)
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [
            str(inst.BIN / "essc"),
            "scale",
            "load",
            "--cardholders",
            str(size),
            "--database-url",
            url,
            "--seed",
            str(args.seed),
            "--channels-file",
            str(channels),
            "--replace",
        ],
        env={**os.environ, **keys, "ESSC_INSTANCE_DIR": str(directory)},
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise inst.SetupError(f"essc scale load exited {done.returncode}")
    return url, channels, dict(json.loads(done.stdout.strip().splitlines()[-1]))


def start_side(
    args: argparse.Namespace, stack: ExitStack, size: int, tmp: Path, keys: dict[str, str]
) -> Side:
    directory = tmp / label(size)
    directory.mkdir()
    url, channels_file, loaded = load_side(args, size, directory, keys)
    port = inst.free_port()
    env = {**inst.environment(directory, port), **keys}
    env.update(ESSC_DATABASE_URL=url, ESSC_REDIS_URL=args.redis_url)
    portal = inst.add_portal(env, f"scale-portal-{secrets.token_hex(4)}")
    first = json.loads(channels_file.read_text())["channels"][0]
    channel = inst.Client(first["client_id"], first["client_secret"])
    instance = inst.Instance(port=port, env=env, service=channel, portal=portal)
    command = srv.essc_command(args.server, args.workers, port)
    ready = f"{instance.issuer}/.well-known/openid-configuration"
    process = stack.enter_context(srv.serving(command, env, ready, directory / "server.log"))
    print(f"[{label(size)}] {' '.join(command[1:])} is up on {url.rsplit('/', 1)[1]}", flush=True)
    return Side(size, url, env, instance, channel, process.pid, loaded)


def channel_token(side: Side) -> str:
    answer = requests.post(
        f"{side.instance.issuer}/token",
        data={"grant_type": "client_credentials", "scope": "essc.ecard"},
        headers={"Authorization": side.channel.basic},
        timeout=10,
    )
    if answer.status_code != 200:
        raise signin.SignInError(f"channel token: {answer.status_code} {answer.text[:200]}")
    return str(answer.json()["access_token"])


def sample_ecards(side: Side, n: int, seed: int) -> list[str]:
    """``n`` of the channel's active e-cards, spread over the table (Bernoulli sample)."""
    share = min(100.0, 100.0 * n * 10 / side.size)
    engine = create_engine(side.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT sign_no FROM ecards TABLESAMPLE BERNOULLI ({share:f}) "  # noqa: S608
                    "REPEATABLE (:seed) WHERE client_id = :c AND status = 'active' LIMIT :n"
                ),
                {"seed": seed, "c": side.channel.client_id, "n": n},
            ).scalars()
            return list(rows)
    finally:
        engine.dispose()


def browsers(side: Side, n: int, seed: int, tmp: Path) -> tuple[Path, dict[str, str]]:
    """Sign ``n`` random cardholders in and consent once each; their cookies in a file, and
    the environment of ``bench/scale_code.lua`` (one PKCE pair shared by every browser)."""
    people = clients.People(side.size, seed).draw(n, "browsers")
    cookies = [signin.sign_in(side.instance, c.card_number, c.pin).cookie for c in people]
    path = tmp / f"cookies-{side.name}.txt"
    path.write_text("".join(f"{c}\n" for c in cookies))
    verifier, challenge = signin.pkce_pair()
    return path, {
        "BENCH_COOKIE_FILE": str(path),
        "BENCH_AUTHORIZE_QUERY": signin.query_for(side.instance.portal, challenge),
        "BENCH_AUTHORIZATION": side.instance.portal.basic,
        "BENCH_REDIRECT_URI_ENC": quote(inst.REDIRECT_URI, safe=""),
        "BENCH_CODE_VERIFIER": verifier,
    }


def status_target(side: Side, args: argparse.Namespace, tmp: Path) -> Target:
    token = channel_token(side)
    path = tmp / f"ecards-{side.name}.tsv"
    cards = sample_ecards(side, args.ecards, args.seed)
    path.write_text("".join(f"/api/v1/ecards/{s}\tBearer {token}\n" for s in cards))
    env = {"BENCH_STATUS_FILE": str(path)}
    return Target(
        side.name, "ecard status", side.instance.issuer, "scale_status.lua", env, "req", side.pgid
    )


def measure_clients(
    args: argparse.Namespace, sides: list[Side], scenario: str
) -> list[report.Result]:
    """Warm-up, then ``--runs`` rounds over the sides, each run with fresh people."""
    runs: dict[str, list[wrk.Run]] = {s.name: [] for s in sides}
    tokens = {s.name: channel_token(s) for s in sides} if scenario == "ecard issuance" else {}
    for round_ in range(-1, args.runs):
        for side in sides:
            n = args.signins if scenario == "sign-in" else args.issuances
            n = n // 5 if round_ < 0 else n
            people = clients.People(side.size, args.seed).draw(n, f"{scenario}-{round_}")
            token = tokens.get(side.name, "")
            calls = clients.calls(
                scenario, side.instance.issuer, side.instance.portal, token, people
            )
            noise.wait_quiet(args.quiet_wait)
            r = clients.run(calls, args.client_threads, side.pgid)
            if r.units < r.requests:
                raise wrk.WrkError(f"{side.name} {scenario}: {r.errors} {r.notes}")
            if round_ >= 0:
                runs[side.name].append(r)
                print(
                    f"  {side.name:4} {scenario:20} run {round_ + 1}: {r.rate:8,.1f}/s  "
                    f"p50 {r.p50_ms:7.2f} ms  p99 {r.p99_ms:7.2f} ms  "
                    f"CPU {r.cpu_ms_per_unit:6.2f} ms  other work {r.foreign_cpu:4.0%}",
                    flush=True,
                )
    unit = "sign-ins" if scenario == "sign-in" else "issuances"
    return [report.Result(n, scenario, unit, rs, wrk.median(rs)) for n, rs in runs.items()]


def measure(args: argparse.Namespace, sides: list[Side], tmp: Path) -> list[report.Result]:
    chosen = {name.strip() for name in args.scenarios.split(",")}
    results: list[report.Result] = []
    if "sign-in" in chosen:
        results += measure_clients(args, sides, "sign-in")
    if "authorization_code" in chosen:
        code = []
        for side in sides:
            _, env = browsers(side, args.browsers, args.seed, tmp)
            code.append(
                Target(side.name, "authorization_code", side.instance.issuer,
                       "scale_code.lua", env, "round trips", side.pgid)
            )  # fmt: skip
        bench = Bench(args)
        bench.measure(code)
        results += bench.results
    if "ecard issuance" in chosen:
        results += measure_clients(args, sides, "ecard issuance")
    if "ecard status" in chosen:
        bench = Bench(args)
        bench.measure([status_target(side, args, tmp) for side in sides])
        results += bench.results
    return results


def render(args: argparse.Namespace, sides: list[Side], results: list[report.Result]) -> str:
    names = [s.name for s in sides]
    head = "| scenario | " + " | ".join(
        f"{n} rate | {n} p50 / p99 ms | {n} CPU ms/unit" for n in names
    )
    ratio = len(sides) > 1
    lines = [
        f"# Scale of data: {', '.join(f'{s.size:,}' for s in sides)} cardholders "
        f"({args.server}, {args.workers} workers, PostgreSQL"
        f"{' + Redis' if args.redis_url else ''})",
        "",
        *report.machine([args.server]),
        f"- Command: `{report.command_line('bench.scale')}`",
        f"- Load average before / after: {args.load_before} / {report.loadavg()}",
        f"- wrk -t{args.threads} -c{args.connections}, {args.warmup} s warm-up, {args.runs} runs "
        f"of {args.duration} s; sign-in {args.signins} and issuance {args.issuances} requests a "
        f"run from {args.client_threads} Python threads; median run",
        *[
            f"- {s.name}: loaded in {s.loaded['seconds']} s, "
            f"{s.loaded['rows_per_second']:,} rows/s, "
            f"{s.loaded['bytes_per_cardholder']:,} bytes per cardholder"
            for s in sides
            if s.loaded
        ],
        "",
        head
        + (f" | {names[-1]}/{names[0]} rate | {names[-1]}/{names[0]} CPU |" if ratio else " |"),
        "| --- " * (1 + 3 * len(names) + (2 if ratio else 0)) + "|",
    ]
    for scenario in dict.fromkeys(r.scenario for r in results):
        row = {r.server: r for r in results if r.scenario == scenario}
        cells = [
            f"{row[n].median.rate:,.1f} {row[n].unit}/s | {row[n].median.p50_ms:.2f} / "
            f"{row[n].median.p99_ms:.2f} | {row[n].median.cpu_ms_per_unit:.2f}"
            for n in names
        ]
        line = f"| {scenario} | " + " | ".join(cells)
        if ratio:
            r = row[names[-1]].median.rate / row[names[0]].median.rate
            verdict = "within" if r >= 1 / TARGET_RATIO else "outside"
            line += f" | {r:.2f} ({verdict} 1.2x)"
            small, large = row[names[0]].median, row[names[-1]].median
            cpu = large.cpu_ms_per_unit / small.cpu_ms_per_unit if small.cpu_ms_per_unit else 0.0
            line += f" | {cpu:.2f}"
        lines.append(line + " |")
    return "\n".join([*lines, ""])


def drop(url: str) -> None:
    base, name = url.rsplit("/", 1)
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.load_before = report.loadavg()
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    keys, sides = secrets_env(), []
    try:
        with tempfile.TemporaryDirectory(prefix="essc-bench-scale-") as tmp, ExitStack() as stack:
            try:
                sides = [start_side(args, stack, size, Path(tmp), keys) for size in sizes]
                results = measure(args, sides, Path(tmp))
            finally:
                stack.close()
                if args.load and not args.keep:
                    for size in sizes:
                        drop(f"{args.postgres}/essc_scale_{label(size)}")
    except (inst.SetupError, srv.ServerError, signin.SignInError, wrk.WrkError) as error:
        print(f"bench.scale: {error}", file=sys.stderr)
        return 1
    text_ = render(args, sides, results)
    print()
    print(text_)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text_)
    print(f"written to {os.path.relpath(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
