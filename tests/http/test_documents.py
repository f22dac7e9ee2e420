"""Discovery and the JWK Set on the lean path: precomputed bytes, ETag, 304, and a rotated key
published at once (idp.http.discovery)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from idp.http.discovery import not_modified
from idp.provider import Provider

METADATA = ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]


@pytest.mark.parametrize("path", [*METADATA, "/jwks.json"])
def test_documents_carry_an_etag_and_revalidate_to_304(web: Any, path: str) -> None:
    first = web.get(path)
    assert first.status_code == 200 and first.json
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert first.headers["X-Request-Id"] and first.headers["X-Content-Type-Options"] == "nosniff"
    assert int(first.headers["Content-Length"]) == len(first.data)
    again = web.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    other = web.get(path, headers={"If-None-Match": '"not-this-one"'})
    assert other.status_code == 200 and other.data == first.data


def test_metadata_is_the_provider_s_document(web: Any, provider: Provider) -> None:
    for path in METADATA:
        response = web.get(path)
        assert response.mimetype == "application/json"
        assert response.json == provider.metadata


def test_head_answers_the_headers_without_a_body(web: Any) -> None:
    response = web.head("/jwks.json")
    assert response.status_code == 200 and response.data == b""
    assert response.headers["ETag"] and response.mimetype == "application/jwk-set+json"


def test_a_rotated_key_is_served_at_once_with_a_new_etag(web: Any, provider: Provider) -> None:
    before = web.get("/jwks.json")
    rotation = provider.keyring.rotate("ES256")
    after = web.get("/jwks.json", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200, "the old ETag must not match the new key set"
    assert after.mimetype == "application/jwk-set+json"
    kids = {k["kid"] for k in after.json["keys"]}
    assert rotation.pending in kids
    assert rotation.pending not in {k["kid"] for k in before.json["keys"]}
    assert after.headers["ETag"] != before.headers["ETag"]
    assert all("d" not in k for k in after.json["keys"]), "public keys only"


def test_a_key_rotated_by_another_process_appears_after_the_refresh(
    database_url: str, provider: Provider, web: Any, clock: Any
) -> None:
    """Another process (the CLI's ``essc keys rotate``) writes the new key; this worker's ring
    reloads within ``keyring_refresh_seconds`` and the JWKS bytes follow."""
    before = web.get("/jwks.json")
    other = Provider(provider.settings, clock=clock)
    try:
        rotation = other.keyring.rotate("EdDSA")
    finally:
        other.db.dispose()
    cached = web.get("/jwks.json", headers={"If-None-Match": before.headers["ETag"]})
    assert cached.status_code == 304, "within the refresh period the cached set stands"
    clock.advance(provider.settings.keyring_refresh_seconds + 1)
    fresh = web.get("/jwks.json", headers={"If-None-Match": before.headers["ETag"]})
    assert fresh.status_code == 200
    assert rotation.pending in {k["kid"] for k in json.loads(fresh.data)["keys"]}


def test_unchanged_keys_keep_their_etag_across_reloads(
    web: Any, provider: Provider, clock: Any
) -> None:
    first = web.get("/jwks.json").headers["ETag"]
    clock.advance(provider.settings.keyring_refresh_seconds + 1)  # the ring reloads
    assert web.get("/jwks.json").headers["ETag"] == first


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ('"abd"', False),
        ("", False),
        ("abc", False),
    ],
)
def test_if_none_match_uses_weak_comparison(header: str, matches: bool) -> None:
    assert not_modified(header, '"abc"') is matches
