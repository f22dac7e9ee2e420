"""docs/payments-openapi.json: valid OpenAPI 3.1, what ``idp.payments.openapi`` builds, and
naming every route of the merchant and payment blueprints."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

from idp.payments.openapi import document
from idp.payments.openapi import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "payments-openapi.json"


def test_the_document_is_valid_and_current() -> None:
    validate(json.loads(DOC.read_text(encoding="utf-8")))
    assert DOC.read_text(encoding="utf-8") == render(), (
        "run: python -m idp.payments.openapi > docs/payments-openapi.json"
    )


def test_every_route_is_documented(app: Any) -> None:
    paths = document()["paths"]
    routes = [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint.split(".")[0] in ("payments_api", "qr_redemption")
    ]
    assert routes
    for rule in routes:
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
        assert path in paths, path
        assert methods <= set(paths[path]), (path, methods)


def test_the_document_is_served(web: Any) -> None:
    response = web.get("/payments-openapi.json")
    assert response.status_code == 200 and response.json == document()
