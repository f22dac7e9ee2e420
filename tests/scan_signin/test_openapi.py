"""docs/scan-signin-openapi.json: valid OpenAPI 3.1, what the API serves, every channel route in
it; and schemathesis against it (schema-valid and schema-invalid bodies, with assertions that
cannot verify): never a 5xx, and status, content type and body as the document says."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from idp.scan_signin.openapi import OPENAPI_PATH

DOC = Path(__file__).resolve().parents[2] / "docs" / "scan-signin-openapi.json"
EXAMPLES = 40  # per operation and mode: 3 operations x 2 modes x 40


def test_the_document_is_valid_served_and_kept_in_docs(app: Any, web: Any) -> None:
    kept = json.loads(DOC.read_text(encoding="utf-8"))
    validate(kept)
    assert web.get(OPENAPI_PATH).json == kept
    routes = {
        re.sub(r"<([a-z_]+)>", r"{\1}", r.rule)
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith("scan_signin_api.") and r.rule != OPENAPI_PATH
    }
    assert routes == set(kept["paths"])


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_schemathesis(app: Any, mode: str) -> None:
    import schemathesis
    from hypothesis import HealthCheck
    from hypothesis import given
    from hypothesis import settings
    from hypothesis import strategies as st
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import content_type_conformance
    from schemathesis.specs.openapi.checks import negative_data_rejection
    from schemathesis.specs.openapi.checks import response_schema_conformance
    from schemathesis.specs.openapi.checks import status_code_conformance

    schema = schemathesis.openapi.from_wsgi(OPENAPI_PATH, app)
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    strategies = [
        result.ok().as_strategy(generation_mode=generation)
        for result in schema.get_all_operations()
    ]
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        negative_data_rejection,
    ]

    @settings(
        max_examples=EXAMPLES * len(strategies),
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.one_of(strategies))
    def run(case: Any) -> None:
        response = case.call()
        # 413 is a refusal too (the body is over the limit before its schema is read), which
        # schemathesis's negative-data check does not count as one.
        chosen = checks if response.status_code != 413 else checks[:-1]
        case.validate_response(response, checks=chosen)

    run()
