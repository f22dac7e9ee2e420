"""Shared fixtures.

Flow tests run once per storage backend: SQLite always, and the real PostgreSQL (+ Redis) when
``ESSC_DATABASE_URL`` (+ ``ESSC_REDIS_URL``) is set, as ``.ci/run`` does. Key generation is the
slow part of a fresh database, so each backend is migrated and keyed once per session: SQLite
tests copy a template file, PostgreSQL tests truncate the data tables.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text

from idp.app import create_app
from idp.provider import Provider
from idp.settings import Settings
from idp.store.database import Database
from idp.store.migrate import upgrade
from keys.onboarding import generate
from keys.onboarding import public_jwks
from tests.chromium import browser  # noqa: F401  (the browser tests' one fixture)
from tests.support import FakeClock

ISSUER = "http://localhost"
PG_URL = os.environ.get("ESSC_DATABASE_URL", "")
REDIS_URL = os.environ.get("ESSC_REDIS_URL", "")


def _redis_for_this_worker(url: str) -> str:
    """Under pytest-xdist each worker gets its own Redis database (gw0 → 1, gw1 → 2, …), as each
    gets its own PostgreSQL database: lockout counters and replay sets of two workers' tests
    must not meet."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker.startswith("gw"):
        return url
    return url.rsplit("/", 1)[0] + f"/{1 + int(worker[2:]) % 15}"


REDIS_URL = _redis_for_this_worker(REDIS_URL)
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL.startswith("postgresql") else [])
KEEP_TABLES = {"keyring_meta", "signing_keys", "data_keys", "alembic_version"}


def test_settings(url: str, **overrides: Any) -> Settings:
    base: dict[str, Any] = dict(
        database_url=url,
        issuer=ISSUER,
        pin_hash_memory_kib=1024,
        pin_hash_time_cost=1,
        redis_url=REDIS_URL if url.startswith("postgresql") else "",
    )
    base.update(overrides)
    return Settings(**base)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "essc.db"
    provider = Provider(test_settings(f"sqlite:///{path}"))
    upgrade(provider.db)
    provider.open_keyring(create=True)
    provider.db.dispose()
    return path


@contextmanager
def keyed_pg_database(prefix: str, template: str | None = None) -> Iterator[tuple[str, str]]:
    """A new PostgreSQL database (name, url): migrated and keyed, or cloned from ``template``;
    dropped afterwards."""
    if not PG_URL.startswith("postgresql"):
        pytest.skip("ESSC_DATABASE_URL is not a PostgreSQL URL")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    clone = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{clone}'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    if template is None:
        provider = Provider(test_settings(url))
        upgrade(provider.db)
        provider.open_keyring(create=True)
        provider.db.dispose()
    try:
        yield name, url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    with keyed_pg_database("essc_test") as (_, url):
        yield url


def _truncate(url: str) -> None:
    db = Database(url)
    with db.transaction() as s:
        tables = [
            r[0]
            for r in s.execute(text("SELECT tablename FROM pg_tables WHERE schemaname='public'"))
        ]
        data = [t for t in tables if t not in KEEP_TABLES]
        s.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in data) + " CASCADE"))
    db.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "essc.db"
        shutil.copy(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_database")
    _truncate(url)
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def operator_key() -> bytes:
    """The operator's onboarding key, trusted by providers of tests marked ``onboarding``."""
    return generate()


@pytest.fixture
def provider(
    request: pytest.FixtureRequest, database_url: str, clock: FakeClock, tmp_path: Path
) -> Iterator[Provider]:
    extra: dict[str, Any] = {}
    if request.node.get_closest_marker("onboarding"):
        key: bytes = request.getfixturevalue("operator_key")
        # The CLI runs as another process would: this app must not keep a stale client.
        extra = dict(onboarding_jwks=json.dumps(public_jwks(key)), client_cache_seconds=0)
    p = Provider(test_settings(database_url, instance_dir=str(tmp_path), **extra), clock=clock)
    yield p
    p.db.dispose()


@pytest.fixture
def app(provider: Provider) -> Any:
    return create_app(provider.settings, provider=provider)


@pytest.fixture
def web(app: Any) -> Any:
    return app.test_client()


@dataclass(frozen=True)
class Registered:
    client_id: str
    client_secret: str | None
    redirect_uri: str


@pytest.fixture
def cardholder(provider: Provider) -> dict[str, str]:
    from tests.support import add_cardholder

    return add_cardholder(provider)


@pytest.fixture
def portal(provider: Provider) -> Registered:
    from tests.support import register

    return register(provider, kind="portal", scope="openid profile essc.card")


@pytest.fixture
def service(provider: Provider) -> Registered:
    from tests.support import register

    return register(
        provider,
        kind="merchant",
        grant_types=("client_credentials",),
        redirect_uris=(),
        scope="essc.qr.verify essc.payment",
    )
