"""SQL statements and CPU per authorization-code round trip and per refresh, counted in-process.

One-off, before the load: the instance's Flask app is driven through its test client (no
server, no network), the cardholder signs in and consents once, ``WARM_UP`` units run
uncounted, then ``ROUND_TRIPS`` units:

- ``authorization_code``: ``GET /authorize`` (302 with a code) + ``POST /token``;
- ``refresh``: ``POST /token`` with ``grant_type=refresh_token`` and the token the previous
  one returned (rotation, RFC 9700 4.14.2), from the refresh portal.

A SQLAlchemy ``before_cursor_execute`` listener counts every statement the product sends (on
PostgreSQL that includes the pool's pre-pings, if any); ``commit`` events count transactions.
Run it alone: ``python -m bench.statements [--postgresql URL]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import ExitStack
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from sqlalchemy import event

from bench.instance import CARDHOLDER
from bench.instance import REDIRECT_URI
from bench.instance import Instance
from bench.instance import postgresql_database
from bench.instance import prepare
from bench.signin import SignInError
from bench.signin import _Form
from bench.signin import pkce_pair

ROUND_TRIPS = 200
WARM_UP = 20
SCENARIOS = ("authorization_code", "refresh", "client_credentials")


@dataclass(frozen=True)
class Counted:
    round_trips: int
    statements: int
    commits: int
    cpu_seconds: float
    #: Round trips the listener above does not see: the pool's pre-pings and the BEGINs.
    pings: int = 0
    begins: int = 0

    @property
    def statements_per_round_trip(self) -> float:
        return self.statements / self.round_trips

    @property
    def commits_per_round_trip(self) -> float:
        return self.commits / self.round_trips

    @property
    def pings_per_round_trip(self) -> float:
        return self.pings / self.round_trips

    @property
    def begins_per_round_trip(self) -> float:
        return self.begins / self.round_trips

    @property
    def cpu_ms_per_round_trip(self) -> float:
        return self.cpu_seconds * 1000 / self.round_trips


@contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _form(page: Any) -> tuple[str, dict[str, str]]:
    parser = _Form()
    parser.feed(page.get_data(as_text=True))
    if not parser.action or "csrf_token" not in parser.inputs:
        raise SignInError(f"in-process: no form ({page.status_code})")
    return parser.action, parser.inputs


def _code(response: Any) -> str:
    location = response.headers.get("Location", "")
    if not location.startswith(REDIRECT_URI):
        raise SignInError(f"in-process: {response.status_code} to {location[:200]}")
    return str(parse_qs(urlsplit(location).query)["code"][0])


def _signed_in(web: Any, query: str) -> None:
    """Sign in (first client) or only consent (SSO, a second client) until a code comes."""
    step = web.get(f"/authorize?{query}")
    location = step.headers.get("Location", "")
    if "/signin" in location:
        action, fields = _form(web.get(urlsplit(location).path))
        fields.update(credential=CARDHOLDER["card_number"], pin=CARDHOLDER["pin"])
        location = web.post(action, data=fields).headers.get("Location", "")
    if not location.startswith(REDIRECT_URI):
        action, fields = _form(web.get(urlsplit(location).path))
        fields["decision"] = "approve"
        web.post(action, data=fields)


def _query(client_id: str, challenge: str) -> str:
    return (
        f"response_type=code&client_id={client_id}"
        f"&redirect_uri={REDIRECT_URI}&scope=openid+profile&state=bench&nonce=bench"
        f"&code_challenge={challenge}&code_challenge_method=S256"
    )


def _token(web: Any, data: dict[str, str], basic: str) -> dict[str, Any]:
    answer = web.post("/token", data=data, headers={"Authorization": basic})
    if answer.status_code != 200:
        raise SignInError(f"in-process token: {answer.status_code} {answer.data[:200]!r}")
    return dict(answer.get_json())


def _code_round_trip(web: Any, instance: Instance) -> Callable[[], None]:
    verifier, challenge = pkce_pair()
    query = _query(instance.portal.client_id, challenge)
    _signed_in(web, query)
    form = {"grant_type": "authorization_code", "redirect_uri": REDIRECT_URI}

    def round_trip() -> None:
        code = _code(web.get(f"/authorize?{query}"))
        _token(web, {**form, "code": code, "code_verifier": verifier}, instance.portal.basic)

    return round_trip


def _refresh(web: Any, instance: Instance) -> Callable[[], None]:
    verifier, challenge = pkce_pair()
    query = _query(instance.refresh_portal.client_id, challenge)
    _signed_in(web, query)
    basic = instance.refresh_portal.basic
    code = _code(web.get(f"/authorize?{query}"))
    data = {"grant_type": "authorization_code", "redirect_uri": REDIRECT_URI}
    first = _token(web, {**data, "code": code, "code_verifier": verifier}, basic)
    latest = [str(first["refresh_token"])]

    def refresh() -> None:
        body = _token(web, {"grant_type": "refresh_token", "refresh_token": latest[0]}, basic)
        latest[0] = str(body["refresh_token"])

    return refresh


def _client_credentials(web: Any, instance: Instance) -> Callable[[], None]:
    data = {"grant_type": "client_credentials", "scope": "essc.qr.verify"}

    def token() -> None:
        _token(web, data, instance.service.basic)

    return token


def count(
    instance: Instance,
    round_trips: int = ROUND_TRIPS,
    scenario: str = "authorization_code",
    profiler: Any = None,
) -> Counted:
    """Statements, commits and CPU for ``round_trips`` units of ``scenario`` (profiled by
    ``profiler``, a ``cProfile.Profile``, if given)."""
    with _environment(instance.env):
        from idp.app import create_app

        app = create_app()
    engine = app.extensions["essc"].db.engine
    web = app.test_client()
    # The code scenario signs in first; the refresh one then only consents (SSO).
    code_round_trip = _code_round_trip(web, instance)
    units = {
        "authorization_code": lambda: code_round_trip,
        "refresh": lambda: _refresh(web, instance),
        "client_credentials": lambda: _client_credentials(web, instance),
    }
    unit = units[scenario]()
    counts = {"statements": 0, "commits": 0, "pings": 0, "begins": 0}

    def statement(*_: Any) -> None:
        counts["statements"] += 1

    def commit(*_: Any) -> None:
        counts["commits"] += 1

    def begin(*_: Any) -> None:
        counts["begins"] += 1

    dialect = engine.dialect
    real_ping = dialect.do_ping

    def ping(dbapi_connection: Any) -> bool:
        counts["pings"] += 1
        return bool(real_ping(dbapi_connection))

    for _ in range(WARM_UP):  # keys unwrapped, caches filled, code paths imported
        unit()
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    event.listen(engine, "begin", begin)
    dialect.do_ping = ping  # type: ignore[method-assign]
    started = time.process_time()
    if profiler is not None:
        profiler.enable()
    try:
        for _ in range(round_trips):
            unit()
    finally:
        if profiler is not None:
            profiler.disable()
        cpu = time.process_time() - started
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
        event.remove(engine, "begin", begin)
        dialect.do_ping = real_ping  # type: ignore[method-assign]
        app.extensions["essc"].db.dispose()
    return Counted(
        round_trips,
        counts["statements"],
        counts["commits"],
        cpu,
        pings=counts["pings"],
        begins=counts["begins"],
    )


def _package(filename: str) -> str:
    """The top-level package a profiled function's file belongs to."""
    parts = Path(filename).parts
    for marker in ("site-packages", "lib-dynload"):
        if marker in parts:
            rest = parts[parts.index(marker) + 1 :]
            return rest[0].split(".")[0] if rest else marker
    if "idp" in parts:
        return "idp." + parts[parts.index("idp") + 1].removesuffix(".py")
    return "other" if filename.startswith(("<", "~")) else "python"


def profiled(instance: Instance, round_trips: int, scenario: str) -> str:
    """cProfile (process CPU time) of one batch: own time per package, biggest first (the
    profiler itself adds overhead, so these are shares, not absolute costs)."""
    import cProfile
    import pstats

    profile = cProfile.Profile(time.process_time)  # CPU, not the wait on the server
    count(instance, round_trips, scenario, profile)
    totals: dict[str, float] = {}
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for (filename, _, name), (_, _, own, _, _) in stats.items():
        # Built-ins by name: the C parts (SQLite, hashing, signing) are among them.
        package = _package(filename) if not filename.startswith("~") else name
        totals[package] = totals.get(package, 0.0) + own
    whole = sum(totals.values()) or 1.0
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:14]
    return "  " + ", ".join(f"{name} {share / whole:.0%}" for name, share in ranked)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.statements", description=__doc__)
    parser.add_argument("--postgresql", default="", help="a PostgreSQL server URL (else SQLite)")
    parser.add_argument("--redis-url", default="", help="the instance's Redis (PostgreSQL only)")
    parser.add_argument("--round-trips", type=int, default=ROUND_TRIPS)
    parser.add_argument(
        "--repeat", type=int, default=3, help="batches per scenario; the least CPU is reported"
    )
    parser.add_argument("--scenario", choices=SCENARIOS, action="append")
    parser.add_argument(
        "--profile", action="store_true", help="also print where the CPU goes, by package"
    )
    args = parser.parse_args(argv)
    backend = "postgresql" if args.postgresql else "sqlite"
    with tempfile.TemporaryDirectory(prefix="essc-statements-") as tmp, ExitStack() as stack:
        url = stack.enter_context(postgresql_database(args.postgresql)) if args.postgresql else None
        instance = prepare(Path(tmp), "essc.qr.verify", url, args.redis_url if url else "")
        for scenario in args.scenario or SCENARIOS:
            # On a shared machine other work inflates CPU time (caches, frequency): the
            # quietest batch is the closest to the code's own cost.
            batches = [count(instance, args.round_trips, scenario) for _ in range(args.repeat)]
            c = min(batches, key=lambda b: b.cpu_seconds)
            if args.profile:
                print(profiled(instance, args.round_trips, scenario), flush=True)
            print(
                f"{backend:10} {scenario:18} {c.statements_per_round_trip:5.1f} statements "
                f"{c.commits_per_round_trip:4.1f} commits {c.begins_per_round_trip:4.1f} begins "
                f"{c.pings_per_round_trip:4.1f} pings {c.cpu_ms_per_round_trip:6.2f} ms CPU "
                f"per unit ({c.round_trips} units)",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
