"""The product's OpenAPI document: a valid OpenAPI 3.1 document (docs/openapi.json) that the
API behaves as (Schemathesis)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_openapi_document_is_valid() -> None:
    validate(json.loads(DOC.read_text(encoding="utf-8")))


# -- Schemathesis against the served document ---------------------------------------------------
#
# Every operation of /openapi.json, positive (schema-valid) and negative (schema-invalid) cases,
# with no credentials and with a channel's client-credentials Bearer token (issue 6, item 11):
# never a 5xx; status, content type and body as the document says; schema-invalid data refused;
# schema-valid data refused only for the reasons the document names as beyond a schema.

EXAMPLES = 25  # per operation, mode and credential: 3 x 2 x 2 x 25 = 300 cases in all
#: 422 problems a schema-valid request may still get (docs/openapi.json says why): the ID
#: number's real date and check character, the face check's age, the cardholder records.
BEYOND_SCHEMA = {
    ("invalid-id-number", "the check digit does not match"),
    ("invalid-id-number", "the birth date is not a date"),
    ("invalid-id-number", "the birth date is out of range"),
    ("stale-face-check", None),
    ("cardholder-mismatch", None),
}


def _checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import content_type_conformance
    from schemathesis.specs.openapi.checks import negative_data_rejection
    from schemathesis.specs.openapi.checks import response_schema_conformance
    from schemathesis.specs.openapi.checks import status_code_conformance

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        negative_data_rejection,
    ]


def _positive_refusal_is_documented(case: Any, response: Any) -> None:
    """positive_data_acceptance, with the 422s the document admits (a check digit, a clock)."""
    if not 400 <= response.status_code < 500 or response.status_code in (401, 403, 404, 409):
        return
    body = response.json()
    slug = body["type"].rsplit("/", 1)[-1]
    detail = body.get("detail") if slug == "invalid-id-number" else None
    by_name = slug == "invalid-request" and body.get("field") == "name"
    assert response.status_code == 422 and ((slug, detail) in BEYOND_SCHEMA or by_name), (
        case.path,
        case.body,
        response.status_code,
        body,
    )


@pytest.mark.parametrize("credentials", ["none", "bearer"])
@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_schemathesis(
    provider: Any, app: Any, web: Any, cardholder: Any, credentials: str, mode: str
) -> None:
    import schemathesis
    from hypothesis import HealthCheck
    from hypothesis import given
    from hypothesis import settings
    from hypothesis import strategies as st
    from schemathesis.generation import GenerationMode

    from tests.ecard_helpers import add_channel
    from tests.ecard_helpers import bearer
    from tests.ecard_helpers import issue_body

    channel = add_channel(provider, "bank")
    headers = bearer(web, channel) if credentials == "bearer" else {}
    if headers:  # an e-card to query and unbind, so GET and unbind can succeed too
        issued = web.post("/api/v1/ecards", json=issue_body(provider, "bank"), headers=headers)
        assert issued.status_code == 201
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    strategies = [
        result.ok().as_strategy(generation_mode=generation)
        for result in schema.get_all_operations()
    ]
    checks = _checks()

    @settings(
        max_examples=EXAMPLES * len(strategies),
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.one_of(strategies))
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=checks, headers=headers)
        if mode == "positive":
            _positive_refusal_is_documented(case, response)

    run()
