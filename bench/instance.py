"""A throwaway production-mode instance: SQLite in a temp dir (or a new PostgreSQL database),
random secrets, three clients and one cardholder, all made through the ``essc`` CLI exactly as
an operator would."""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

BIN = Path(sys.executable).parent
#: Never contacted: only its Location is read. https because a production instance refuses
#: http redirect URIs, loopback included.
REDIRECT_URI = "https://127.0.0.1:9/cb"
PORTAL_SCOPE = "openid profile"
#: The contract's valid test cardholder.
CARDHOLDER = {
    "name": "张三",
    "id_number": "11010519491231002X",
    "region_code": "110105",
    "card_number": "A00000001",
    "pin": "802413",
}


class SetupError(RuntimeError):
    """An ``essc`` command failed; the message has its output."""


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str

    @property
    def basic(self) -> str:
        """RFC 6749 2.3.1: form-encode id and secret, then Basic (RFC 7617)."""
        pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
        return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


@dataclass(frozen=True)
class Instance:
    port: int
    env: dict[str, str]
    service: Client
    portal: Client
    #: A portal that may also use ``refresh_token`` (rotation on, the default).
    refresh_portal: Client

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(
    directory: Path, port: int, database_url: str | None = None, redis_url: str = ""
) -> dict[str, str]:
    return {
        "ESSC_ENV": "production",
        "ESSC_DATABASE_URL": database_url or f"sqlite:///{directory / 'essc.db'}",
        "ESSC_INSTANCE_DIR": str(directory),
        "ESSC_ISSUER": f"http://127.0.0.1:{port}",
        "ESSC_SECRET_KEY": secrets.token_urlsafe(48),
        "ESSC_KEY_PASSPHRASE": secrets.token_urlsafe(32),
        "ESSC_REDIS_URL": redis_url,
        # The limiter still counts every request (its cost is in the figures), but wrk's one
        # client at 32 connections outruns the 3000/second default, and a 429 is a bad response.
        "ESSC_RATE_LIMIT": "1000000/second",
        "ESSC_RATE_LIMIT_PER_CLIENT": "1000000/second",
    }


def essc(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [str(BIN / "essc"), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise SetupError(f"essc {' '.join(args[:2])} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def _json(output: str) -> dict[str, Any]:
    # The CLI prints one JSON object; tolerate log lines around it.
    for line in reversed(output.strip().splitlines()):
        if line.startswith("{"):
            return dict(json.loads(line))
    return dict(json.loads(output))


def _client(env: dict[str, str], *args: str) -> Client:
    created = _json(essc(env, "clients", "add", *args))
    return Client(created["client_id"], created["client_secret"])


def add_portal(env: dict[str, str], name: str, *, refresh: bool = False) -> Client:
    """A portal client (``authorization_code``, ``client_secret_basic``) of the instance;
    ``refresh``: it may use ``refresh_token`` too."""
    return _client(
        env,
        *("--name", name, "--kind", "portal"),
        *("--grant-type", "authorization_code", "--auth-method", "client_secret_basic"),
        *(("--grant-type", "refresh_token") if refresh else ()),
        *("--redirect-uri", REDIRECT_URI, "--scope", PORTAL_SCOPE),
    )


@contextmanager
def postgresql_database(server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of ``server_url``; its URL, dropped
    afterwards (``essc init`` migrates it)."""
    from sqlalchemy import create_engine
    from sqlalchemy import text

    name = f"essc_bench_{secrets.token_hex(6)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(
    directory: Path, service_scope: str, database_url: str | None = None, redis_url: str = ""
) -> Instance:
    port = free_port()
    env = environment(directory, port, database_url, redis_url)
    essc(env, "init")
    service = _client(
        env,
        # The benches measure endpoints with a secret-based service, not FAPI 2.0's checks.
        *("--name", "bench-service", "--kind", "merchant", "--no-fapi2"),
        *("--grant-type", "client_credentials", "--auth-method", "client_secret_basic"),
        *(("--scope", service_scope) if service_scope else ()),
    )
    portal = add_portal(env, "bench-portal")
    refresh_portal = add_portal(env, "bench-refresh-portal", refresh=True)
    c = CARDHOLDER
    essc(
        env,
        *("cardholders", "add", "--name", c["name"], "--id-number", c["id_number"]),
        *("--region-code", c["region_code"], "--card-number", c["card_number"]),
        *("--pin", c["pin"]),
    )
    return Instance(
        port=port, env=env, service=service, portal=portal, refresh_portal=refresh_portal
    )
