"""Public keys of clients that authenticate with ``private_key_jwt``: the registered ``jwks``,
or the ``jwks_uri`` fetched and cached (PyJWT's ``PyJWKClient``)."""

from __future__ import annotations

import hashlib
import json
import threading

import jwt

from channels.client import Client


class ClientKeyCache:
    def __init__(self, jwks_lifespan: int = 300, fetch_timeout: int = 5) -> None:
        self._lifespan = jwks_lifespan
        self._timeout = fetch_timeout
        self._lock = threading.Lock()
        self._by_jwks: dict[str, list[jwt.PyJWK]] = {}
        self._by_uri: dict[str, jwt.PyJWKClient] = {}

    def keys_for(self, client: Client) -> list[jwt.PyJWK]:
        if client.jwks is not None:
            return self._from_jwks(client.jwks)
        if client.jwks_uri:
            return self._from_uri(client.jwks_uri)
        return []

    def _from_jwks(self, jwks: dict[str, object]) -> list[jwt.PyJWK]:
        digest = hashlib.sha256(json.dumps(jwks, sort_keys=True).encode()).hexdigest()
        cached = self._by_jwks.get(digest)
        if cached is None:
            try:
                cached = [
                    k
                    for k in jwt.PyJWKSet.from_dict(jwks).keys
                    if k.public_key_use in (None, "sig")
                ]
            except jwt.PyJWTError:
                cached = []
            with self._lock:
                self._by_jwks[digest] = cached
        return cached

    def _from_uri(self, uri: str) -> list[jwt.PyJWK]:
        client = self._by_uri.get(uri)
        if client is None:
            client = jwt.PyJWKClient(
                uri, cache_keys=True, lifespan=self._lifespan, timeout=self._timeout
            )
            with self._lock:
                self._by_uri[uri] = client
        try:
            return list(client.get_signing_keys())
        except jwt.PyJWKClientError:
            return []
