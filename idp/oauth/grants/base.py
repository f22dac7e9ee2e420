"""What every grant gets: the token issuers, the keyed hash, the clock and the lifetimes."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import Protocol

from channels.client import Client
from idp.errors import InvalidScope
from idp.errors import UnauthorizedClient
from idp.oauth.storage import GrantRecord
from idp.oauth.storage import TokenStore
from idp.oauth.tokens import AccessTokenIssuer
from idp.oauth.tokens import new_secret
from idp.oidc.id_token import IdTokenIssuer
from idp.oidc.pairwise import subject_for


@dataclass(frozen=True)
class TokenServices:
    access_tokens: AccessTokenIssuer
    id_tokens: IdTokenIssuer
    keyed_hash: Callable[[str, str], str]
    clock: Callable[[], float]
    access_token_ttl: int
    client_credentials_ttl: int
    refresh_token_ttl: int

    def now(self) -> int:
        return int(self.clock())

    def token_hash(self, value: str) -> str:
        return self.keyed_hash("token", value)

    def subject(self, client: Client, person_id: str) -> str:
        return subject_for(client, person_id, self.keyed_hash)


class TokenGrant(Protocol):
    grant_type: str
    #: False for grants that need no database (client_credentials): no transaction is opened.
    uses_storage: bool

    def issue(
        self, params: Mapping[str, str], client: Client, store: TokenStore | None
    ) -> dict[str, Any]: ...


def check_client_may_use(client: Client, grant_type: str) -> None:
    if not client.allows_grant(grant_type):
        raise UnauthorizedClient("the client may not use this grant_type")


def user_token_response(
    services: TokenServices,
    client: Client,
    store: TokenStore,
    grant: GrantRecord,
    scopes: tuple[str, ...],
    *,
    nonce: str | None,
    refresh_token: str | None,
) -> dict[str, Any]:
    """Access token (+ ID token, + refresh token) for a cardholder's grant (RFC 6749 5.1)."""
    sub = services.subject(client, grant.person_id)
    access = services.access_tokens.issue(
        client, sub=sub, scopes=scopes, ttl=services.access_token_ttl, grant=grant
    )
    body: dict[str, Any] = {
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": access.expires_in,
        "scope": " ".join(scopes),
    }
    if "openid" in scopes:
        body["id_token"] = services.id_tokens.issue(
            client, sub=sub, grant=grant, nonce=nonce, access_token=access.token
        )
    if refresh_token is None and client.allows_grant("refresh_token"):
        refresh_token = new_secret()
        now = services.now()
        store.save_refresh_token(
            services.token_hash(refresh_token), grant, scopes, now, now + services.refresh_token_ttl
        )
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    return body


def narrowed_scopes(requested: str | None, granted: tuple[str, ...]) -> tuple[str, ...]:
    """RFC 6749 6: a refresh may ask for fewer scopes, never more."""
    if requested is None:
        return granted
    wanted = tuple(dict.fromkeys(requested.split(" ")))
    if not set(wanted) <= set(granted):
        raise InvalidScope("scope exceeds what was granted")
    return wanted
