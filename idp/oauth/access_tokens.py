"""Checking this server's own JWT access tokens: signature, ``typ`` (RFC 9068 4), issuer,
audience, expiry, the revocation deny-list, and the grant they came from."""

from __future__ import annotations

from typing import Any
from typing import Protocol

from idp.errors import InvalidToken
from idp.oauth.storage import DelegationRecord
from idp.oauth.storage import GrantRecord
from idp.oauth.storage import TokenStore
from idp.oauth.tokens import AT_JWT_TYPE


class DenyList(Protocol):
    def add_once(self, key: str, expires_at: int) -> bool: ...

    def contains(self, key: str) -> bool: ...


class VerifyJwt(Protocol):
    def __call__(
        self, token: str, *, typ: str | None, audience: str | None, issuer: str | None, leeway: int
    ) -> dict[str, Any]: ...


class AccessTokenVerifier:
    def __init__(
        self,
        verify: VerifyJwt,
        deny_list: DenyList,
        *,
        issuer: str,
        audience: str,
        leeway: int,
        invalid_signature: type[Exception],
    ) -> None:
        self._verify = verify
        self._deny = deny_list
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._invalid = invalid_signature

    def claims(self, token: str) -> dict[str, Any]:
        """Verified claims, or ``InvalidToken`` (one public reason, the cause in ``detail``)."""
        try:
            claims = self._verify(
                token,
                typ=AT_JWT_TYPE,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
            )
        except self._invalid as exc:
            raise InvalidToken("the access token is invalid", detail=str(exc)) from None
        if self._deny.contains(str(claims.get("jti", ""))):
            raise InvalidToken("the access token is invalid", detail="revoked")
        return claims

    def grant_of(self, claims: dict[str, Any], store: TokenStore) -> GrantRecord | None:
        """The live grant behind a cardholder token; ``InvalidToken`` if it was revoked or its
        channel is no longer usable (suspended, deleted, or a second tier whose parent is).
        A delegated token is checked against its relationship and has no grant (None)."""
        if not store.client_usable(str(claims.get("client_id", ""))):
            raise InvalidToken("the access token is invalid", detail="channel not active")
        if "fid" in claims:
            self.delegation_of(claims, store)
            return None
        gid = claims.get("gid")
        if gid is None:
            return None
        grant = store.find_grant(str(gid))
        if grant is None or grant.revoked or not store.person_may_sign_in(grant.person_id):
            raise InvalidToken("the access token is invalid", detail="grant revoked")
        return grant

    def delegation_of(self, claims: dict[str, Any], store: TokenStore) -> DelegationRecord:
        """The live family relationship behind a delegated token (RFC 8693 ``act``, issued by
        ``idp.oauth.grants.token_exchange``); ``InvalidToken`` once it has ended or expired,
        either person's card is unusable, or the agent's own grant (``agid``) was revoked. A
        delegated token has no ``gid``: it is no grant of the principal's, so an endpoint that
        wants a cardholder's own grant refuses it."""
        if not store.client_usable(str(claims.get("client_id", ""))):
            raise InvalidToken("the access token is invalid", detail="channel not active")
        agent_grant = store.find_grant(str(claims.get("agid", "")))
        if agent_grant is None or agent_grant.revoked:
            raise InvalidToken("the access token is invalid", detail="agent's grant revoked")
        found = store.delegation(str(claims.get("fid", "")))
        if (
            found is None
            or not store.person_may_sign_in(found.principal_id)
            or not store.person_may_sign_in(found.agent_id)
        ):
            raise InvalidToken("the access token is invalid", detail="relationship ended")
        return found

    def revoke(self, claims: dict[str, Any]) -> None:
        self._deny.add_once(str(claims["jti"]), int(claims["exp"]) + self._leeway)


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2
