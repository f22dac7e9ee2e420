"""``frame-ancestors`` per embedding channel (issue 13 item 7): the pages of an authorization
request whose client registered ``essc_embed_origins`` (sign-in, consent, the scan-to-sign-in PC
page, that interaction's error pages) name those origins and drop ``X-Frame-Options``; every
other page keeps ``frame-ancestors 'none'`` and ``DENY``. Origins are checked strictly where
they are registered (``channels.embedding``). The browser's side: ``test_framing_browser.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from channels.embedding import InvalidEmbedOrigin
from channels.embedding import check_embed_origins
from channels.registration import InvalidClientMetadata
from channels.registration import validate_metadata
from idp.http.framing import names_ancestors
from idp.provider import Provider
from tests.http.test_web_hardening import directives
from tests.support import authorize_params
from tests.support import pkce_pair
from tests.support import register
from tests.support import sign_in

EMBEDDER = "https://portal.example.gov.cn"
OTHER = "https://app.example.cn:8443"

HOSTILE = [
    "https://portal.example.gov.cn/",  # a path, even "/"
    "https://portal.example.gov.cn/embed",
    "https://*.example.gov.cn",  # wildcards
    "*",
    "https://portal.example.gov.cn:*",
    "'self'",
    "'none'",
    "https:",
    "https://portal.example.gov.cn; script-src *",  # ends the directive
    "https://portal.example.gov.cn;",
    "https://portal.example.gov.cn, https://evil.example",
    "https://portal.example.gov.cn https://evil.example",  # spaces
    " https://portal.example.gov.cn",
    "https://portal.example.gov.cn\n",
    "https://portal.example.gov.cn\t",
    "https://user@portal.example.gov.cn",  # userinfo
    "https://user:pw@portal.example.gov.cn",
    "https://portal.example.gov.cn?x=1",
    "https://portal.example.gov.cn#f",
    "https://Portal.Example.gov.cn",  # not the exact (lower-case) origin
    "https://portal.example.gov.cn.",
    "https://-portal.example.gov.cn",
    "https://portal..example.gov.cn",
    "https://portal.example.gov.cn:0",
    "https://portal.example.gov.cn:65536",
    "https://portal.example.gov.cn:0443",
    "https://portal.example.gov.cn:",
    "https://\ud800.example.cn",  # a lone surrogate
    "https://例子.中国",  # not ASCII: the punycode form is the origin
    "https://portal\uff0eexample.cn",  # a full-width dot
    "http://portal.example.gov.cn",  # http off loopback
    "javascript:alert(1)",
    "data:text/html,x",
    "blob:https://portal.example.gov.cn",
    "wss://portal.example.gov.cn",
    "",
    "https://" + "a" * 250 + ".cn",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_origin_is_refused_at_registration(hostile: str) -> None:
    with pytest.raises(InvalidClientMetadata) as refused:
        validate_metadata(**portal_metadata([EMBEDDER, hostile]))
    assert refused.value.error == "invalid_client_metadata"
    assert refused.value.description == (  # the input is never echoed
        "essc_embed_origins must hold exact https origins (scheme://host[:port])"
    )


def portal_metadata(origins: Any, **extra: Any) -> dict[str, Any]:
    return dict(
        name="门户",
        kind="portal",
        grant_types=["authorization_code"],
        auth_method="client_secret_basic",
        redirect_uris=["https://portal.example.gov.cn/cb"],
        scopes=["openid"],
        embed_origins=origins,
        **extra,
    )


@pytest.mark.parametrize("value", [[1], {"a": 1}, "https://a.cn", None])
def test_origins_must_be_an_array_of_strings(value: Any) -> None:
    with pytest.raises(InvalidEmbedOrigin):
        check_embed_origins(value, allow_http_loopback=True)


def test_good_origins_and_their_limits() -> None:
    good = [EMBEDDER, OTHER, "https://10.1.2.3", "https://a.cn:443", EMBEDDER]
    assert check_embed_origins(good, allow_http_loopback=False) == tuple(good[:4])
    loopback = ["http://127.0.0.1:8080", "http://localhost:3000", "http://[::1]:9000"]
    assert check_embed_origins(loopback, allow_http_loopback=True) == tuple(loopback)
    for origin in loopback:  # production: https only
        with pytest.raises(InvalidEmbedOrigin):
            check_embed_origins([origin], allow_http_loopback=False)
    with pytest.raises(InvalidEmbedOrigin):
        check_embed_origins(
            [f"https://p{i}.example.cn" for i in range(11)], allow_http_loopback=True
        )
    stored = validate_metadata(**portal_metadata([EMBEDDER]))
    assert stored.embed_origins == (EMBEDDER,)
    assert validate_metadata(**portal_metadata(None)).embed_origins == ()


def test_names_ancestors_reads_the_directive() -> None:
    assert names_ancestors(f"default-src 'none'; frame-ancestors {EMBEDDER}; base-uri 'none'")
    assert not names_ancestors("default-src 'none'; frame-ancestors 'none'")
    assert not names_ancestors("default-src 'none'")  # no directive: still DENY
    assert not names_ancestors("frame-ancestors")


# -- the header, per client ----------------------------------------------------------------
def embedded(response: Any, origins: list[str], label: str) -> None:
    csp = directives(response.headers["Content-Security-Policy"])
    assert csp["frame-ancestors"] == origins, (label, csp["frame-ancestors"])
    assert "X-Frame-Options" not in response.headers, label


def not_framed(response: Any, label: str) -> None:
    csp = directives(response.headers["Content-Security-Policy"])
    assert csp["frame-ancestors"] == ["'none'"], label
    assert response.headers["X-Frame-Options"] == "DENY", label


@pytest.fixture
def embedding_portal(provider: Provider) -> Any:
    return register(
        provider,
        kind="portal",
        scope="openid profile essc.card",
        embed_origins=[EMBEDDER, OTHER],
    )


def test_the_pages_of_an_embedding_clients_request_name_its_origins(
    web: Any, embedding_portal: Any, portal: Any, cardholder: Any
) -> None:
    origins = [EMBEDDER, OTHER]
    _, challenge = pkce_pair()
    started = web.get("/authorize", query_string=authorize_params(embedding_portal, challenge))
    signin = started.headers["Location"]
    embedded(web.get(signin), origins, "sign-in")
    base = signin.rsplit("/", 1)[0]
    embedded(web.get(f"{base}/scan"), origins, "scan-to-sign-in PC page")
    forged = web.post(signin, data={"credential": "A00000001", "pin": "802413"})
    assert forged.status_code == 400  # no CSRF token: that interaction's error page
    embedded(forged, origins, "sign-in error")
    refused = web.post(f"{base}/cancel", data={})
    assert refused.status_code == 400
    embedded(refused, origins, "cancel error")
    consent = sign_in(web, signin)
    embedded(web.get(consent.headers["Location"]), origins, "consent")
    # A front-channel error redirected to the verified redirect_uri as a form_post page.
    _, challenge = pkce_pair()
    form_post = web.get(
        "/authorize",
        query_string=authorize_params(
            embedding_portal, challenge, response_mode="form_post", prompt="none"
        ),
    )
    assert form_post.mimetype == "text/html"
    embedded(form_post, origins, "form_post")

    # Another client's pages, and pages of no request, keep 'none' and DENY.
    _, challenge = pkce_pair()
    other = web.get("/authorize", query_string=authorize_params(portal, challenge))
    not_framed(web.get(other.headers["Location"]), "another client's sign-in")
    not_framed(web.get("/interaction/not-an-interaction/signin"), "an unknown interaction")
    not_framed(web.get("/logout"), "logout")
    not_framed(web.get("/my/signin"), "my authorizations")
    not_framed(
        web.get("/authorize", query_string={"client_id": embedding_portal.client_id}),
        "a request whose redirect_uri is not verified",
    )


def test_an_embedding_client_that_is_suspended_embeds_nothing(
    provider: Provider, web: Any, embedding_portal: Any
) -> None:
    from idp.store.channels import ChannelRow

    _, challenge = pkce_pair()
    signin = web.get(
        "/authorize", query_string=authorize_params(embedding_portal, challenge)
    ).headers["Location"]
    with provider.db.transaction() as s:
        row = s.get(ChannelRow, embedding_portal.client_id)
        assert row is not None
        row.status = "suspended"
    provider.clients.forget(embedding_portal.client_id)
    not_framed(web.get(signin), "a suspended client's page")


def test_a_row_edited_by_hand_cannot_end_the_policy(
    provider: Provider, web: Any, embedding_portal: Any
) -> None:
    """The origins are checked again where the header is built."""
    from idp.store.channels import ChannelRow

    with provider.db.transaction() as s:
        row = s.get(ChannelRow, embedding_portal.client_id)
        assert row is not None
        row.embed_origins = [EMBEDDER, "https://x.cn; script-src *", "*"]
    provider.clients.forget(embedding_portal.client_id)
    _, challenge = pkce_pair()
    signin = web.get(
        "/authorize", query_string=authorize_params(embedding_portal, challenge)
    ).headers["Location"]
    page = web.get(signin)
    embedded(page, [EMBEDDER], "edited row")
    assert "script-src *" not in page.headers["Content-Security-Policy"]
