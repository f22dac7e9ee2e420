"""Token endpoint grants (RFC 6749 4, 6): small classes that each declare the grant they handle
and the parameters they read."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping

from idp.errors import InvalidRequest
from idp.errors import UnsupportedGrantType
from idp.oauth.grants.base import GrantRevoked
from idp.oauth.grants.base import StatelessGrant
from idp.oauth.grants.base import StoredGrant
from idp.oauth.grants.base import TokenGrant
from idp.oauth.grants.base import TokenServices


class GrantRegistry:
    def __init__(self, grants: Iterable[TokenGrant]) -> None:
        self._grants = {g.grant_type: g for g in grants}
        #: What the token endpoint reads besides client authentication: every grant's own.
        self.parameters = frozenset({"grant_type"}).union(
            *(g.parameters for g in self._grants.values())
        )

    def for_request(self, params: Mapping[str, str]) -> TokenGrant:
        grant_type = params.get("grant_type")
        if grant_type is None:
            raise InvalidRequest("missing grant_type")
        grant = self._grants.get(grant_type)
        if grant is None:
            raise UnsupportedGrantType("grant_type is not supported")
        return grant

    @property
    def grant_types(self) -> list[str]:
        return list(self._grants)


__all__ = [
    "GrantRegistry",
    "GrantRevoked",
    "StatelessGrant",
    "StoredGrant",
    "TokenGrant",
    "TokenServices",
]
