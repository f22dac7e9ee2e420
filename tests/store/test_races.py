"""Exactly-once under real concurrency, on SQLite and on the real PostgreSQL (issue 6).

- N identical issuances with one idempotency key, released together through the HTTP app: one
  e-card row, every success the same answer, any other answer a 409 that a retry resolves.
- N wrong PINs for one card at once (browser sign-in and the channel API's unbind): at most
  ``pin_max_failures`` argon2 verifications per lock window, counted by wrapping the verifier.
- Unknown and known cards give the same answers to seven wrong PINs.

Each race runs several rounds so that a rare interleaving shows; argon2 is cheap in tests.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from idp.store.ecards import ECard
from idp.store.people import Person
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import bearer
from tests.ecard_helpers import issue_body
from tests.support import CARD
from tests.support import authorize_params
from tests.support import csrf_of
from tests.support import pkce_pair

N = 20
ROUNDS = 5
MAX_FAILURES = 5
WRONG = "135790"


def all_at_once(app: Any, calls: list[Callable[[Any], Any]]) -> list[Any]:
    """``calls[i](test_client)`` in its own thread, all released by one barrier; the results."""
    barrier = threading.Barrier(len(calls), timeout=60)
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def worker(i: int, web: Any) -> None:
        try:
            barrier.wait()
            results[i] = calls[i](web)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(i, app.test_client())) for i in range(len(calls))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert all(r is not None for r in results)
    return results


def poster(path: str, body: dict[str, Any], headers: dict[str, str]) -> Callable[[Any], Any]:
    """A JSON POST of ``body`` to ``path``, to be sent by any test client."""

    def post(web: Any) -> Any:
        return web.post(path, json=body, headers=headers)

    return post


@pytest.fixture
def verifications(provider: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str | None]]:
    """Every argon2 verification the provider runs: the stored hash checked (None: the decoy)."""
    hasher = provider.pin_hasher
    real = hasher.verify
    seen: list[str | None] = []
    lock = threading.Lock()

    def counting(stored: str | None, pin: str) -> bool:
        with lock:
            seen.append(stored)
        return bool(real(stored, pin))

    monkeypatch.setattr(hasher, "verify", counting)
    yield seen


# -- idempotent issuance -------------------------------------------------------------------
def comparable(body: dict[str, Any]) -> dict[str, Any]:
    """The answer without the credential's ECDSA signature, which is fresh on every rebuild;
    its header, claims and disclosures must be identical."""
    jwt, _, disclosures = body["credential"].partition("~")
    return {**body, "credential": (jwt.rsplit(".", 1)[0], disclosures)}


def test_simultaneous_identical_issuances_make_one_ecard(
    provider: Any, app: Any, web: Any, cardholder: Any
) -> None:
    channel = add_channel(provider, "wechat")
    for round_ in range(ROUNDS):
        provider.clock.advance(60)
        headers = bearer(web, channel)
        body = issue_body(provider, idempotency_key=f"req-race-{round_:04d}")
        post = poster("/api/v1/ecards", body, headers)
        responses = all_at_once(app, [post] * N)

        answers = [r for r in responses if r.status_code in (200, 201)]
        refused = [r for r in responses if r.status_code not in (200, 201)]
        assert [r.status_code for r in answers].count(201) == 1
        for r in refused:  # a clear conflict, which a retry resolves to the one answer
            assert r.status_code == 409, r.get_data(as_text=True)
            assert r.json["type"].endswith("/problems/concurrent-issuance")
            answers.append(post(web))
        replay = post(web)
        assert replay.status_code == 200
        expected = comparable(replay.json)
        assert all(comparable(r.json) == expected for r in answers), [r.json for r in answers]
        assert {r.headers["Location"] for r in answers} == {replay.headers["Location"]}
        assert expected["status"] == "active"
        assert ("supersedes" in expected) == (round_ > 0)
        with provider.db.read() as s:
            keyed = s.scalars(
                select(ECard).where(ECard.idempotency_key == body["idempotency_key"])
            ).all()
            active = s.scalar(
                select(func.count()).select_from(ECard).where(ECard.status == "active")
            )
            total = s.scalar(select(func.count()).select_from(ECard))
        assert [e.sign_no for e in keyed] == [expected["sign_no"]]
        assert (active, total) == (1, round_ + 1)


# -- the PIN lockout under concurrency -------------------------------------------------------
def open_signin(web: Any, client: Any) -> tuple[str, str]:
    """Start a code flow in this browser: the sign-in page's path and its CSRF token."""
    _, challenge = pkce_pair()
    response = web.get("/authorize", query_string=authorize_params(client, challenge))
    location = response.headers["Location"]
    assert location.endswith("/signin"), location
    return location, csrf_of(web.get(location).get_data(as_text=True))


def sign_in_call(app: Any, client: Any, credential: str, pin: str) -> Callable[[Any], Any]:
    """A browser made ready before the race; the call posts its sign-in form."""
    ready = app.test_client()
    location, csrf = open_signin(ready, client)
    form = {"csrf_token": csrf, "credential": credential, "pin": pin}
    return lambda _web: ready.post(location, data=form)


@pytest.mark.parametrize("credential", [CARD["card_number"], CARD["id_number"], "B99999999"])
def test_simultaneous_wrong_pins_verify_at_most_five(
    provider: Any,
    app: Any,
    cardholder: Any,
    portal: Any,
    verifications: list[str | None],
    credential: str,
) -> None:
    known = credential != "B99999999"
    for _ in range(ROUNDS):
        calls = [sign_in_call(app, portal, credential, WRONG) for _ in range(N)]
        verifications.clear()
        statuses = sorted(r.status_code for r in all_at_once(app, calls))
        # Five admitted and verified: four say "wrong", the fifth locks; the rest never verify.
        assert len(verifications) == MAX_FAILURES
        assert statuses == [401] * (MAX_FAILURES - 1) + [429] * (N - MAX_FAILURES + 1)
        if known:
            right = sign_in_call(app, portal, credential, CARD["pin"])(None)
            assert right.status_code == 429 and len(verifications) == MAX_FAILURES
        provider.clock.advance(provider.settings.pin_lockout_seconds + 1)
        if known:  # the window has passed: the right PIN works and resets the count
            assert sign_in_call(app, portal, credential, CARD["pin"])(None).status_code == 303
    if known:
        with provider.db.read() as s:
            person = s.get(Person, cardholder["person_id"])
            assert person is not None and person.pin_failures == 0
            assert person.pin_locked_until is None


def test_simultaneous_wrong_pins_at_unbind_verify_at_most_five(
    provider: Any, app: Any, web: Any, cardholder: Any, verifications: list[str | None]
) -> None:
    channel = add_channel(provider, "alipay")
    headers = bearer(web, channel)
    created = web.post("/api/v1/ecards", json=issue_body(provider, "alipay"), headers=headers)
    path = created.headers["Location"] + "/unbind"
    for _ in range(ROUNDS):
        headers = bearer(web, channel)
        wrong = poster(path, {"factor": "pin", "pin": WRONG}, headers)
        verifications.clear()
        statuses = sorted(r.status_code for r in all_at_once(app, [wrong] * N))
        assert len(verifications) == MAX_FAILURES
        assert statuses == [403] * (MAX_FAILURES - 1) + [423] * (N - MAX_FAILURES + 1)
        right = web.post(path, json={"factor": "pin", "pin": CARD["pin"]}, headers=headers)
        assert right.status_code == 423 and len(verifications) == MAX_FAILURES
        provider.clock.advance(provider.settings.pin_lockout_seconds + 1)
    headers = bearer(web, channel)
    done = web.post(path, json={"factor": "pin", "pin": CARD["pin"]}, headers=headers)
    assert done.status_code == 200 and done.json["status"] == "unbound"


# -- unknown and known cards answer alike ------------------------------------------------------
def page(response: Any) -> tuple[int, str]:
    """The page without its CSRF token and the credential the form keeps: that is what was typed
    (or nothing, by its shape alone), so it says nothing about whether the card exists."""
    body = re.sub(r'name="csrf_token" value="[^"]+"', "", response.get_data(as_text=True))
    return response.status_code, re.sub(r'(name="credential"[^>]*) value="[^"]*"', r"\1", body)


#: No such card; no such holder (a valid ID number); a wrong check digit; not a number at all.
UNKNOWN = ["B99999999", "110105198001010016", "110105198001010017", "no such!"]


@pytest.mark.parametrize("unknown", UNKNOWN)
def test_unknown_and_known_cards_answer_seven_wrong_pins_alike(
    provider: Any, app: Any, cardholder: Any, portal: Any, unknown: str
) -> None:
    web = app.test_client()
    location, csrf = open_signin(web, portal)

    def attempt(credential: str) -> tuple[int, str]:
        return page(
            web.post(location, data={"csrf_token": csrf, "credential": credential, "pin": WRONG})
        )

    known = [attempt(CARD["card_number"]) for _ in range(7)]
    other = [attempt(unknown) for _ in range(7)]
    assert [status for status, _ in known] == [401] * 4 + [429] * 3
    assert other == known


def test_unbind_answers_seven_wrong_pins_as_the_sign_in_counts_them(
    provider: Any, web: Any, cardholder: Any
) -> None:
    """The channel API checks the PIN only of its own e-card (any other sign_no is 404 before a
    PIN is read); its answers follow the same counter as the sign-in page."""
    channel = add_channel(provider, "bank")
    headers = bearer(web, channel)
    created = web.post("/api/v1/ecards", json=issue_body(provider, "bank"), headers=headers)
    path = created.headers["Location"] + "/unbind"
    answers = [
        web.post(path, json={"factor": "pin", "pin": WRONG}, headers=headers) for _ in range(7)
    ]
    assert [r.status_code for r in answers] == [403] * 4 + [423] * 3
    assert {r.json["type"].rsplit("/", 1)[1] for r in answers} == {"factor-failed", "pin-locked"}
    elsewhere = web.post(
        "/api/v1/ecards/" + "x" * 43 + "/unbind",
        json={"factor": "pin", "pin": WRONG},
        headers=headers,
    )
    assert elsewhere.status_code == 404
