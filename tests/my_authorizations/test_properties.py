"""Hostile revoke forms (Hypothesis, bounded): any code point or broken UTF-8 in ``kind`` and
``id`` answers the 404 page (or 400 without the CSRF token), never a 5xx, and revokes nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.my_authorizations.helpers import audit_count
from tests.my_authorizations.helpers import my_sign_in
from tests.my_authorizations.helpers import tokens
from tests.support import csrf_of

any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=64)
bad_utf8 = st.sampled_from([b"\xc0\xaf", b"\xed\xa0\x80", b"\xff", b"\xe5\x9b", b"\x00"])
kinds = st.one_of(st.sampled_from(["portal", "session", "ecard"]), any_text)


def _encoded(value: str | bytes) -> bytes:
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote(raw, safe="").encode()


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(kind=kinds, item=st.one_of(any_text, bad_utf8), with_csrf=st.booleans())
def test_any_revoke_form_is_refused_plainly(
    provider: Any, web: Any, cardholder: Any, portal: Any, kind: str, item: Any, with_csrf: bool
) -> None:
    if web.get("/my/authorizations").status_code != 200:
        my_sign_in(web)
        tokens(web, portal)
    token = csrf_of(web.get("/my/authorizations").get_data(as_text=True))
    body = b"kind=" + _encoded(kind) + b"&id=" + _encoded(item)
    if with_csrf:
        body += b"&csrf_token=" + token.encode()
    response = web.post(
        "/my/authorizations/revoke", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == (404 if with_csrf else 400)
    assert audit_count(provider, "authorization.revoked") == 0
