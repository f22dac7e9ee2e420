"""RFC 9449 4.3 9: ``htu`` is compared without query and fragment, after RFC 3986 6.2.2-6.2.3
normalisation, so a proof names one resource however it spells it, and never another one:
a dot segment, an escape or a port cannot make a proof for one path pass for another."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from idp.errors import InvalidDpopProof
from idp.oauth.rfc9449_dpop import DpopProofs
from idp.oauth.rfc9449_dpop import remove_dot_segments
from tests.oauth.dpop_keys import DpopKey
from tests.support import basic
from tests.support import obtain_code

NOW = 1_700_000_000
TOKEN = "https://idp.example/token"


class _Set:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def add_once(self, key: str, expires_at: int) -> bool:
        fresh = key not in self.seen
        self.seen.add(key)
        return fresh


def _check(htu: str, url: str = TOKEN) -> None:
    proofs = DpopProofs(_Set(), max_age=60, leeway=10, clock=lambda: NOW)
    proofs.check(DpopKey.new().proof("POST", htu, NOW), "POST", url)


@pytest.mark.parametrize(
    "htu",
    [
        "https://idp.example/token",
        "HTTPS://IDP.EXAMPLE/token",
        "https://idp.example:443/token",
        "https://idp.example/token?x=1#f",
        "https://idp.example/%74oken",  # 't' is unreserved: decoded
        "https://idp.example/%74%6F%6b%65%6e",
        "https://idp.example/par/../token",
        "https://idp.example/./token",
        "https://idp.example/a/b/../../token",
        "https://idp.example/../token",  # never above the root
        "https://idp.example/x/%2E%2E/token",  # an escaped dot segment is a dot segment
    ],
)
def test_spellings_of_the_same_url_are_accepted(htu: str) -> None:
    _check(htu)


@pytest.mark.parametrize(
    "htu",
    [
        "https://idp.example/par",
        "https://idp.example/token/../par",
        "https://idp.example/token/..",
        "https://idp.example/token/.",  # /token/ is another path than /token
        "https://idp.example/token/",
        "https://idp.example/x%2F..%2Ftoken",  # an escaped slash is not a separator
        "https://idp.example/%2E%2E%2Ftoken",
        "https://idp.example/Token",
        "https://idp.example:8443/token",
        "https://idp.example:80/token",
        "http://idp.example/token",
        "https://other.example/token",
        "https://user@idp.example/token",
        "https://idp.example/to ken",
        "https://idp.example/tokén",
        "//idp.example/token",
        "/token",
        "https://idp.example:99999/token",
        "https://[::1/token",
    ],
)
def test_another_url_is_refused(htu: str) -> None:
    with pytest.raises(InvalidDpopProof) as refused:
        _check(htu)
    assert refused.value.detail == "htu"


def test_the_servers_own_url_is_normalised_the_same_way() -> None:
    _check("https://idp.example/token", url="https://idp.example:443/a/../token")


# Paths from segments where dots and escapes are likely.
_segment = st.sampled_from(["", ".", "..", "%2e", "%2E%2e", "a", "b", "%2F", "token", "~"])
_path = st.lists(_segment, max_size=8).map(lambda s: "/" + "/".join(s))


@settings(max_examples=200, deadline=None)
@given(_path)
def test_normalised_paths_have_no_dot_segments_and_are_stable(path: str) -> None:
    out = remove_dot_segments(path.replace("%2e", ".").replace("%2E", "."))
    assert out.startswith("/")
    assert "." not in out.split("/") and ".." not in out.split("/")
    assert remove_dot_segments(out) == out


@settings(max_examples=100, deadline=None)
@given(_path)
def test_a_path_is_accepted_only_if_it_normalises_to_the_url(path: str) -> None:
    """Accepted exactly when RFC 3986 5.2.4 (after decoding escaped dots) gives ``/token``."""
    expected = remove_dot_segments(path.replace("%2e", ".").replace("%2E", "."))
    try:
        _check("https://idp.example" + path)
    except InvalidDpopProof:
        assert expected != "/token"
    else:
        assert expected == "/token"


def test_through_the_token_endpoint(web: Any, portal: Any, cardholder: Any, provider: Any) -> None:
    """The real endpoint: a proof for ``/par/../token`` is for ``/token``; one for
    ``/token/../par`` is not."""
    key = DpopKey.new()
    now = provider.now()
    for htu, status in (
        ("http://localhost/token/../par", 400),
        ("http://localhost/par/../token", 200),
    ):
        code, verifier = obtain_code(web, portal)
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": verifier,
        }
        headers = {**basic(portal.client_id, portal.client_secret)}
        headers["DPoP"] = key.proof("POST", htu, now)
        response = web.post("/token", data=data, headers=headers)
        assert response.status_code == status, response.get_json()
        if status == 400:
            assert response.get_json()["error"] == "invalid_dpop_proof"
