"""The client credentials grant (RFC 6749 4.4) for channel and merchant servers.

The hot path: no database, one signature. The token's ``sub`` is the client itself.
"""

from __future__ import annotations

from typing import Any

from channels.client import Client
from channels.kinds import IDENTITY_SCOPES
from idp.errors import InvalidScope
from idp.oauth.grants.base import StatelessGrant
from idp.oauth.grants.base import check_client_may_use
from idp.oauth.params import scope_list
from idp.oauth.token_request import TokenRequest
from idp.oauth.tokens import Confirmation


class ClientCredentialsGrant(StatelessGrant):
    grant_type = "client_credentials"
    parameters = frozenset({"scope"})

    def issue(
        self, request: TokenRequest, client: Client, *, binding: Confirmation | None = None
    ) -> dict[str, Any]:
        check_client_may_use(client, self.grant_type)
        service_scopes = tuple(sorted(client.scopes - IDENTITY_SCOPES))
        requested = scope_list(request.form.get("scope"))
        if requested and not set(requested) <= set(service_scopes):
            raise InvalidScope("scope is not allowed for this client")
        scopes = requested or service_scopes
        token = self._services.access_tokens.issue(
            client,
            sub=client.client_id,
            scopes=scopes,
            ttl=self._services.client_credentials_ttl,
            cnf=binding,
        )
        body: dict[str, Any] = {
            "access_token": token.token,
            "token_type": token.token_type,
            "expires_in": token.expires_in,
        }
        if scopes:
            body["scope"] = " ".join(scopes)
        return body
