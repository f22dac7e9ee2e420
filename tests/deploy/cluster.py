"""Several ``essc serve --production`` instances on their own ports, sharing one PostgreSQL
database and Redis, behind HAProxy with ``deploy/haproxy.cfg`` as it is (docs/operations.md,
"Several instances")."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL
from tests.live import ESSC
from tests.live import ROOT
from tests.live import _stop
from tests.live import _wait_until_ready
from tests.live import empty_pg_database
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import log_tail

HAPROXY_CFG = ROOT / "deploy" / "haproxy.cfg"


@dataclass
class Instance:
    name: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL to the instance's process group: the Granian master and its workers."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass
class Cluster:
    lb: str
    instances: list[Instance]
    env: dict[str, str]
    database_url: str
    tmp: Path


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for the cluster; dropped afterwards."""
    with empty_pg_database("essc_instances") as url:
        yield url


def cluster_env(tmp: Path, lb: str, database_url: str) -> dict[str, str]:
    """What every instance shares: issuer (the balancer's URL), database, Redis, secrets."""
    env = hermetic_env(tmp, lb)
    env.update(
        ESSC_DATABASE_URL=database_url,
        ESSC_SECRET_KEY=secrets.token_urlsafe(48),
        ESSC_KEY_PASSPHRASE=secrets.token_urlsafe(24),
        ESSC_PIN_HASH_MEMORY_KIB="1024",
        ESSC_PIN_HASH_TIME_COST="1",
        ESSC_PROXY_REQUEST_ID_HEADER="X-Request-Id",
    )
    if REDIS_URL:
        env["ESSC_REDIS_URL"] = REDIS_URL
    return env


@contextmanager
def running(env: dict[str, str], tmp: Path, count: int) -> Iterator[Cluster]:
    """``count`` instances (one Granian worker each: the machine has 2 cores) and HAProxy."""
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed (make system-deps)")
    lb = env["ESSC_ISSUER"]
    with ExitStack() as stack:
        instances = [_start_instance(stack, env, tmp, f"idp{i + 1}") for i in range(count)]
        _start_haproxy(stack, lb, instances, tmp / "haproxy.log")
        yield Cluster(lb, instances, env, env["ESSC_DATABASE_URL"], tmp)


def _start_instance(stack: ExitStack, env: dict[str, str], tmp: Path, name: str) -> Instance:
    port = free_port()
    own = dict(env, ESSC_INSTANCE_DIR=str(tmp / name))  # no shared disk between instances
    log = tmp / f"{name}.log"
    argv = [str(ESSC), "serve", "--production", "--workers", "1", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            env=own,
            cwd=tmp,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack.callback(_stop, proc)
    base = f"http://127.0.0.1:{port}"
    _wait_until_ready(proc, base, log)
    return Instance(name, base, proc, log)


def _start_haproxy(stack: ExitStack, lb: str, instances: list[Instance], log: Path) -> None:
    env = dict(os.environ, ESSC_LB_BIND=lb.removeprefix("http://"))
    for i, instance in enumerate(instances, 1):
        env[f"ESSC_IDP_{i}"] = instance.base.removeprefix("http://")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["haproxy", "-db", "-f", str(HAPROXY_CFG)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack.callback(_stop, proc)
    _wait_until_up(proc, lb, log)


def _wait_until_up(proc: subprocess.Popen[bytes], lb: str, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"haproxy exited {proc.returncode}:\n{log_tail(log)}")
        try:
            with urllib.request.urlopen(f"{lb}/jwks.json", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)  # waiting for HAProxy to bind and its first checks, not protocol time
    pytest.fail(f"HAProxy at {lb} did not answer:\n{log_tail(log)}")
