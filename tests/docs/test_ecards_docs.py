"""docs/ecards.md section 7: the curl examples run exactly as written against a live server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.live import run_doc_examples

INSTANCE = Path("/tmp/essc-ecards-demo")  # the path docs/ecards.md names


@pytest.mark.live
def test_the_curl_examples_work_as_written() -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    out = run_doc_examples("ecards.md", 3, INSTANCE)
    assert '"status":"active"' in out and '"production_stage":"collected"' in out
    assert '"action":"suspend","changed":true,"card":{"status":"suspended"' in out
    assert '"action":"resume","changed":true,"card":{"status":"normal"' in out
    assert '"status":"unbound"' in out
    assert '"status":422' in out and "invalid-id-number" in out
