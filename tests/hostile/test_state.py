"""``state`` is ``1*VSCHAR`` (RFC 6749 Appendix A.5): every character %x20-7E, the quote and the
backslash included, comes back to the client unchanged, in a redirect's query, in a form_post
page (HTML-escaped, so it cannot break out of its attribute) and after sign-in and consent."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.hostile.common import HAN
from tests.hostile.common import counts
from tests.support import approve
from tests.support import authorize_params
from tests.support import pkce_pair
from tests.support import query_of
from tests.support import sign_in

VSCHARS = "".join(chr(c) for c in range(0x20, 0x7F))
STATES = [VSCHARS, '"', '"><script>alert(1)</script>', "\\", "a\"'<&>b", " "]


class _Inputs(HTMLParser):
    """The hidden fields of a form_post page, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[tuple[str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "input" and values.get("type") == "hidden":
            self.fields.append((values.get("name") or "", values.get("value") or ""))


def _form_fields(page: str) -> tuple[dict[str, str], list[str]]:
    parser = _Inputs()
    parser.feed(page)
    return dict(parser.fields), parser.tags


@pytest.mark.parametrize("state", STATES, ids=range(len(STATES)))
def test_error_redirect_returns_the_state_unchanged(
    provider: Any, web: Any, portal: Any, state: str
) -> None:
    _, challenge = pkce_pair()
    params = authorize_params(portal, challenge, state=state, response_type="token")
    before = counts(provider)
    response = web.get("/authorize?" + urlencode(params))
    assert response.status_code == 303
    query = query_of(response.headers["Location"])
    assert query["error"] == "unsupported_response_type" and query["state"] == state
    assert counts(provider) == before


@pytest.mark.parametrize("state", STATES, ids=range(len(STATES)))
def test_form_post_escapes_the_state(provider: Any, web: Any, portal: Any, state: str) -> None:
    _, challenge = pkce_pair()
    params = authorize_params(
        portal, challenge, state=state, response_mode="form_post", scope="openid " + HAN
    )
    response = web.post("/authorize", data=params)
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    fields, tags = _form_fields(page)
    assert fields["state"] == state and fields["error"] == "invalid_request"
    assert "script" not in tags[tags.index("form") :]  # nothing broke out of the attribute


def test_state_survives_sign_in_and_consent(web: Any, portal: Any, cardholder: Any) -> None:
    _, challenge = pkce_pair()
    response = web.get(
        "/authorize", query_string=authorize_params(portal, challenge, state=VSCHARS)
    )
    assert response.status_code == 303
    response = sign_in(web, response.headers["Location"])
    assert response.status_code == 303
    response = approve(web, response.headers["Location"])
    query = query_of(response.headers["Location"])
    assert "code" in query and query["state"] == VSCHARS
