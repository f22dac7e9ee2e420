"""docs/family-openapi.json: valid OpenAPI 3.1, what /family/openapi.json serves, every family
route in it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

DOC = Path(__file__).resolve().parents[2] / "docs" / "family-openapi.json"


def test_the_document_is_valid_served_and_kept_in_docs(app: Any, web: Any) -> None:
    kept = json.loads(DOC.read_text(encoding="utf-8"))
    validate(kept)
    assert web.get("/family/openapi.json").json == kept
    routes = {
        re.sub(r"<([a-z_]+)>", r"{\1}", r.rule)
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith(("family.", "pension.")) and r.endpoint != "family.openapi_json"
    }
    assert routes == set(kept["paths"])
