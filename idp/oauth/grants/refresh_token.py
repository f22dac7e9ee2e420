"""The refresh token grant (RFC 6749 6) with rotation and reuse detection (RFC 9700 4.14.2).

Rotation is on by default: each refresh token works once and is replaced. One conditional
``UPDATE ... RETURNING`` retires it and returns its grant and card status; the new token's insert
follows in the same transaction, and a failed check rolls the retirement back. Presenting a used
one revokes the whole grant. A client may turn rotation off (FAPI 2.0 5.3.2.1: sender-constrained
clients do not rotate); then the same token is returned until it expires.
"""

from __future__ import annotations

from typing import Any

from channels.client import Client
from idp.errors import InvalidGrant
from idp.oauth import rfc9449_dpop
from idp.oauth.grants.base import GrantRevoked
from idp.oauth.grants.base import StoredGrant
from idp.oauth.grants.base import check_client_may_use
from idp.oauth.grants.base import narrowed_scopes
from idp.oauth.grants.base import user_token_response
from idp.oauth.params import require
from idp.oauth.storage import RefreshRecord
from idp.oauth.storage import TokenStore
from idp.oauth.token_request import TokenRequest
from idp.oauth.tokens import Confirmation


class RefreshTokenGrant(StoredGrant):
    grant_type = "refresh_token"
    parameters = frozenset({"refresh_token", "scope"})

    def issue(
        self,
        request: TokenRequest,
        client: Client,
        store: TokenStore,
        *,
        binding: Confirmation | None = None,
    ) -> dict[str, Any]:
        params = request.form
        check_client_may_use(client, self.grant_type)
        presented = require(params, "refresh_token")
        token_hash = self._services.token_hash(presented)
        now = self._services.now()
        rotate = client.rotate_refresh_tokens
        # The common case in one statement: retire the token and read its grant and card.
        record = store.rotate_refresh_token(token_hash, client.client_id, now) if rotate else None
        retired = record is not None
        if record is None:
            record = self._checked(store, token_hash, client, now)
        if record.grant.revoked:
            raise InvalidGrant("the refresh token was revoked")
        rfc9449_dpop.check_same_key(record.dpop_jkt, binding)
        scopes = narrowed_scopes(params.get("scope"), record.scopes)
        if not record.person_may_sign_in:
            raise InvalidGrant("the card is not in a usable state")
        if rotate and not retired:  # a live token of this client, retired before: a reuse
            store.revoke_grant(record.grant.id, "refresh_reuse", now)
            raise GrantRevoked("the refresh token was already used", detail="reuse; grant revoked")
        return user_token_response(
            self._services,
            client,
            store,
            record.grant,
            scopes,
            nonce=None,
            refresh_token=None if rotate else presented,
            binding=binding,
        )

    @staticmethod
    def _checked(store: TokenStore, token_hash: str, client: Client, now: int) -> RefreshRecord:
        """The token read, not retired (a client that does not rotate, or one whose token could
        not be retired): refused if unknown or another client's, revoked or expired, in the
        order these checks have always run."""
        found = store.find_refresh_token(token_hash)
        if found is None or found.client_id != client.client_id:
            raise InvalidGrant("the refresh token is invalid")
        if found.grant.revoked:
            raise InvalidGrant("the refresh token was revoked")
        if found.expires_at <= now:
            raise InvalidGrant("the refresh token expired")
        return found
