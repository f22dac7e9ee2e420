"""SQL statements and CPU per authorization-code round trip, counted in-process.

One-off, before the load: the instance's Flask app is driven through its test client (no
server, no network), the cardholder signs in and consents once, ``WARM_UP`` round trips run
uncounted, then ``ROUND_TRIPS`` times ``GET /authorize`` (302 with a code) + ``POST /token``.
A SQLAlchemy ``before_cursor_execute`` listener counts every statement the product sends;
``commit`` events count transactions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from sqlalchemy import event

from bench.instance import CARDHOLDER
from bench.instance import REDIRECT_URI
from bench.instance import Instance
from bench.signin import SignInError
from bench.signin import _Form
from bench.signin import pkce_pair

ROUND_TRIPS = 200
WARM_UP = 20


@dataclass(frozen=True)
class Counted:
    round_trips: int
    statements: int
    commits: int
    cpu_seconds: float

    @property
    def statements_per_round_trip(self) -> float:
        return self.statements / self.round_trips

    @property
    def commits_per_round_trip(self) -> float:
        return self.commits / self.round_trips

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


def _signed_in(web: Any, instance: Instance, query: str) -> None:
    step = web.get(f"/authorize?{query}")
    page = web.get(urlsplit(step.headers["Location"]).path)
    action, fields = _form(page)
    fields.update(credential=CARDHOLDER["card_number"], pin=CARDHOLDER["pin"])
    step = web.post(action, data=fields)
    consent = step.headers.get("Location", "")
    if not consent.startswith(REDIRECT_URI):
        action, fields = _form(web.get(urlsplit(consent).path))
        fields["decision"] = "approve"
        web.post(action, data=fields)


def count(instance: Instance, round_trips: int = ROUND_TRIPS) -> Counted:
    """Statements, commits and CPU for ``round_trips`` round trips of a signed-in user."""
    with _environment(instance.env):
        from idp.app import create_app

        app = create_app()
    engine = app.extensions["essc"].db.engine
    web = app.test_client()
    verifier, challenge = pkce_pair()
    query = (
        f"response_type=code&client_id={instance.portal.client_id}"
        f"&redirect_uri={REDIRECT_URI}&scope=openid+profile&state=bench&nonce=bench"
        f"&code_challenge={challenge}&code_challenge_method=S256"
    )
    _signed_in(web, instance, query)
    counts = {"statements": 0, "commits": 0}

    def statement(*_: Any) -> None:
        counts["statements"] += 1

    def commit(*_: Any) -> None:
        counts["commits"] += 1

    token_form = {"grant_type": "authorization_code", "redirect_uri": REDIRECT_URI}
    headers = {"Authorization": instance.portal.basic}

    def round_trip() -> None:
        code = _code(web.get(f"/authorize?{query}"))
        data = {**token_form, "code": code, "code_verifier": verifier}
        answer = web.post("/token", data=data, headers=headers)
        if answer.status_code != 200:
            raise SignInError(f"in-process token: {answer.status_code} {answer.data[:200]!r}")

    for _ in range(WARM_UP):  # keys unwrapped, caches filled, code paths imported
        round_trip()
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    started = time.process_time()
    try:
        for _ in range(round_trips):
            round_trip()
    finally:
        cpu = time.process_time() - started
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
        app.extensions["essc"].db.dispose()
    return Counted(round_trips, counts["statements"], counts["commits"], cpu)
