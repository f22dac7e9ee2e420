"""Property-based hostile input (Hypothesis) over every JSON body and form the product reads.

Bodies and forms carry arbitrary text (lone surrogates, NUL, noncharacters), invalid or overlong
UTF-8, huge numbers, NaN, repeated names and deep nesting. The answer is always the endpoint's
4xx in its own format (RFC 6749 5.2 / RFC 7591 3.2.2 JSON, RFC 7807 problem JSON, or the HTML
error page of the browser endpoints), never a 5xx, and every data table keeps its row count.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from idp.oauth.client_auth import PARAMETERS as CLIENT_AUTH_PARAMETERS
from idp.oauth.grants.authorization_code import AuthorizationCodeGrant
from idp.oauth.grants.client_credentials import ClientCredentialsGrant
from idp.oauth.grants.refresh_token import RefreshTokenGrant
from idp.oauth.rfc7009 import PARAMETERS as REVOCATION_PARAMETERS
from idp.oauth.rfc7662 import PARAMETERS as INTROSPECTION_PARAMETERS
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import bearer
from tests.ecard_helpers import issue_body
from tests.hostile.bodies import MALFORMED
from tests.hostile.bodies import data_tables
from tests.hostile.bodies import dumps
from tests.hostile.bodies import registration
from tests.hostile.bodies import row_counts
from tests.hostile.bodies import statement
from tests.support import authorize_params
from tests.support import csrf_of
from tests.support import pkce_pair
from tests.support import sign_in

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
EXAMPLES = 40

#: Any code point at all: surrogates, NUL, controls, noncharacters, unassigned.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=24)
#: Bytes that are not UTF-8: overlong forms, encoded surrogates, stray and truncated bytes.
bad_utf8 = st.sampled_from(
    [b"\xc0\xaf", b"\xc0\x80", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xff", b"\xe5\x9b", b"\xf8\x88"]
)
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=8))


def _settings(examples: int = EXAMPLES) -> Callable[[Any], Any]:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


@st.composite
def _defect(draw: st.DrawFn) -> bytes:
    """One JSON value (as raw text) that breaks I-JSON (RFC 7493)."""
    kind = draw(st.sampled_from(["surrogate", "nul", "nonchar", "const", "number", "deep", "utf8"]))
    prefix = draw(st.text(st.characters(codec="ascii", categories=["L", "N"]), max_size=4))
    if kind == "surrogate":
        return f'"{prefix}\\u{draw(st.integers(0xD800, 0xDFFF)):04x}"'.encode()
    if kind == "nul":
        return f'"{prefix}\\u0000"'.encode()
    if kind == "nonchar":
        return (
            f'"{prefix}\\u{draw(st.sampled_from([0xFFFE, 0xFFFF, 0xFDD0, 0xFDEF])):04x}"'.encode()
        )
    if kind == "const":
        return draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity"]))
    if kind == "number":
        digits = draw(st.integers(17, 400))
        return draw(
            st.sampled_from([b"9" * digits, b"-" + b"9" * digits, b"1e%d" % (digits + 300)])
        )
    if kind == "deep":
        depth = draw(st.integers(17, 3000))
        return b"[" * depth + b"]" * depth
    return b'"' + prefix.encode() + draw(bad_utf8) + b'"'


@st.composite
def hostile_json(draw: st.DrawFn, base: dict[str, Any] | None = None) -> bytes:
    """A JSON object (``base`` or random) with one defect: a bad member, or a repeated name."""
    members = dict(base or draw(st.dictionaries(st.text(max_size=8), json_leaf, max_size=4)))
    rest = json.dumps(members, ensure_ascii=draw(st.booleans())).encode()[1:-1]
    if draw(st.booleans()) and members:
        name = draw(st.sampled_from(sorted(members)))  # repeated: last would win in json.loads
        head = json.dumps(name).encode() + b":" + json.dumps(members[name]).encode()
    else:
        head = json.dumps(draw(st.text(min_size=1, max_size=8))).encode() + b":" + draw(_defect())
    return b"{" + head + (b"," + rest if rest else b"") + b"}"


any_json_body = st.one_of(st.sampled_from(sorted(MALFORMED.values())), hostile_json())


pytestmark = pytest.mark.onboarding


class Unchanged:
    """Every data table's row count before and after one request."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider
        self._tables = data_tables(provider)

    def __call__(self, send: Callable[[], Any]) -> Any:
        before = row_counts(self._provider, self._tables)
        response = send()
        assert row_counts(self._provider, self._tables) == before, response.status_code
        return response


def _oauth_error(response: Any, statuses: tuple[int, ...] = (400, 401, 403, 413)) -> None:
    assert response.status_code in statuses, (response.status_code, response.data[:200])
    assert response.mimetype == JSON
    body = response.get_json()
    assert isinstance(body["error"], str) and body["error_description"].isascii()


def _problem(response: Any, statuses: tuple[int, ...] = (400, 413)) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.data[:200])
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["status"] == response.status_code and "/problems/" in body["type"]
    return body


def _form_bytes(items: list[tuple[str, str]]) -> bytes:
    """x-www-form-urlencoded, with lone surrogates sent as the (invalid) bytes they would be."""
    return "&".join(
        quote(n, encoding="utf-8", errors="surrogatepass")
        + "="
        + quote(v, encoding="utf-8", errors="surrogatepass")
        for n, v in items
    ).encode("ascii")


# -- JSON bodies -----------------------------------------------------------------------------


def test_register_hostile_json(web: Any, provider: Any, operator_key: bytes) -> None:
    unchanged = Unchanged(provider)
    valid = registration(statement(operator_key))

    @_settings()
    @given(st.one_of(any_json_body, hostile_json(valid)))
    def run(body: bytes) -> None:
        response = unchanged(lambda: web.post("/register", data=body, content_type=JSON))
        _oauth_error(response, (400,))
        assert response.get_json()["error"] == "invalid_client_metadata"

    run()


def test_register_arbitrary_strings(web: Any, provider: Any, operator_key: bytes) -> None:
    """Arbitrary text as the statement and as every metadata field: refused, nothing written."""
    unchanged = Unchanged(provider)
    fields = ["client_name", "scope", "token_endpoint_auth_method", "jwks_uri", "subject_type"]

    @_settings()
    @given(any_text, st.dictionaries(st.sampled_from(fields), any_text))
    def run(software_statement: str, metadata: dict[str, str]) -> None:
        body = dumps({**metadata, "software_statement": software_statement})
        response = unchanged(lambda: web.post("/register", data=body, content_type=JSON))
        _oauth_error(response, (400,))

    run()


def test_register_arbitrary_jwk(web: Any, provider: Any, operator_key: bytes) -> None:
    """Defect 5: a JWK of arbitrary members is refused before the statement is spent."""
    unchanged = Unchanged(provider)
    members = st.sampled_from(["kty", "crv", "x", "y", "n", "e", "use", "alg", "kid"])
    key = st.fixed_dictionaries(
        {
            "kty": st.sampled_from(["EC", "RSA", "OKP"]),
            "crv": st.sampled_from(["P-256", "Ed25519"]),
        },
        optional={"x": any_text, "y": any_text, "n": any_text, "e": any_text},
    ) | st.dictionaries(members, any_text | json_leaf, max_size=6)

    @_settings()
    @given(key)
    def run(jwk: dict[str, Any]) -> None:
        body = registration(
            statement(operator_key),
            token_endpoint_auth_method="private_key_jwt",
            jwks={"keys": [jwk]},
        )
        data = dumps(body)
        response = unchanged(lambda: web.post("/register", data=data, content_type=JSON))
        _oauth_error(response, (400,))
        assert response.get_json()["error"] == "invalid_client_metadata"

    run()


def test_registration_management_hostile(web: Any, provider: Any, operator_key: bytes) -> None:
    """RFC 7592 GET/PUT/DELETE: hostile bodies, tokens and client ids."""
    created = web.post("/register", json=registration(statement(operator_key))).json
    uri = f"/register/{created['client_id']}"
    auth = {"Authorization": f"Bearer {created['registration_access_token']}"}
    unchanged = Unchanged(provider)
    latin1 = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=40)

    # A "/" in the id is a path separator; Werkzeug redirects "//" to "/" (RFC 3986 6.2.3).
    client_ids = st.text(
        st.characters(codec=None, exclude_categories=(), exclude_characters="/"), max_size=24
    )

    @_settings()
    @given(any_json_body, latin1, client_ids, st.sampled_from(["GET", "PUT", "DELETE"]))
    def run(body: bytes, token: str, client_id: str, method: str) -> None:
        put = unchanged(lambda: web.put(uri, data=body, content_type=JSON, headers=auth))
        _oauth_error(put, (400,))
        path = "/register/" + quote(client_id, safe="", errors="surrogatepass")
        headers = {"Authorization": "Bearer " + token}
        response = unchanged(lambda: web.open(path, method=method, data=body, headers=headers))
        assert 400 <= response.status_code < 500, response.status_code
        if response.status_code != 404:  # an empty client id routes nowhere
            _oauth_error(response, (400, 401, 403, 405))

    run()


def test_ecard_api_hostile_json(web: Any, provider: Any, cardholder: Any) -> None:
    headers = bearer(web, add_channel(provider, "bank"))
    issued = web.post("/api/v1/ecards", json=issue_body(provider, "bank"), headers=headers)
    assert issued.status_code == 201
    unbind = f"/api/v1/ecards/{issued.json['sign_no']}/unbind"
    unchanged = Unchanged(provider)
    valid = issue_body(provider, "bank", idempotency_key="req-bank-hostile")

    @_settings()
    @given(
        st.one_of(any_json_body, hostile_json(valid)), st.sampled_from(["/api/v1/ecards", unbind])
    )
    def run(body: bytes, path: str) -> None:
        response = unchanged(lambda: web.post(path, data=body, content_type=JSON, headers=headers))
        assert _problem(response, (400,))["type"].endswith("/malformed-json")

    run()


def test_ecard_api_arbitrary_fields(web: Any, provider: Any, cardholder: Any) -> None:
    """Arbitrary values in each field of a valid body: never a 5xx; a refusal writes nothing.
    Some values are valid (another ``channel_subject``, ``level`` 1): those issue the e-card,
    or replay it under the same idempotency key."""
    headers = bearer(web, add_channel(provider, "bank"))
    tables = data_tables(provider)
    fields = ["id_number", "region_code", "channel_subject", "level", "evidence", "name"]
    value = any_text | json_leaf | st.floats() | st.integers() | st.lists(json_leaf, max_size=3)

    @_settings()
    @given(
        st.sampled_from(fields),
        value,
        st.sampled_from(["/api/v1/ecards", "/api/v1/ecards/x/unbind"]),
    )
    def run(field: str, new: Any, path: str) -> None:
        body = issue_body(provider, "bank", idempotency_key="req-bank-fields")
        body[field] = new
        data = json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass")
        before = row_counts(provider, tables)
        response = web.post(path, data=data, content_type=JSON, headers=headers)
        if response.status_code in (200, 201) and path == "/api/v1/ecards":
            return
        _problem(response, (400, 404, 409, 422))
        assert row_counts(provider, tables) == before, response.status_code

    run()


# -- forms -----------------------------------------------------------------------------------


#: Every parameter the back channel reads at one of its endpoints.
BACKCHANNEL_PARAMETERS = frozenset({"grant_type"}).union(
    CLIENT_AUTH_PARAMETERS,
    INTROSPECTION_PARAMETERS,
    REVOCATION_PARAMETERS,
    *(g.parameters for g in (AuthorizationCodeGrant, RefreshTokenGrant, ClientCredentialsGrant)),
)
form_names = st.sampled_from(sorted(BACKCHANNEL_PARAMETERS)) | any_text
form_items = st.lists(st.tuples(form_names, any_text), max_size=6)
form_body = st.one_of(
    form_items.map(_form_bytes),
    st.binary(max_size=64),
    st.tuples(form_items.map(_form_bytes), bad_utf8).map(lambda p: p[0] + b"&x=" + p[1]),
)


def test_backchannel_hostile_forms(web: Any, provider: Any, portal: Any) -> None:
    """/token, /introspect and /revoke: RFC 6749 5.2 errors, nothing written."""
    unchanged = Unchanged(provider)
    latin1 = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=40)

    @_settings(60)
    @given(st.sampled_from(["/token", "/introspect", "/revoke"]), form_body, latin1)
    def run(path: str, body: bytes, authorization: str) -> None:
        headers = {"Authorization": authorization} if authorization else {}
        response = unchanged(lambda: web.post(path, data=body, content_type=FORM, headers=headers))
        _oauth_error(response, (400, 401))

    run()


def test_authorize_hostile_query(web: Any, provider: Any, portal: Any) -> None:
    """A page for an untrusted client or redirect, a redirected error otherwise; only a valid
    request may write (its interaction), and then nothing else."""
    tables = data_tables(provider)
    _, challenge = pkce_pair()
    base = authorize_params(portal, challenge)
    names = st.sampled_from(sorted(base)) | any_text

    @_settings(60)
    @given(st.lists(st.tuples(names, any_text), min_size=1, max_size=4), st.booleans())
    def run(changes: list[tuple[str, str]], post: bool) -> None:
        items = [(k, v) for k, v in base.items() if k not in dict(changes)] + changes
        before = row_counts(provider, tables)
        query = _form_bytes(items)
        if post:
            response = web.post("/authorize", data=query, content_type=FORM)
        else:
            response = web.get("/authorize?" + query.decode("ascii"))
        assert response.status_code in (303, 400), response.status_code
        location = response.headers.get("Location", "")
        after = row_counts(provider, tables)
        if response.status_code == 303 and "/interaction/" in location:
            after["interactions"] -= 1
        elif response.status_code == 303:
            assert location.startswith(portal.redirect_uri + "?") and "error=" in location
        else:
            assert response.mimetype == "text/html"
        assert after == before

    run()


def test_signin_and_consent_hostile_forms(
    web: Any, provider: Any, portal: Any, cardholder: Any
) -> None:
    """The sign-in and consent forms: a forged or missing CSRF token, or a valid one with
    arbitrary credential and PIN bytes, never signs anyone in or writes a grant."""
    _, challenge = pkce_pair()
    start = web.get("/authorize", query_string=authorize_params(portal, challenge))
    signin = start.headers["Location"]
    csrf = csrf_of(web.get(signin).get_data(as_text=True))
    # A wrong PIN is meant to write: its audit event (and the audit chain's head, made with the
    # first record), and the failure count of the card or of the unknown credential
    # (pin_attempts), so the lockout holds (tests/test_races.py).
    counted = ("audit_events", "audit_chain_head", "people", "cards", "pin_attempts")
    tables = [t for t in data_tables(provider) if t not in counted]

    @_settings()
    @given(any_text, any_text, any_text, st.booleans())
    def run(token: str, credential: str, pin: str, real_csrf: bool) -> None:
        items = [
            ("csrf_token", csrf if real_csrf else token),
            ("credential", credential),
            ("pin", pin),
        ]
        before = row_counts(provider, tables)
        response = web.post(signin, data=_form_bytes(items), content_type=FORM)
        assert response.status_code in (400, 401, 429), response.status_code
        assert response.mimetype == "text/html"
        assert row_counts(provider, tables) == before

    run()

    consent = sign_in(web, signin).headers["Location"]
    assert consent.endswith("/consent")
    unchanged = Unchanged(provider)

    @_settings()
    @given(any_text, any_text)
    def forged(token: str, decision: str) -> None:
        body = _form_bytes([("csrf_token", token), ("decision", decision)])
        response = unchanged(lambda: web.post(consent, data=body, content_type=FORM))
        assert response.status_code == 400 and response.mimetype == "text/html"

    forged()
