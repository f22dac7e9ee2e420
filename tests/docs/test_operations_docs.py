"""docs/operations.md "Registering a government portal": the `essc clients add` for a code-flow
portal and the authorization code flow after it run exactly as written against a live server;
"Monitoring": the probes and metrics of a production server, as written."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.live import ESSC
from tests.live import ROOT

INSTANCE = Path("/tmp/essc-portal-demo")  # the path the section names
SECTION = "## Registering a government portal (authorization code flow)"


def section_blocks(doc: str, heading: str) -> list[str]:
    """The ``sh`` blocks between ``heading`` and the next second-level heading."""
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    start = text.index(heading) + len(heading)
    end = text.find("\n## ", start)
    return re.findall(r"```sh\n(.*?)```", text[start : end if end >= 0 else None], re.S)


@pytest.mark.live
def test_the_portal_registration_and_code_flow_work_as_written() -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    blocks = section_blocks("operations.md", SECTION)
    assert len(blocks) == 3
    shutil.rmtree(INSTANCE, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESSC_")}
    env["PATH"] = f"{ESSC.parent}:{env.get('PATH', '')}"
    script = "set -e\n" + "\n".join(blocks) + "\nkill %1\n"
    try:
        done = subprocess.run(
            ["bash", "-c", script], capture_output=True, text=True, timeout=120, env=env
        )
    finally:
        shutil.rmtree(INSTANCE, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert '"grant_types": ["authorization_code", "refresh_token"]' in out
    assert re.search(
        r"^https://portal\.example\.gov\.cn/callback\?code=[^&]+&state=st-1&iss=", out, re.M
    )
    assert '"name":"张三"' in out and '"essc_card_number":"A0*****01"' in out


MONITORING = "## Monitoring"
MONITORING_INSTANCE = Path("/tmp/essc-monitoring-demo")  # the path the section names


@pytest.mark.live
def test_the_monitoring_examples_work_as_written() -> None:
    """docs/operations.md "Monitoring": a 2-worker production server's probes and metrics."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    blocks = section_blocks("operations.md", MONITORING)
    assert len(blocks) == 1
    shutil.rmtree(MONITORING_INSTANCE, ignore_errors=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ESSC_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env["PATH"] = f"{ESSC.parent}:{env.get('PATH', '')}"
    proc = subprocess.Popen(
        ["bash", "-c", "set -e\n" + blocks[0]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # the server it starts is killed with it, whatever happens
    )
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        shutil.rmtree(MONITORING_INSTANCE, ignore_errors=True)
    assert proc.returncode == 0, err[-2000:]
    assert '{"status":"ready","checks":{"database":"ok"}}' in out
    assert 'essc_http_requests_total{method="GET",route="/jwks.json",status="200"} 1.0' in out
    for name in ("essc_db_pool_checked_out", "essc_outbox_pending_messages"):
        assert re.search(rf"^{name} 0\.0$", out, re.M), out
    assert re.search(r"^essc_outbox_delivery_lag_seconds 0\.0$", out, re.M), out


SEVERAL = "## Several instances"


@pytest.mark.live
def test_the_several_instances_example_works_as_written() -> None:
    """docs/operations.md "Several instances": two instances behind deploy/haproxy.cfg, an
    e-card issued, one instance killed, the retry answered by the other with the same e-card."""
    if not os.environ.get("ESSC_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("ESSC_DATABASE_URL is not a PostgreSQL URL")
    for tool in ("haproxy", "curl", "createdb", "fuser"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    blocks = section_blocks("operations.md", SEVERAL)
    assert len(blocks) == 2
    drop = ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force"]
    subprocess.run([*drop, "essc_instances_demo"], check=True, timeout=30)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESSC_")}
    env["PATH"] = f"{ESSC.parent}:{env.get('PATH', '')}"
    proc = subprocess.Popen(
        ["bash", "-c", "set -e\n" + "\n".join(blocks)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # the instances and HAProxy are killed with it
    )
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        subprocess.run([*drop, "essc_instances_demo"], check=False, timeout=30)
    assert proc.returncode == 0, (out, err[-3000:])
    lines = out.split()
    assert lines[:2] == ["404", "201"] and lines[3] == "000", out
    assert lines[4::2] == ["200", "200"], out
    assert lines[2] == lines[5] == lines[7], "a retry named another e-card"
