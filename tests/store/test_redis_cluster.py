"""The caches on a Redis Cluster (issue 12, item 5): three masters on loopback ports, made a
cluster by ``redis-cli --cluster create``; the replay cache and the deny-list through
redis-py's cluster client, from the one node ``ESSC_REDIS_URL`` names."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import ExitStack
from contextlib import contextmanager
from pathlib import Path

import pytest

from idp.settings import Settings
from idp.store.expiring import RedisExpiringSet
from idp.store.expiring import redis_client
from tests.live import free_port
from tests.support import FakeClock


@pytest.fixture(scope="module")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server is not installed")
    tmp = tmp_path_factory.mktemp("redis-cluster")
    ports: list[int] = []
    while len(ports) < 3:
        if (port := _node_port()) not in ports:
            ports.append(port)
    nodes = [f"127.0.0.1:{p}" for p in ports]
    with ExitStack() as stack:
        for port in ports:
            stack.enter_context(_master(tmp / str(port), port))
        create = ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "0"]
        subprocess.run([*create, "--cluster-yes"], check=True, capture_output=True, timeout=30)
        _wait_for(lambda: "cluster_state:ok" in _cli(ports[0], "cluster", "info"))
        yield f"redis://127.0.0.1:{ports[0]}"


def _node_port() -> int:
    """A free port whose cluster bus port (10000 above it, at most 65535) is free too."""
    while True:
        port = free_port()
        if port <= 55535 and _free(port + 10000):
            return port


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextmanager
def _master(directory: Path, port: int) -> Iterator[None]:
    directory.mkdir()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled"]
    argv += ["yes", "--save", "", "--appendonly", "no", "--dir", str(directory)]
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        _wait_for(lambda: _cli(port, "ping").strip() == "PONG")
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _cli(port: int, *args: str) -> str:
    done = subprocess.run(
        ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=10
    )
    return done.stdout


def _wait_for(ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 20
    while not ready():
        assert time.monotonic() < deadline, "the Redis Cluster did not come up"
        time.sleep(0.1)  # waiting for servers to bind and agree on slots


def test_the_replay_cache_spreads_over_the_cluster_and_refuses_replays(cluster_url: str) -> None:
    clock = FakeClock()
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    entries = RedisExpiringSet(cluster_url, prefix, clock, cluster=True)
    keys = [f"jti-{i}" for i in range(60)]
    assert all(entries.add_once(key, int(clock()) + 30) for key in keys)
    assert not any(entries.add_once(key, int(clock()) + 30) for key in keys)  # replays
    assert all(entries.contains(key) for key in keys) and not entries.contains("jti-unseen")
    client = redis_client(cluster_url, cluster=True, socket_timeout=1.0)
    assert client.ping()  # what /readyz asks (idp.metrics.endpoints)
    holders = {client.get_node_from_key(f"essc:{prefix}:{key}").port for key in keys}
    assert len(holders) == 3  # every master holds some: the keys are spread by slot


def test_the_setting_turns_the_cluster_client_on() -> None:
    on = Settings.from_env(
        {"ESSC_REDIS_URL": "redis://127.0.0.1:7000", "ESSC_REDIS_CLUSTER": "true"}
    )
    assert on.redis_cluster and not Settings.from_env({}).redis_cluster
