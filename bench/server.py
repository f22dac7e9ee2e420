"""Start and stop the servers under test: ``essc serve --production`` and the hello-world ceiling.

Each server runs in its own process group (its workers included) so that stopping it ends exactly
the processes this harness started. Output goes to a log file, shown when start-up fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import suppress
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVERS = ("granian", "gunicorn")


class ServerError(RuntimeError):
    """The server did not come up; the message carries the end of its log."""


def essc_command(server: str, workers: int, port: int) -> list[str]:
    return [
        str(BIN / "essc"),
        "serve",
        "--production",
        "--server",
        server,
        "--workers",
        str(workers),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def hello_command(server: str, workers: int, port: int) -> list[str]:
    """The hello-world app under the same server, workers and options as ``essc serve``.

    Keep in step with ``serve`` in ``idp/cli/instance.py`` (granian: one blocking thread per worker;
    gunicorn: sync workers with the access log on).
    """
    if server == "granian":
        return [
            str(BIN / "granian"),
            "--interface",
            "wsgi",
            "--workers",
            str(workers),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--blocking-threads",
            "1",
            "--no-ws",
            "bench.hello:app",
        ]
    return [
        str(BIN / "gunicorn"),
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--access-logfile",
        "-",
        "bench.hello:app",
    ]


@contextmanager
def serving(
    command: list[str], env: dict[str, str], ready_url: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` until the block ends; wait until ``ready_url`` answers 200 first."""
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            command,
            cwd=REPO,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            _wait_ready(process, ready_url, log)
            yield process
        finally:
            _stop(process)


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"server exited {process.returncode}:\n{tail(log)}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise ServerError(f"server not ready after {timeout:.0f} s at {url}:\n{tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # The group id is the pid of the process we started (start_new_session=True).
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    time.sleep(0.5)  # let the workers of the group go before the next server binds
    _signal_group(process.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
