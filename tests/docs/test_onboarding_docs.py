"""docs/onboarding.md section 8: the commands run exactly as written against a live server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.live import run_doc_examples

INSTANCE = Path("/tmp/essc-onboarding-demo")  # the path docs/onboarding.md names


@pytest.mark.live
def test_the_onboarding_examples_work_as_written() -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    stdout = run_doc_examples("onboarding.md", 4, INSTANCE)
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
        found = stdout.find(fragment, position)
        assert found >= 0, (fragment, stdout[position:])
        position = found + len(fragment)
