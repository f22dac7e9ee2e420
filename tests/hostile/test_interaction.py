"""Hostile requests to the sign-in and consent pages (/interaction/<id>/signin|consent).

An interaction is bound to the browser that started it, expires, and is used once; its forms
need the CSRF token. A refused sign-in starts no session; a refused consent writes no grant,
code or consent and leaves the interaction open.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from tests.hostile.common import HAN
from tests.hostile.common import NUL
from tests.hostile.common import PCT
from tests.hostile.common import assert_error_page
from tests.hostile.common import assert_redirect_error
from tests.hostile.common import counts
from tests.hostile.common import scalar
from tests.support import CARD
from tests.support import authorize_params
from tests.support import csrf_of
from tests.support import pkce_pair
from tests.support import sign_in


@pytest.fixture
def signin_url(web: Any, cardholder: Any, portal: Any) -> str:
    _, challenge = pkce_pair()
    location: str = web.get("/authorize", query_string=authorize_params(portal, challenge)).headers[
        "Location"
    ]
    assert location.endswith("/signin")
    return location


@pytest.fixture
def consent_url(web: Any, signin_url: str) -> str:
    location: str = sign_in(web, signin_url).headers["Location"]
    assert location.endswith("/consent")
    return location


BAD_IDS = [
    ("unknown", "A" * 32),
    ("too-long", "A" * 100),
    ("han", HAN),
    ("pct", PCT),
    ("nul", "%00"),
    ("quote", "%22"),
    ("backslash", "%5C"),
    ("dots", ".."),
]


@pytest.mark.parametrize("step", ["signin", "consent"])
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("iid", [c[1] for c in BAD_IDS], ids=[c[0] for c in BAD_IDS])
def test_bad_interaction_id(
    provider: Any, web: Any, signin_url: str, step: str, method: str, iid: str
) -> None:
    before = counts(provider)
    response = web.open(
        f"/interaction/{iid}/{step}",
        method=method,
        data={
            "csrf_token": "x",
            "credential": CARD["card_number"],
            "pin": CARD["pin"],
            "decision": "approve",
        },
    )
    assert response.status_code in (400, 404)
    assert_error_page(response, response.status_code, echo=(HAN, PCT))
    assert counts(provider) == before


def test_interaction_from_another_browser(provider: Any, app: Any, signin_url: str) -> None:
    other = app.test_client()
    before = counts(provider)
    assert_error_page(other.get(signin_url))
    response = other.post(
        signin_url, data={"csrf_token": "x", "credential": CARD["card_number"], "pin": CARD["pin"]}
    )
    assert_error_page(response)
    assert counts(provider) == before


def test_expired_interaction(provider: Any, web: Any, clock: Any, signin_url: str) -> None:
    clock.advance(601)
    before = counts(provider)
    assert_error_page(web.get(signin_url))
    assert_error_page(sign_in_without_page(web, signin_url))
    assert counts(provider) == before


def sign_in_without_page(web: Any, url: str) -> Any:
    return web.post(
        url, data={"csrf_token": "x", "credential": CARD["card_number"], "pin": CARD["pin"]}
    )


# (id, csrf: "@good" | value | None, credential, pin, status)
SIGNIN_CASES: list[tuple[str, str | None, str, str, int]] = [
    ("csrf-missing", None, CARD["card_number"], CARD["pin"], 400),
    ("csrf-wrong", "x" * 32, CARD["card_number"], CARD["pin"], 400),
    ("csrf-han", HAN, CARD["card_number"], CARD["pin"], 400),
    ("csrf-nul", NUL, CARD["card_number"], CARD["pin"], 400),
    ("csrf-oversized", "x" * 5000, CARD["card_number"], CARD["pin"], 400),
    ("pin-wrong", "@good", CARD["card_number"], "999999", 401),
    ("pin-han", "@good", CARD["card_number"], HAN * 6, 401),
    ("pin-oversized", "@good", CARD["card_number"], "1" * 5000, 401),
    ("credential-unknown", "@good", "B00000009", CARD["pin"], 401),
    ("credential-han", "@good", HAN, CARD["pin"], 401),
    ("credential-nul", "@good", "A0000\x000001", CARD["pin"], 401),
    ("credential-quote", "@good", 'A"1', CARD["pin"], 401),
    ("credential-sql", "@good", "' OR 1=1 --", CARD["pin"], 401),
    ("credential-oversized", "@good", "A" * 5000, CARD["pin"], 401),
    ("credential-empty", "@good", "", CARD["pin"], 401),
]


@pytest.mark.parametrize(
    ("csrf", "credential", "pin", "status"),
    [c[1:] for c in SIGNIN_CASES],
    ids=[c[0] for c in SIGNIN_CASES],
)
def test_sign_in_form(
    provider: Any,
    web: Any,
    signin_url: str,
    csrf: str | None,
    credential: str,
    pin: str,
    status: int,
) -> None:
    good = csrf_of(web.get(signin_url).get_data(as_text=True))
    data = {"credential": credential, "pin": pin}
    if csrf is not None:
        data["csrf_token"] = good if csrf == "@good" else csrf
    before = counts(provider)
    failures = scalar(provider, "SELECT pin_failures FROM persons")
    response = web.post(
        signin_url, data=urlencode(data), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == status
    assert response.mimetype == "text/html" and "Location" not in response.headers
    assert HAN not in response.get_data(as_text=True)
    assert counts(provider) == before, "no browser session for a refused sign-in"
    expected = failures + (1 if status == 401 and credential.startswith("A000000") else 0)
    assert scalar(provider, "SELECT pin_failures FROM persons") == expected
    assert sign_in(web, signin_url).status_code == 303, "the interaction is still usable"


def test_sign_in_oversized_body(provider: Any, web: Any, signin_url: str) -> None:
    before = counts(provider)
    response = web.post(signin_url, data={"pad": "x" * 70_000})
    assert_error_page(response, 413)
    assert counts(provider) == before


CONSENT_CASES = [
    ("csrf-missing", None),
    ("csrf-wrong", "x" * 32),
    ("csrf-han", HAN),
    ("csrf-oversized", "x" * 5000),
]


@pytest.mark.parametrize("csrf", [c[1] for c in CONSENT_CASES], ids=[c[0] for c in CONSENT_CASES])
def test_consent_form_csrf(provider: Any, web: Any, consent_url: str, csrf: str | None) -> None:
    data = {"decision": "approve"} | ({"csrf_token": csrf} if csrf is not None else {})
    before = counts(provider)
    response = web.post(consent_url, data=data)
    assert_error_page(response, 400, echo=(HAN,))
    assert counts(provider) == before
    assert scalar(provider, "SELECT COUNT(*) FROM interactions WHERE completed_at IS NULL") == 1


def test_consent_without_a_session(app: Any, web: Any, consent_url: str) -> None:
    web.delete_cookie("essc_session")
    assert_error_page(web.get(consent_url))


def test_consent_replayed(provider: Any, web: Any, consent_url: str) -> None:
    csrf = csrf_of(web.get(consent_url).get_data(as_text=True))
    assert (
        web.post(consent_url, data={"csrf_token": csrf, "decision": "approve"}).status_code == 303
    )
    before = counts(provider)
    response = web.post(consent_url, data={"csrf_token": csrf, "decision": "approve"})
    assert_error_page(response)
    assert counts(provider) == before, "no second grant from one interaction"


@pytest.mark.parametrize("decision", ["deny", HAN, ""], ids=["deny", "han", "empty"])
def test_consent_refused(provider: Any, web: Any, consent_url: str, decision: str) -> None:
    csrf = csrf_of(web.get(consent_url).get_data(as_text=True))
    before = counts(provider)
    response = web.post(consent_url, data={"csrf_token": csrf, "decision": decision})
    assert_redirect_error(response, "https://rp.example/cb", "access_denied", state="st-123")
    assert counts(provider) == before


@pytest.mark.parametrize("step", ["signin", "consent"])
def test_interaction_wrong_method(web: Any, signin_url: str, step: str) -> None:
    response = web.put(signin_url.replace("/signin", f"/{step}"))
    assert_error_page(response, 405)
    assert {"GET", "POST"} <= set(response.headers["Allow"].split(", "))
