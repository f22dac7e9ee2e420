"""Running the real ``essc`` command and server for live tests, as a newcomer would."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ESSC = Path(sys.executable).parent / "essc"
START_TIMEOUT = 30.0


@contextmanager
def empty_pg_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (its URL) for a live server to ``essc init``; dropped,
    connections and all, when the block ends. Skips the test without a PostgreSQL URL."""
    from sqlalchemy import create_engine
    from sqlalchemy import text

    from tests.conftest import PG_URL

    if not PG_URL.startswith("postgresql"):
        pytest.skip("ESSC_DATABASE_URL is not a PostgreSQL URL")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def hermetic_env(tmp: Path, issuer: str) -> dict[str, str]:
    """The caller's environment without any ESSC_* setting, pointed at a throwaway instance."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESSC_")}
    env.update(
        ESSC_DATABASE_URL=f"sqlite:///{tmp / 'essc.db'}",
        ESSC_ISSUER=issuer,
        ESSC_INSTANCE_DIR=str(tmp / "instance"),
    )
    return env


def essc(env: dict[str, str], cwd: Path, *args: str) -> str:
    """Run ``essc ARGS``; fail the test with its output if it exits non-zero."""
    result = subprocess.run(
        [str(ESSC), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        pytest.fail(
            f"`essc {' '.join(args[:2])}` exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result.stdout


@contextmanager
def serving(env: dict[str, str], cwd: Path, port: int, log: Path, *extra: str) -> Iterator[str]:
    """``essc serve --port PORT [EXTRA…]`` until the block ends; yields the issuer once it
    answers. Its stdout and stderr go to ``log``."""
    issuer = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(ESSC), "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped below, and only it
        )
    try:
        _wait_until_ready(proc, issuer, log)
        yield issuer
    finally:
        _stop(proc)


def log_tail(log: Path, lines: int = 60) -> str:
    text = log.read_text(encoding="utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def _wait_until_ready(proc: subprocess.Popen[bytes], issuer: str, log: Path) -> None:
    url = f"{issuer}/.well-known/openid-configuration"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"`essc serve` exited {proc.returncode}:\n{log_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)  # waiting for a process to bind its port, not for protocol time
    pytest.fail(f"{url} did not answer within {START_TIMEOUT:.0f}s:\n{log_tail(log)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def run_doc_examples(doc: str, blocks: int, instance: Path) -> str:
    """Run the ``sh`` blocks of ``docs/DOC`` exactly as written, in one shell; their stdout.

    The documents start a server in the background in their first block. The script runs in a
    process group of its own that is killed afterwards, so a failing or hanging example never
    leaves that server holding its port for the next run.
    """
    found = re.findall(r"```sh\n(.*?)```", (ROOT / "docs" / doc).read_text(), re.S)
    assert len(found) == blocks, f"docs/{doc} has {len(found)} sh blocks, expected {blocks}"
    shutil.rmtree(instance, ignore_errors=True)
    script = "set -e\n" + "\n".join(found) + "\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESSC_") or k == "ESSC_ENV"}
    env["PATH"] = f"{ESSC.parent}:{env.get('PATH', '')}"
    proc = subprocess.Popen(
        ["bash", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        shutil.rmtree(instance, ignore_errors=True)
    assert proc.returncode == 0, stderr[-2000:]
    return stdout
