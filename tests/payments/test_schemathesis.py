"""Schemathesis against the served QR and payments documents (docs/qr-openapi.json,
docs/payments-openapi.json), as tests/ecards/test_openapi.py does for the e-card API: with no
credentials, a channel's token and a merchant's token, schema-valid and schema-invalid cases:
never a 5xx; status, content type and body as the document says."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ecard_helpers import bearer
from tests.payments.helpers import add_merchant
from tests.payments.helpers import merchant_headers
from tests.qr.helpers import issue_ecard

EXAMPLES = 10  # per operation: 2 documents x 3 credentials x 2 modes x 15 operations x 10
DOCUMENTS = {"qr": "/qr/openapi.json", "payments": "/payments-openapi.json"}


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


@pytest.mark.parametrize("credentials", ["none", "channel", "merchant"])
@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("document", sorted(DOCUMENTS))
def test_schemathesis(
    provider: Any, app: Any, web: Any, cardholder: Any, document: str, credentials: str, mode: str
) -> None:
    import schemathesis
    from hypothesis import HealthCheck
    from hypothesis import given
    from hypothesis import settings
    from hypothesis import strategies as st
    from schemathesis.generation import GenerationMode

    channel, _ = issue_ecard(provider, cardholder)
    headers = {
        "none": dict[str, str](),
        "channel": bearer(web, channel),
        "merchant": merchant_headers(web, add_merchant(provider), "essc.qr.redeem essc.pay"),
    }[credentials]
    schema = schemathesis.openapi.from_wsgi(DOCUMENTS[document], app)
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

    run()
