"""The product's OpenAPI document is a valid OpenAPI 3.1 document (docs/openapi.json)."""

from __future__ import annotations

import json
from pathlib import Path

from openapi_spec_validator import validate

DOC = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def test_openapi_document_is_valid() -> None:
    validate(json.loads(DOC.read_text(encoding="utf-8")))
