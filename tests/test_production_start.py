"""A production start refuses what only development may use (issue 13 item 10).

Each refusal is a ``ConfigurationError`` whose message names the setting and says what to do;
``Provider`` runs ``Settings.check()``, so the app, every ``essc`` command and the WSGI entry
point stop before serving anything.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner

from idp.cli import main
from idp.provider import Provider
from idp.settings import DEV_KEY_PASSPHRASE
from idp.settings import DEV_SECRET_KEY
from idp.settings import ConfigurationError
from idp.settings import Settings

PG = "postgresql+psycopg://idp@db/essc"


def production(instance: Path, **changes: str) -> dict[str, str]:
    environ = {
        "ESSC_ENV": "production",
        "ESSC_ISSUER": "https://idp.essc.example",
        "ESSC_SECRET_KEY": secrets.token_urlsafe(32),
        "ESSC_KEY_PASSPHRASE": secrets.token_urlsafe(16),
        "ESSC_DATABASE_URL": PG,
        "ESSC_INSTANCE_DIR": str(instance),
    }
    return {**environ, **changes}


def refusal(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(environ).check()
    return str(caught.value)


def test_a_complete_production_configuration_starts(tmp_path: Path) -> None:
    Settings.from_env(production(tmp_path)).check()


def test_the_development_secret_is_refused(tmp_path: Path) -> None:
    message = refusal(production(tmp_path, ESSC_SECRET_KEY=DEV_SECRET_KEY))
    assert "development ESSC_SECRET_KEY" in message and "32+ random characters" in message


def test_the_development_key_passphrase_is_refused(tmp_path: Path) -> None:
    """The development passphrase opens every key ring `make run` made: its keys are known."""
    message = refusal(production(tmp_path, ESSC_KEY_PASSPHRASE=DEV_KEY_PASSPHRASE))
    assert "development ESSC_KEY_PASSPHRASE" in message


@pytest.mark.parametrize(
    "name", ["demo-client.json", "demo-merchant.json", "demo-scan-app.json", "demo-wallet.json"]
)
def test_an_instance_holding_the_demos_keys_is_refused(tmp_path: Path, name: str) -> None:
    """`essc demo` writes the demo channels' private key and secrets into the instance."""
    (tmp_path / name).write_text(json.dumps({"client_id": "demo"}), encoding="utf-8")
    message = refusal(production(tmp_path))
    assert name in message and "essc demo" in message and "fresh instance" in message


def test_other_files_in_the_instance_are_not_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    Settings.from_env(production(tmp_path)).check()


@pytest.mark.parametrize("url", ["sqlite:///srv/essc.db", "sqlite+pysqlite:///:memory:"])
def test_sqlite_is_refused(tmp_path: Path, url: str) -> None:
    message = refusal(production(tmp_path, ESSC_DATABASE_URL=url))
    assert "refuses SQLite" in message and "ESSC_DATABASE_URL" in message


def test_the_default_database_is_sqlite_so_production_must_name_one(tmp_path: Path) -> None:
    environ = production(tmp_path)
    del environ["ESSC_DATABASE_URL"]
    assert "refuses SQLite" in refusal(environ)


@pytest.mark.parametrize(
    "issuer",
    ["http://idp.essc.example", "http://10.0.0.5:5000", "http://127.0.0.1.nip.io", "ftp://idp.x"],
)
def test_an_issuer_without_https_is_refused(tmp_path: Path, issuer: str) -> None:
    message = refusal(production(tmp_path, ESSC_ISSUER=issuer))
    assert "https ESSC_ISSUER" in message


@pytest.mark.parametrize("issuer", ["http://127.0.0.1:8080", "http://localhost:8080"])
def test_a_loopback_trial_may_use_http_and_sqlite(tmp_path: Path, issuer: str) -> None:
    """The benchmarks and live tests run production servers on one machine (docs)."""
    environ = production(tmp_path, ESSC_ISSUER=issuer, ESSC_DATABASE_URL="sqlite:///x.db")
    Settings.from_env(environ).check()


def test_the_provider_refuses_before_opening_anything(tmp_path: Path) -> None:
    settings = Settings.from_env(production(tmp_path, ESSC_DATABASE_URL="sqlite:///x.db"))
    with pytest.raises(ConfigurationError, match="refuses SQLite"):
        Provider(settings)


def test_essc_says_it_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in production(tmp_path, ESSC_DATABASE_URL="sqlite:///x.db").items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["keys", "list"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "production refuses SQLite" in result.output
