"""docs/ecards.md section 7: the curl examples run exactly as written against a live server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTANCE = Path("/tmp/essc-ecards-demo")  # the path docs/ecards.md names


@pytest.mark.live
def test_the_curl_examples_work_as_written() -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "docs" / "ecards.md").read_text(), re.S)
    assert len(blocks) == 3
    shutil.rmtree(INSTANCE, ignore_errors=True)
    script = "set -e\n" + "\n".join(blocks) + "\nkill %1\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESSC_") or k == "ESSC_ENV"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    shutil.rmtree(INSTANCE, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert '"status":"active"' in out and '"production_stage":"collected"' in out
    assert '"status":"unbound"' in out
    assert '"status":422' in out and "invalid-id-number" in out
