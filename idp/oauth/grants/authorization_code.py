"""The authorization code grant (RFC 6749 4.1.3) with PKCE (RFC 7636 4.6).

A code is consumed by one conditional ``UPDATE ... RETURNING`` that also returns its grant and
whether the card is usable, so a good exchange is that one statement (plus a refresh token's
insert). A failed check raises, which rolls the consumption back. A second use of a consumed
code revokes the whole grant, so every token issued from it stops (RFC 6749 4.1.2, RFC 9700
4.5.3).
"""

from __future__ import annotations

from typing import Any

from channels.client import Client
from idp.errors import InvalidGrant
from idp.oauth import rfc7636
from idp.oauth import rfc9449_dpop
from idp.oauth.grants.base import GrantRevoked
from idp.oauth.grants.base import StoredGrant
from idp.oauth.grants.base import check_client_may_use
from idp.oauth.grants.base import user_token_response
from idp.oauth.params import require
from idp.oauth.storage import TokenStore
from idp.oauth.token_request import TokenRequest
from idp.oauth.tokens import Confirmation


class AuthorizationCodeGrant(StoredGrant):
    grant_type = "authorization_code"
    parameters = frozenset({"code", "redirect_uri", "code_verifier"})

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
        code = require(params, "code")
        redirect_uri = require(params, "redirect_uri")
        verifier = params.get("code_verifier")
        code_hash = self._services.token_hash(code)
        now = self._services.now()
        record = store.consume_code(code_hash, now)
        if record is None:
            reused_grant = store.consumed_code_grant(code_hash)
            if reused_grant is not None:
                store.revoke_grant(reused_grant, "code_reuse", now)
                raise GrantRevoked("the code was already used", detail="code reuse; grant revoked")
            raise InvalidGrant("the code is invalid or expired")
        if record.grant.client_id != client.client_id:
            raise InvalidGrant("the code was issued to another client")
        if record.redirect_uri != redirect_uri:
            raise InvalidGrant("redirect_uri does not match the authorization request")
        rfc7636.check_verifier(verifier, record.code_challenge)
        rfc9449_dpop.check_same_key(record.dpop_jkt, binding)
        if not record.person_may_sign_in:  # read by the consuming UPDATE itself
            raise InvalidGrant("the card is not in a usable state")
        return user_token_response(
            self._services,
            client,
            store,
            record.grant,
            record.grant.scopes,
            nonce=record.nonce,
            refresh_token=None,
            binding=binding,
        )
