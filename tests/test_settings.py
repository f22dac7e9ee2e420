"""``Settings.from_env`` parsing and ``check()`` failing closed in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from idp.settings import DEV_KEY_PASSPHRASE
from idp.settings import DEV_SECRET_KEY
from idp.settings import ConfigurationError
from idp.settings import Settings

SECRET = "s" * 32
PASSPHRASE = "p" * 16
PRODUCTION = {
    "ESSC_ENV": "production",
    "ESSC_ISSUER": "https://idp.essc.example",
    "ESSC_SECRET_KEY": SECRET,
    "ESSC_KEY_PASSPHRASE": PASSPHRASE,
    "ESSC_DATABASE_URL": "postgresql+psycopg://idp@db/essc",
    # Not the working directory's instance/, which `make run` may have filled with demo keys.
    "ESSC_INSTANCE_DIR": str(Path(__file__).parent / "no-such-instance"),
}


def test_defaults_are_development_and_pass_check() -> None:
    settings = Settings.from_env({})
    assert settings.env == "development" and not settings.production
    assert settings.secret_key == DEV_SECRET_KEY
    assert settings.authorization_code_ttl == 60 and not settings.demo
    settings.check()


def test_each_type_is_parsed() -> None:
    settings = Settings.from_env(
        {
            "ESSC_ISSUER": "https://idp.example",
            "ESSC_ACCESS_TOKEN_TTL": "120",
            "ESSC_PIN_MAX_FAILURES": " 3 ",
            "ESSC_DEMO": "yes",
            "ESSC_REDIS_URL": "redis://cache:6379/2",
            "ESSC_UNKNOWN_THING": "ignored",
            "OTHER": "ignored",
        }
    )
    assert settings.issuer == "https://idp.example"
    assert settings.access_token_ttl == 120 and settings.pin_max_failures == 3
    assert settings.demo is True
    assert settings.redis_url == "redis://cache:6379/2"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("ON", True),
        ("Yes", True),
        ("0", False),
        ("false", False),
        ("off", False),
        ("no", False),
        ("", False),
    ],
)
def test_booleans(raw: str, expected: bool) -> None:
    assert Settings.from_env({"ESSC_DEMO": raw}).demo is expected


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [
        ("ESSC_ACCESS_TOKEN_TTL", "five minutes", "ESSC_ACCESS_TOKEN_TTL must be an integer"),
        ("ESSC_AUTHORIZATION_CODE_TTL", "60s", "ESSC_AUTHORIZATION_CODE_TTL must be an integer"),
        ("ESSC_PIN_MAX_FAILURES", "", "ESSC_PIN_MAX_FAILURES must be an integer"),
        ("ESSC_MAX_REQUEST_BYTES", "1.5", "ESSC_MAX_REQUEST_BYTES must be an integer"),
        ("ESSC_DEMO", "maybe", "ESSC_DEMO must be true or false"),
    ],
)
def test_bad_values_name_the_variable_not_the_value(variable: str, raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({variable: raw})
    assert str(caught.value) == message


def test_overrides_win_over_the_environment() -> None:
    settings = Settings.from_env({"ESSC_ACCESS_TOKEN_TTL": "120"}, access_token_ttl=60)
    assert settings.access_token_ttl == 60
    assert settings.with_overrides(demo=True).demo and not settings.demo


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESSC_ID_TOKEN_TTL", "900")
    assert Settings.from_env().id_token_ttl == 900


def test_database_defaults_into_the_instance_dir(tmp_path: Path) -> None:
    """The environment given is the one read, not the process's."""
    expected = f"sqlite:///{tmp_path.resolve() / 'essc.db'}"
    assert Settings.from_env({"ESSC_INSTANCE_DIR": str(tmp_path)}).database_url == expected
    assert Settings.from_env({}, instance_dir=str(tmp_path)).database_url == expected
    explicit = {"ESSC_INSTANCE_DIR": str(tmp_path), "ESSC_DATABASE_URL": "sqlite:///x.db"}
    assert Settings.from_env(explicit).database_url == "sqlite:///x.db"


def test_database_default_follows_the_process_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ESSC_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("ESSC_DATABASE_URL", raising=False)
    assert Settings.from_env().database_url == f"sqlite:///{tmp_path.resolve() / 'essc.db'}"


def test_production_accepts_a_complete_configuration() -> None:
    settings = Settings.from_env(PRODUCTION)
    assert settings.production
    settings.check()


def test_production_allows_http_on_loopback_only() -> None:
    Settings.from_env({**PRODUCTION, "ESSC_ISSUER": "http://127.0.0.1:8080"}).check()
    Settings.from_env({**PRODUCTION, "ESSC_ISSUER": "http://localhost:8080"}).check()


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"ESSC_SECRET_KEY": DEV_SECRET_KEY}, "ESSC_SECRET_KEY"),
        ({"ESSC_SECRET_KEY": "s" * 31}, "ESSC_SECRET_KEY"),
        ({"ESSC_SECRET_KEY": None}, "ESSC_SECRET_KEY"),
        ({"ESSC_KEY_PASSPHRASE": DEV_KEY_PASSPHRASE}, "ESSC_KEY_PASSPHRASE"),
        ({"ESSC_KEY_PASSPHRASE": "p" * 15}, "ESSC_KEY_PASSPHRASE"),
        ({"ESSC_KEY_PASSPHRASE": None}, "ESSC_KEY_PASSPHRASE"),
        ({"ESSC_DEMO": "1"}, "ESSC_DEMO"),
        ({"ESSC_ISSUER": "http://idp.essc.example"}, "https"),
        ({"ESSC_ISSUER": "http://10.0.0.5:5000"}, "https"),
        ({"ESSC_ISSUER": "http://127.0.0.1.nip.io"}, "https"),
    ],
)
def test_production_fails_closed(changes: dict[str, Any], fragment: str) -> None:
    environ = {**PRODUCTION, **changes}
    environ = {k: v for k, v in environ.items() if v is not None}
    settings = Settings.from_env(environ)
    with pytest.raises(ConfigurationError) as caught:
        settings.check()
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"ESSC_ENV": "prod"}, "ESSC_ENV"),
        ({"ESSC_ISSUER": "https://idp.example/"}, "ESSC_ISSUER"),
        ({"ESSC_ISSUER": "https://idp.example?x=1"}, "ESSC_ISSUER"),
        ({"ESSC_ISSUER": "https://idp.example#top"}, "ESSC_ISSUER"),
        ({"ESSC_DEFAULT_SIGNING_ALG": "HS256"}, "ESSC_DEFAULT_SIGNING_ALG"),
        ({"ESSC_DEFAULT_SIGNING_ALG": "none"}, "ESSC_DEFAULT_SIGNING_ALG"),
        ({"ESSC_AUTHORIZATION_CODE_TTL": "0"}, "ESSC_AUTHORIZATION_CODE_TTL"),
        ({"ESSC_AUTHORIZATION_CODE_TTL": "601"}, "ESSC_AUTHORIZATION_CODE_TTL"),
    ],
)
def test_inconsistent_values_fail_in_any_environment(
    changes: dict[str, str], fragment: str
) -> None:
    for base in ({}, PRODUCTION):
        with pytest.raises(ConfigurationError) as caught:
            Settings.from_env({**base, **changes}).check()
        assert fragment in str(caught.value)
