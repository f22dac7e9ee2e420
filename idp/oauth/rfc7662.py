"""Token introspection (RFC 7662) for authenticated clients.

A client learns about its own tokens only: any other token, like an unknown, expired or revoked
one, is simply ``{"active": false}`` (2.2), so introspection is no oracle for other clients.
A token of a channel that is suspended or deleted (or whose first-tier parent is) is inactive
at once: the channel's status is read in the request's transaction, not from the client cache.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from channels.client import Client
from idp.errors import InvalidToken
from idp.oauth.access_tokens import AccessTokenVerifier
from idp.oauth.access_tokens import looks_like_jwt
from idp.oauth.params import require
from idp.oauth.storage import TokenStore
from idp.oauth.tokens import token_type

#: The form parameters the endpoint reads (RFC 7662 2.1), client authentication's aside.
PARAMETERS = frozenset({"token", "token_type_hint"})

INACTIVE: dict[str, Any] = {"active": False}
_PUBLIC_CLAIMS = (
    "scope",
    "client_id",
    "sub",
    "exp",
    "iat",
    "iss",
    "aud",
    "jti",
    "auth_time",
    "acr",
    "cnf",  # RFC 8705 3.2, RFC 9449 6.2: the resource server checks the binding
    "act",  # RFC 8693 2.2.1: who acts for the subject
)


class Introspection:
    def __init__(
        self,
        verifier: AccessTokenVerifier,
        token_hash: Callable[[str], str],
        subject: Callable[[Client, str], str],
        clock: Callable[[], float],
    ) -> None:
        self._verifier = verifier
        self._token_hash = token_hash
        self._subject = subject
        self._clock = clock

    def introspect(
        self, caller: Client, params: Mapping[str, str], store: TokenStore
    ) -> dict[str, Any]:
        token = require(params, "token")
        if looks_like_jwt(token):
            return self._access_token(caller, token, store)
        return self._refresh_token(caller, token, store)

    def _access_token(self, caller: Client, token: str, store: TokenStore) -> dict[str, Any]:
        try:
            claims = self._verifier.claims(token)
            if claims.get("client_id") != caller.client_id:
                return INACTIVE
            self._verifier.grant_of(claims, store)
        except InvalidToken:
            return INACTIVE
        cnf = claims.get("cnf")
        body = {"active": True, "token_type": token_type(cnf if isinstance(cnf, dict) else None)}
        body.update({k: claims[k] for k in _PUBLIC_CLAIMS if k in claims})
        return body

    def _refresh_token(self, caller: Client, token: str, store: TokenStore) -> dict[str, Any]:
        record = store.find_refresh_token(self._token_hash(token))
        now = int(self._clock())
        if (
            record is None
            or record.client_id != caller.client_id
            or record.grant.revoked
            or record.used
            or record.expires_at <= now
            or not store.person_may_sign_in(record.grant.person_id)
            or not store.client_usable(record.client_id)
        ):
            return INACTIVE
        return {
            "active": True,
            "token_type": "refresh_token",
            "client_id": record.client_id,
            "scope": " ".join(record.scopes),
            "sub": self._subject(caller, record.grant.person_id),
            "exp": record.expires_at,
        }
