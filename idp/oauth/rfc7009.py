"""Token revocation (RFC 7009).

Revoking a refresh token revokes its grant, which stops the access tokens issued from it too
(2.1). Revoking an access token puts its ``jti`` on the deny-list until it expires. Unknown
tokens and tokens of other clients get the same 200 (2.2), revealing nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Mapping

from channels.client import Client
from idp.errors import InvalidToken
from idp.oauth.access_tokens import AccessTokenVerifier
from idp.oauth.access_tokens import looks_like_jwt
from idp.oauth.params import require
from idp.oauth.storage import TokenStore

#: The form parameters the endpoint reads (RFC 7009 2.1), client authentication's aside.
PARAMETERS = frozenset({"token", "token_type_hint"})


class Revocation:
    def __init__(
        self,
        verifier: AccessTokenVerifier,
        token_hash: Callable[[str], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._verifier = verifier
        self._token_hash = token_hash
        self._clock = clock

    def revoke(self, caller: Client, params: Mapping[str, str], store: TokenStore) -> bool:
        """True when something was revoked (for the audit log; the response is 200 either way)."""
        token = require(params, "token")
        if looks_like_jwt(token):
            try:
                claims = self._verifier.claims(token)
            except InvalidToken:
                return False
            if claims.get("client_id") != caller.client_id:
                return False
            self._verifier.revoke(claims)
            return True
        record = store.find_refresh_token(self._token_hash(token))
        if record is None or record.client_id != caller.client_id or record.grant.revoked:
            return False
        store.revoke_grant(record.grant.id, "revoked_by_client", int(self._clock()))
        return True
