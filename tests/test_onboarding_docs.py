"""docs/onboarding.md section 8: the commands run exactly as written against a live server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTANCE = Path("/tmp/essc-onboarding-demo")  # the path docs/onboarding.md names


@pytest.mark.live
def test_the_onboarding_examples_work_as_written() -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "docs" / "onboarding.md").read_text(), re.S)
    assert len(blocks) == 4
    shutil.rmtree(INSTANCE, ignore_errors=True)
    script = "set -e\n" + "\n".join(blocks) + "\nkill %1\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESSC_") or k == "ESSC_ENV"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    shutil.rmtree(INSTANCE, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-2000:]
    # curl prints JSON bodies without a final newline: look for each answer in order.
    expected = [
        '{"error":"invalid_client"',  # pending: no token
        '"status": "pending"',  # essc channels pending
        '"status": "active"',  # essc channels approve
        '"access_token"',
        '"scope":"essc.ecard essc.payment"',  # the update
        "204\n",  # the delete
        '{"error":"invalid_client"',  # deleted: no token
    ]
    position = 0
    for fragment in expected:
        found = done.stdout.find(fragment, position)
        assert found >= 0, (fragment, done.stdout[position:])
        position = found + len(fragment)
