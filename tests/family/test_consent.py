"""No consent, no power: the principal consents in their own channel with an assertion for
their own e-card and their PIN (a wrong PIN counts towards the lockout), or at the counter."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from idp.cli import main
from idp.provider import Provider
from idp.store.people import Person as PersonRow
from tests.family.helpers import PIN
from tests.family.helpers import PREFIX
from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.helpers import ask
from tests.family.helpers import bearer
from tests.family.helpers import consent


def requested(app: Any, web: Any, channel: Channel, agent: Person, principal: Person) -> Any:
    own = channel.token(app, agent)
    body = ask(web, own, principal).json
    return own, body["id"], body["principal_ref"]


def test_without_consent_no_power(
    app: Any, web: Any, channel: Channel, father: Person, daughter: Person
) -> None:
    own, _, ref = requested(app, web, channel, daughter, father)
    refused = channel.exchange(web, own, ref)
    assert refused.status_code == 400 and refused.json["error"] == "invalid_request"


def test_the_assertion_must_be_the_principals(
    app: Any, web: Any, channel: Channel, father: Person, daughter: Person
) -> None:
    _, rel_id, _ = requested(app, web, channel, daughter, father)
    daughters_card = channel.ecard(daughter)
    refused = consent(web, channel, rel_id, daughters_card, ["view_card"])
    assert refused.status_code == 403 and refused.json["type"].endswith("/consent-refused")
    body = {"assertion": "x.y.z", "pin": PIN, "powers": ["view_card"]}
    forged = web.post(f"{PREFIX}/relationships/{rel_id}/consent", json=body)
    assert forged.status_code == 403 and forged.json["reason"] == "malformed"


def test_an_assertion_is_used_once(
    app: Any, web: Any, channel: Channel, father: Person, daughter: Person
) -> None:
    _, rel_id, _ = requested(app, web, channel, daughter, father)
    sign_no = channel.ecard(father)
    body = {"assertion": channel.assertion(sign_no), "pin": "000000", "powers": ["view_card"]}
    first = web.post(f"{PREFIX}/relationships/{rel_id}/consent", json=body)
    assert first.status_code == 403 and first.json["type"].endswith("/wrong-pin")
    replay = web.post(f"{PREFIX}/relationships/{rel_id}/consent", json={**body, "pin": PIN})
    assert replay.status_code == 403 and replay.json["reason"] == "replayed"


def test_wrong_pins_count_and_lock(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    _, rel_id, _ = requested(app, web, channel, daughter, father)
    sign_no = channel.ecard(father)
    for tries_left in range(provider.settings.pin_max_failures - 1, 0, -1):
        wrong = consent(web, channel, rel_id, sign_no, ["view_card"], pin="000000")
        assert wrong.status_code == 403 and wrong.json["tries_left"] == tries_left
    consent(web, channel, rel_id, sign_no, ["view_card"], pin="000000")
    locked = consent(web, channel, rel_id, sign_no, ["view_card"])
    assert locked.status_code == 423 and locked.json["type"].endswith("/pin-locked")
    with provider.db.read() as s:
        row = s.get(PersonRow, father.person_id)
        assert row is not None and row.pin_locked_until is not None


def test_consent_names_powers_within_the_request_and_happens_once(
    app: Any, web: Any, channel: Channel, father: Person, daughter: Person
) -> None:
    _, rel_id, _ = requested(app, web, channel, daughter, father)
    sign_no = channel.ecard(father)
    body = {"assertion": channel.assertion(sign_no), "pin": PIN}
    unnamed = web.post(f"{PREFIX}/relationships/{rel_id}/consent", json=body)
    assert unnamed.status_code == 422 and unnamed.json["field"] == "powers"
    assert consent(web, channel, rel_id, sign_no, ["query_benefits"]).status_code == 200
    twice = consent(web, channel, rel_id, sign_no, ["query_benefits"])
    assert twice.status_code == 409


def test_either_side_ends_it_and_nobody_else(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    from tests.family.helpers import person

    own, rel_id, _ = requested(app, web, channel, daughter, father)
    stranger = channel.token(app, person(provider, 40))
    path = f"{PREFIX}/relationships/{rel_id}/end"
    assert web.post(path, headers=bearer(stranger)).status_code == 404
    assert web.post(path, headers=bearer(own)).status_code == 200
    again = web.post(path, headers=bearer(own))
    assert again.status_code == 409


def test_consent_at_the_counter(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    if not provider.settings.database_url.startswith("sqlite"):
        # A command's engine lives as long as its process; in this one it would leak.
        pytest.skip("the CLI runs on SQLite here, as in tests/cli")
    own, rel_id, ref = requested(app, web, channel, daughter, father)
    env = {
        "ESSC_DATABASE_URL": provider.settings.database_url,
        "ESSC_ISSUER": provider.issuer,
        "ESSC_REDIS_URL": provider.settings.redis_url,
        "ESSC_KEY_PASSPHRASE": None,
        "ESSC_ENV": None,
    }
    run = CliRunner().invoke
    args = ["family", "consent", rel_id, "--power", "view_card", "--operator", "op-0042"]
    missing = run(main, args, env=env)
    assert missing.exit_code == 2  # --evidence is required
    bad = run(main, [*args, "--power", "fly", "--evidence", "form 77"], env=env)
    assert bad.exit_code == 1 and "invalid-request" in bad.stderr
    done = run(main, [*args, "--evidence", "form 77, ID card seen"], env=env)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["state"] == "active"
    exchanged = channel.exchange(web, own, ref)
    assert exchanged.status_code == 200 and exchanged.json["scope"] == "essc.family.view_card"
    ended = run(main, ["family", "end", rel_id], env=env)
    assert ended.exit_code == 0
    assert run(main, ["family", "end", rel_id], env=env).exit_code == 1
