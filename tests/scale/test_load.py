"""``essc scale load`` (issue 12 item 4): the people it makes are real to the application.

200 cardholders go into a fresh PostgreSQL database through the command; then one of them signs
in through the app with card number and PIN (and another with the ID number, found by its blind
index), gets a code and a token, and a seeded channel reads one of the e-cards' status.
Skipped without PostgreSQL, as the other PostgreSQL tests are.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy import text

from idp.app import create_app
from idp.cardholders.gb11643 import normalize_id_number
from idp.cardholders.service import ID_CONTEXT
from idp.cli import main
from idp.provider import Provider
from idp.scale import people
from tests.conftest import PG_URL
from tests.conftest import test_settings as settings_for
from tests.support import approve
from tests.support import authorize_params
from tests.support import basic
from tests.support import exchange
from tests.support import pkce_pair
from tests.support import query_of
from tests.support import register
from tests.support import sign_in

N = 200


def _env(tmp_path: Path) -> dict[str, str]:
    """The settings ``test_settings`` gives the app, so both open the same key ring."""
    return {
        "ESSC_ISSUER": "http://localhost",
        "ESSC_INSTANCE_DIR": str(tmp_path),
        "ESSC_PIN_HASH_MEMORY_KIB": "1024",
        "ESSC_PIN_HASH_TIME_COST": "1",
        "ESSC_REDIS_URL": "",
    }


def _drop(url: str) -> None:
    base, name = url.rsplit("/", 1)
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def scale_url() -> Iterator[str]:
    if not PG_URL.startswith("postgresql"):
        pytest.skip("ESSC_DATABASE_URL is not a PostgreSQL URL")
    url = PG_URL.rsplit("/", 1)[0] + f"/essc_scale_test_{uuid.uuid4().hex[:12]}"
    yield url
    _drop(url)


def _load(url: str, tmp_path: Path, *extra: str) -> Any:
    args = ["scale", "load", "--cardholders", str(N), "--database-url", url, "--chunk", "64"]
    return CliRunner().invoke(main, [*args, *extra], env=_env(tmp_path))


@pytest.fixture
def loaded(scale_url: str, tmp_path: Path) -> Iterator[tuple[Provider, dict[str, Any]]]:
    result = _load(scale_url, tmp_path)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    p = Provider(settings_for(scale_url, redis_url="", instance_dir=str(tmp_path)))
    yield p, summary
    p.db.dispose()


def test_the_load_counts_rows_and_keeps_every_index(loaded: tuple[Provider, dict[str, Any]]):
    p, summary = loaded
    assert summary["cardholders"] == N and summary["rows"] == 3 * N
    with p.db.read() as s:
        counts = [
            s.scalar(text(f"SELECT count(*) FROM {t}"))  # noqa: S608 - fixed names
            for t in ("persons", "cards", "ecards")
        ]
        indexes = set(
            s.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'ecards'"))
        )
        channels = s.scalar(text("SELECT count(DISTINCT client_id) FROM ecards"))
    assert counts == [N, N, N]
    assert {"uq_ecards_active_person_channel", "uq_ecards_client_idempotency_key"} <= indexes
    assert channels == 5


def test_a_generated_cardholder_signs_in_and_their_ecard_is_found(
    loaded: tuple[Provider, dict[str, Any]], tmp_path: Path
):
    p, _ = loaded
    web = create_app(p.settings, provider=p).test_client()
    portal = register(p, kind="portal")
    for credential in (people.cardholder(17, 1).card_number, people.cardholder(123, 1).id_number):
        person = people.cardholder(17 if len(credential) < 18 else 123, 1)
        verifier, challenge = pkce_pair()
        first = web.get("/authorize", query_string=authorize_params(portal, challenge))
        assert first.status_code == 303
        signed = sign_in(web, first.headers["Location"], credential, person.pin)
        assert signed.status_code == 303 and signed.headers["Location"].endswith("/consent")
        code = query_of(approve(web, signed.headers["Location"]).headers["Location"])["code"]
        assert exchange(web, portal, code, verifier).status_code == 200
        web.delete_cookie("essc_session")

    with p.db.read() as s:
        enc, sign_no, client_id = s.execute(
            text(
                "SELECT p.id_number_enc, e.sign_no, e.client_id FROM persons p "
                "JOIN cards c ON c.person_id = p.id JOIN ecards e ON e.card_id = c.id "
                "WHERE c.card_number = :n"
            ),
            {"n": people.cardholder(42, 1).card_number},
        ).one()
    assert p.keyring.decrypt_field(enc, context=ID_CONTEXT) == people.cardholder(42, 1).id_number
    channels = json.loads((tmp_path / "scale-channels.json").read_text())["channels"]
    channel = next(c for c in channels if c["client_id"] == client_id)
    token = web.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "essc.ecard"},
        headers=basic(channel["client_id"], channel["client_secret"]),
    ).get_json()["access_token"]
    status = web.get(f"/api/v1/ecards/{sign_no}", headers={"Authorization": f"Bearer {token}"})
    assert status.status_code == 200, status.get_data(as_text=True)
    assert status.get_json()["status"] == "active"


def test_an_existing_database_is_refused_and_nothing_changes(scale_url: str, tmp_path: Path):
    assert _load(scale_url, tmp_path).exit_code == 0
    again = _load(scale_url, tmp_path)
    assert again.exit_code == 1 and "exists" in again.output
    engine = create_engine(scale_url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM persons")) == N
    engine.dispose()


@pytest.mark.parametrize(
    "args",
    [
        ["--cardholders", "0", "--database-url", "postgresql+psycopg://postgres@127.0.0.1/x"],
        ["--cardholders", "5", "--database-url", "sqlite:///x.db"],
        ["--cardholders", "5", "--database-url", 'postgresql+psycopg://h/a"b'],
        ["--cardholders", "5", "--database-url", "postgresql+psycopg://h/x", "--chunk", "0"],
    ],
)
def test_bad_arguments_end_in_one_line_and_create_nothing(args: list[str], tmp_path: Path):
    result = CliRunner().invoke(main, ["scale", "load", *args], env=_env(tmp_path))
    assert result.exit_code in (1, 2) and "Traceback" not in result.output
    if PG_URL.startswith("postgresql"):
        admin = create_engine(PG_URL)
        with admin.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM pg_database WHERE datname = 'x'")) == 0
        admin.dispose()


def test_the_same_seed_gives_the_same_people_and_another_seed_others():
    assert [people.cardholder(i, 7) for i in range(50)] == [
        people.cardholder(i, 7) for i in range(50)
    ]
    assert people.cardholder(3, 7).id_number != people.cardholder(3, 8).id_number


def test_ten_thousand_people_have_distinct_valid_id_numbers():
    permutation = people.Permutation.from_seed(1)
    ids = [people.cardholder(i, 1, permutation).id_number for i in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(normalize_id_number(i) == i for i in ids)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, people.CAPACITY - 1), st.integers(0, 2**31))
def test_every_slot_is_a_valid_id_number_and_the_pin_passes_the_rules(i: int, seed: int):
    c = people.cardholder(i, seed)
    assert normalize_id_number(c.id_number) == c.id_number
    assert c.pin not in c.id_number
    assert c.id_number.startswith(c.region_code)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31), st.integers(0, people.CAPACITY - 2))
def test_the_permutation_never_maps_two_people_to_one_number(seed: int, i: int):
    permutation = people.Permutation.from_seed(seed)
    assert permutation(i) != permutation(i + 1)
    assert 0 <= permutation(i) < people.CAPACITY


def test_the_plan_check_runs_every_hot_flow_on_a_loaded_database(
    loaded: tuple[Provider, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    from bench import scale_explain

    p, _ = loaded
    for name, value in _env(tmp_path).items():
        monkeypatch.setenv(name, value)
    channels = tmp_path / "scale-channels.json"
    argv = ["--database-url", p.settings.database_url, "--channels-file", str(channels)]
    assert scale_explain.main([*argv, "--cardholders", str(N)]) == 0
    printed = capsys.readouterr().out
    assert "Index Scan on persons using uq_persons_id_number_index" in printed
    assert "Index Scan on ecards using pk_ecards" in printed
