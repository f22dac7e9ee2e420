"""What every grant is and gets.

A grant declares the ``grant_type`` it handles and the form ``parameters`` it reads (as
node-oidc-provider's ``registerGrantType(name, handler, parameters)``); the token endpoint checks
those, with client authentication's, for duplicates and syntax, ignores every other parameter
(RFC 6749 3.1), and hands the grant a ``TokenRequest`` holding only its own. A grant that needs
the database is a ``StoredGrant`` and gets a ``TokenStore`` inside the request's transaction; a
``StatelessGrant`` (client_credentials) gets none and no transaction is opened. Both take the
``binding`` (RFC 7800 ``cnf``) the endpoint established for the request's key, if any.
"""

from __future__ import annotations

from abc import ABC
from abc import abstractmethod
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import ClassVar

from channels.client import Client
from idp.errors import InvalidGrant
from idp.errors import InvalidScope
from idp.errors import KeepsWrites
from idp.errors import UnauthorizedClient
from idp.oauth.storage import GrantRecord
from idp.oauth.storage import TokenStore
from idp.oauth.token_request import TokenRequest
from idp.oauth.tokens import AccessTokenIssuer
from idp.oauth.tokens import Confirmation
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


class GrantHandler(ABC):
    """One grant type at the token endpoint (node-oidc-provider's grant type handlers)."""

    grant_type: ClassVar[str]
    #: The form parameters the grant reads (``grant_type`` and client authentication's aside).
    parameters: ClassVar[frozenset[str]]

    def __init__(self, services: TokenServices) -> None:
        self._services = services


class StatelessGrant(GrantHandler):
    """A grant that needs no database: no transaction is opened (the hot path)."""

    @abstractmethod
    def issue(
        self, request: TokenRequest, client: Client, *, binding: Confirmation | None = None
    ) -> dict[str, Any]: ...


class StoredGrant(GrantHandler):
    """A grant that reads or writes storage, in the one transaction of its request."""

    @abstractmethod
    def issue(
        self,
        request: TokenRequest,
        client: Client,
        store: TokenStore,
        *,
        binding: Confirmation | None = None,
    ) -> dict[str, Any]: ...


TokenGrant = StatelessGrant | StoredGrant


class GrantRevoked(InvalidGrant, KeepsWrites):
    """A reused code or refresh token: its grant was revoked (RFC 9700 4.5, 4.14.2), and that
    revocation must be committed and audited although the request fails."""


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
    binding: Confirmation | None,
    extra_claims: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Access token (+ ID token, + refresh token) for a cardholder's grant (RFC 6749 5.1);
    ``binding`` and ``extra_claims`` go into the access token (``AccessTokenIssuer.issue``)."""
    sub = services.subject(client, grant.person_id)
    access = services.access_tokens.issue(
        client,
        sub=sub,
        scopes=scopes,
        ttl=services.access_token_ttl,
        grant=grant,
        cnf=binding,
        extra_claims=extra_claims,
    )
    body: dict[str, Any] = {
        "access_token": access.token,
        "token_type": access.token_type,
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
            services.token_hash(refresh_token),
            grant,
            scopes,
            now,
            now + services.refresh_token_ttl,
            dpop_jkt=binding.get("jkt") if binding is not None else None,
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
