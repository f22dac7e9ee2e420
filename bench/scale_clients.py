"""The scale benchmark's scenarios driven from Python threads (``bench.scale``): sign-in and
e-card issuance, where every request needs its own form, person or idempotency key.

Each run sends ``n`` requests for cardholders drawn at random from the whole data set (half by
card number, half by ID number, which the server finds by its blind index), ``threads`` at
once, and becomes a ``wrk.Run`` so the report treats it as the wrk scenarios. The client shares
the machine and its CPU with the server, alike on both sides.
"""

from __future__ import annotations

import math
import random
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import requests

from bench import noise
from bench import signin
from bench import wrk
from bench.instance import Client
from idp.scale.people import Cardholder
from idp.scale.people import Permutation
from idp.scale.people import cardholder


@dataclass(frozen=True)
class People:
    """The data set a side was loaded with: ``count`` cardholders of ``seed``."""

    count: int
    seed: int

    def draw(self, n: int, salt: str) -> list[Cardholder]:
        rng = random.Random(f"{salt}-{self.count}")  # noqa: S311 - picks people, not secrets
        permutation = Permutation.from_seed(self.seed)
        return [cardholder(rng.randrange(self.count), self.seed, permutation) for _ in range(n)]


def sign_in_once(issuer: str, portal: Client, person: Cardholder, by_id: bool) -> tuple[float, int]:
    """``GET /authorize`` (302 to the sign-in page), the page, ``POST`` card or ID number and
    PIN (303 on to consent): one sign-in, timed; status 200 when it went as the contract says."""
    _, challenge = signin.pkce_pair()
    browser = requests.Session()
    began = time.perf_counter()
    try:
        step = browser.get(
            f"{issuer}/authorize?{signin.query_for(portal, challenge)}",
            allow_redirects=False,
            timeout=30,
        )
        page = browser.get(signin.redirect_location(step, "authorize"), timeout=30)
        action, fields = signin._form(page)
        fields.update(credential=person.id_number if by_id else person.card_number, pin=person.pin)
        done = browser.post(action, data=fields, allow_redirects=False, timeout=30)
        location = signin.redirect_location(done, "sign-in")
    except (signin.SignInError, requests.RequestException):
        return time.perf_counter() - began, 599
    ok = "/consent" in location or location.startswith(signin.REDIRECT_URI)
    return time.perf_counter() - began, 200 if ok else 598


def issue_once(issuer: str, token: str, person: Cardholder, key: str) -> tuple[float, int]:
    """``POST /api/v1/ecards`` (签发, docs/ecards.md) for ``person`` with a fresh idempotency
    key: 201 is the expected answer."""
    body = {
        "name": person.name,
        "id_number": person.id_number,
        "region_code": person.region_code,
        "channel_subject": f"bench-{person.index}",
        "evidence": {"real_name_level": 3, "face_verified_at": int(time.time())},
        "level": 1,
        "idempotency_key": key,
    }
    began = time.perf_counter()
    try:
        answer = requests.post(
            f"{issuer}/api/v1/ecards",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        status = answer.status_code
    except requests.RequestException:
        status = 599
    return time.perf_counter() - began, 200 if status == 201 else status


def calls(
    scenario: str, issuer: str, portal: Client, token: str, people: list[Cardholder]
) -> list[Callable[[], tuple[float, int]]]:
    """One run's requests: sign-ins (every other one by ID number) or issuances (each with
    its own idempotency key)."""
    salt = secrets.token_hex(4)
    if scenario == "sign-in":
        return [partial(sign_in_once, issuer, portal, c, k % 2 == 1) for k, c in enumerate(people)]
    return [
        partial(issue_once, issuer, token, c, f"bench-{salt}-{k}") for k, c in enumerate(people)
    ]


def run(calls: list[Callable[[], tuple[float, int]]], threads: int, pgid: int) -> wrk.Run:
    """Send ``calls``, ``threads`` at once; the run's rate, latencies and server CPU."""
    with noise.meter(pgid) as meter, ThreadPoolExecutor(threads) as pool:
        began = time.perf_counter()
        results = list(pool.map(lambda call: call(), calls))
        seconds = time.perf_counter() - began
    latencies = sorted(r[0] * 1000 for r in results)
    good = sum(1 for r in results if r[1] == 200)
    return wrk.Run(
        seconds=seconds,
        requests=len(results),
        units=good,
        p50_ms=_rank(latencies, 0.50),
        p99_ms=_rank(latencies, 0.99),
        errors={"status": len(results) - good, "timeout": 0, "connect": 0},
        counters={},
        notes={"statuses": ",".join(sorted({str(r[1]) for r in results}))},
        foreign_cpu=meter.foreign,
        server_cpu=meter.server,
    )


def _rank(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return ordered[max(0, math.ceil(len(ordered) * share) - 1)]
