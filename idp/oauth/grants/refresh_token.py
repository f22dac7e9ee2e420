"""The refresh token grant (RFC 6749 6) with rotation and reuse detection (RFC 9700 4.14.2).

Rotation is on by default: each refresh token works once and is replaced. Presenting a used one
revokes the whole grant. A client may turn rotation off (FAPI 2.0 5.3.2.1: sender-constrained
clients do not rotate); then the same token is returned until it expires.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from channels.client import Client
from idp.errors import InvalidGrant
from idp.oauth.grants.base import TokenServices
from idp.oauth.grants.base import check_client_may_use
from idp.oauth.grants.base import narrowed_scopes
from idp.oauth.grants.base import user_token_response
from idp.oauth.params import require
from idp.oauth.storage import TokenStore


class RefreshTokenReused(InvalidGrant):
    keep_writes = True


class RefreshTokenGrant:
    grant_type = "refresh_token"
    uses_storage = True

    def __init__(self, services: TokenServices) -> None:
        self._services = services

    def issue(
        self, params: Mapping[str, str], client: Client, store: TokenStore | None
    ) -> dict[str, Any]:
        assert store is not None
        check_client_may_use(client, self.grant_type)
        presented = require(params, "refresh_token")
        token_hash = self._services.token_hash(presented)
        now = self._services.now()
        record = store.find_refresh_token(token_hash)
        if record is None or record.client_id != client.client_id:
            raise InvalidGrant("the refresh token is invalid")
        if record.grant.revoked:
            raise InvalidGrant("the refresh token was revoked")
        if record.expires_at <= now:
            raise InvalidGrant("the refresh token expired")
        scopes = narrowed_scopes(params.get("scope"), record.scopes)
        if not store.person_may_sign_in(record.grant.person_id):
            raise InvalidGrant("the card is not in a usable state")
        keep: str | None = presented
        if client.rotate_refresh_tokens:
            if record.used or not store.use_refresh_token(token_hash, now):
                store.revoke_grant(record.grant.id, "refresh_reuse", now)
                raise RefreshTokenReused(
                    "the refresh token was already used", detail="reuse; grant revoked"
                )
            keep = None
        return user_token_response(
            self._services, client, store, record.grant, scopes, nonce=None, refresh_token=keep
        )
