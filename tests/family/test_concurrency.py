"""The limits under real concurrency on PostgreSQL: N agents' requests at the same instant.

- An agent with 7 relatives sends N additions at once: exactly one becomes the 8th, the others
  are refused too-many-relatives, and 8 remain (the slot counter's conditional UPDATE).
- N requests for one pair at once leave one relationship (the partial unique index).
- Two people adding each other at once both succeed, no deadlock (slots locked in id order).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idp.app import create_app
from idp.provider import Provider
from tests.conftest import PG_URL
from tests.conftest import _truncate
from tests.conftest import test_settings as settings_for
from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.helpers import ask
from tests.family.helpers import person
from tests.family.test_limits import add
from tests.family.test_limits import live_count
from tests.support import FakeClock

pytestmark = pytest.mark.skipif(
    not PG_URL.startswith("postgresql"), reason="needs ESSC_DATABASE_URL=postgresql+psycopg://..."
)

N = 6


@pytest.fixture
def pg_provider(
    request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path
) -> Iterator[Provider]:
    url: str = request.getfixturevalue("pg_database")
    _truncate(url)
    provider = Provider(settings_for(url, instance_dir=str(tmp_path)), clock=clock)
    yield provider
    provider.db.dispose()


@pytest.fixture
def pg_app(pg_provider: Provider) -> Any:
    return create_app(pg_provider.settings, provider=pg_provider)


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def statuses(responses: list[Any]) -> list[int]:
    return sorted(r.status_code for r in responses)


def test_simultaneous_additions_of_a_ninth_leave_eight(pg_app: Any, pg_provider: Provider) -> None:
    channel = Channel(pg_provider)
    agent = person(pg_provider, 2, born="19800101")
    for i in range(7):
        add(pg_provider, pg_provider.family, agent, person(pg_provider, 10 + i), channel.client_id)
    token = channel.token(pg_app, agent)
    newcomers = [person(pg_provider, 30 + i) for i in range(N)]
    clients = [pg_app.test_client() for _ in newcomers]
    answers = at_once(
        [lambda w=w, p=p: ask(w, token, p) for w, p in zip(clients, newcomers, strict=True)]
    )
    assert statuses(answers) == [201] + [409] * (N - 1)
    assert all(
        a.json["type"].endswith("/too-many-relatives") for a in answers if a.status_code == 409
    )
    assert live_count(pg_provider, agent) == (8, 8)


def test_two_at_once_from_seven_leave_eight(pg_app: Any, pg_provider: Provider) -> None:
    channel = Channel(pg_provider)
    agent = person(pg_provider, 2, born="19800101")
    for i in range(7):
        add(pg_provider, pg_provider.family, agent, person(pg_provider, 10 + i), channel.client_id)
    token = channel.token(pg_app, agent)
    ninth = [person(pg_provider, 40), person(pg_provider, 41)]
    answers = at_once([lambda p=p: ask(pg_app.test_client(), token, p) for p in ninth])
    assert statuses(answers) == [201, 409]
    assert live_count(pg_provider, agent) == (8, 8)


def test_one_pair_asked_at_once_is_one_relationship(pg_app: Any, pg_provider: Provider) -> None:
    channel = Channel(pg_provider)
    agent, principal = person(pg_provider, 2), person(pg_provider, 3)
    token = channel.token(pg_app, agent)
    answers = at_once([lambda: ask(pg_app.test_client(), token, principal) for _ in range(N)])
    assert statuses(answers) == [201] + [409] * (N - 1)
    assert live_count(pg_provider, agent) == (1, 1)


def test_two_people_adding_each_other_at_once(pg_app: Any, pg_provider: Provider) -> None:
    channel = Channel(pg_provider)
    a: Person = person(pg_provider, 2, born="19800101")
    b: Person = person(pg_provider, 3, born="19820101")
    tokens = {a.person_id: channel.token(pg_app, a), b.person_id: channel.token(pg_app, b)}
    for _ in range(3):
        answers = at_once(
            [
                lambda: ask(pg_app.test_client(), tokens[a.person_id], b, relationship="spouse"),
                lambda: ask(pg_app.test_client(), tokens[b.person_id], a, relationship="spouse"),
            ]
        )
        assert statuses(answers) == [201, 201]
        for answer, token in zip(answers, (tokens[a.person_id], tokens[b.person_id]), strict=True):
            end = pg_app.test_client().post(
                f"/api/v1/family/relationships/{answer.json['id']}/end",
                headers={"Authorization": "Bearer " + token},
            )
            assert end.status_code == 200
    assert live_count(pg_provider, a) == (0, 0)
