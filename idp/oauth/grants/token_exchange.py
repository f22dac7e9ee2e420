"""OAuth 2.0 Token Exchange (RFC 8693) for the family proxy (docs/family.md).

The agent's channel sends the agent's own access token as ``subject_token`` and names the
principal by ``principal``: the principal's pairwise ``sub`` at that channel, as the family API
lists it. The answer is an access token whose ``sub`` is the principal and whose ``act`` is the
agent (RFC 8693 4.1), scoped to the powers the principal consented to (``essc.family.<power>``)
and carrying the relationship (``fid``) and the agent's own grant (``agid``): every endpoint
that accepts it reads both in its own transaction, so ending the relationship (or revoking the
agent's grant) stops the token at once (``AccessTokenVerifier``).

``may_act`` (RFC 8693 4.4) is honoured from both places it can stand: the subject token's claim
and the principal's consent (the relationship's record). Either one, when present, must name
the actor of this exchange (the agent's ``sub`` at this channel, the channel's ``client_id``,
this issuer as ``iss``), or the exchange is refused (``invalid_request``); a member this server
cannot check refuses too (fail closed).

Refused: a channel not allowed this grant (``unauthorized_client``); a subject token that is not
this channel's, not a cardholder's own, or already delegated (no chaining, RFC 8693 4.1 nested
``act``) (``invalid_request``, RFC 8693 2.2.2); a principal with no active relationship
(``invalid_request``); scopes beyond the consented powers (``invalid_scope``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from channels.client import TOKEN_EXCHANGE
from channels.client import Client
from idp.errors import InvalidRequest
from idp.errors import InvalidScope
from idp.errors import InvalidToken
from idp.oauth.access_tokens import AccessTokenVerifier
from idp.oauth.grants.base import StoredGrant
from idp.oauth.grants.base import TokenServices
from idp.oauth.grants.base import check_client_may_use
from idp.oauth.params import require
from idp.oauth.params import scope_list
from idp.oauth.storage import DelegationRecord
from idp.oauth.storage import GrantRecord
from idp.oauth.storage import TokenStore
from idp.oauth.token_request import TokenRequest
from idp.oauth.tokens import Confirmation

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105
SCOPE_PREFIX = "essc.family."


def power_scope(power: str) -> str:
    return SCOPE_PREFIX + power


class TokenExchangeGrant(StoredGrant):
    grant_type = TOKEN_EXCHANGE
    parameters = frozenset(
        {"subject_token", "subject_token_type", "requested_token_type", "scope", "principal"}
        | {"actor_token", "actor_token_type", "resource", "audience"}
    )

    def __init__(self, services: TokenServices, verifier: AccessTokenVerifier) -> None:
        super().__init__(services)
        self._verifier = verifier

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
        _check_types(params)
        agent, claims = self._agent_grant(require(params, "subject_token"), client, store)
        found = self._relationship(client, agent, require(params, "principal"), store)
        scopes = _granted(params.get("scope"), found.powers)
        subject = self._services.subject
        agent_sub, principal_sub = (
            subject(client, agent.person_id),
            subject(client, found.principal_id),
        )
        actor = {"sub": agent_sub, "client_id": client.client_id, "iss": str(claims["iss"])}
        check_may_act(claims.get("may_act", None), actor, "the subject_token")
        check_may_act(found.may_act, actor, "the principal's consent")
        token = self._services.access_tokens.issue(
            client,
            sub=principal_sub,
            scopes=scopes,
            ttl=min(self._services.access_token_ttl, found.expires_at - self._services.now()),
            cnf=binding,
            # ``agid``: the agent's own grant, so revoking it (logout, reuse) stops this too.
            extra_claims={"act": {"sub": agent_sub}, "fid": found.id, "agid": agent.id},
        )
        store.record_event(
            "family.token_exchanged",
            person_id=found.principal_id,
            client_id=client.client_id,
            request_id=request.request_id,
            agent=agent.person_id,
            relationship_id=found.id,
            relationship=found.relationship,
            powers=[s.removeprefix(SCOPE_PREFIX) for s in scopes],
        )
        return {
            "access_token": token.token,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": token.token_type,
            "expires_in": token.expires_in,
            "scope": " ".join(scopes),
        }

    def _agent_grant(
        self, subject_token: str, client: Client, store: TokenStore
    ) -> tuple[GrantRecord, dict[str, Any]]:
        try:
            claims = self._verifier.claims(subject_token)
            if "act" in claims or "fid" in claims:
                raise InvalidRequest("a delegated token cannot be exchanged again")
            if claims.get("client_id") != client.client_id:
                raise InvalidRequest("the subject_token was issued to another client")
            grant = self._verifier.grant_of(claims, store)
        except InvalidToken as exc:
            raise InvalidRequest("the subject_token is invalid", detail=exc.detail) from None
        if grant is None:
            raise InvalidRequest("the subject_token is not a cardholder's token")
        return grant, claims

    def _relationship(
        self, client: Client, agent: GrantRecord, principal: str, store: TokenStore
    ) -> DelegationRecord:
        for candidate in store.delegations_of(agent.person_id):
            ours = self._services.subject(client, candidate.principal_id) == principal
            if ours and store.person_may_sign_in(candidate.principal_id):
                return candidate
        raise InvalidRequest("no active relationship with this principal")


def _check_types(params: Mapping[str, str]) -> None:
    if require(params, "subject_token_type") != ACCESS_TOKEN_TYPE:
        raise InvalidRequest("subject_token_type must be an access token")
    wanted = params.get("requested_token_type")
    if wanted is not None and wanted != ACCESS_TOKEN_TYPE:
        raise InvalidRequest("only access tokens are issued")
    if "actor_token" in params or "actor_token_type" in params:
        # The agent is the subject_token's holder; a separate actor token would be a chain.
        raise InvalidRequest("actor_token is not supported")
    if "resource" in params or "audience" in params:
        raise InvalidRequest("resource and audience are not supported")


#: The ``may_act`` members this server can compare with the actor (RFC 8693 4.4 uses JWT claims).
MAY_ACT_MEMBERS = frozenset({"sub", "client_id", "iss"})


def check_may_act(may_act: object, actor: Mapping[str, str], where: str) -> None:
    """RFC 8693 4.4: when ``may_act`` is present, the actor must be the party it names. Every
    member must equal the actor's; a malformed or empty one, or a member this server cannot
    compare, refuses the exchange rather than being ignored."""
    if may_act is None:
        return
    if not isinstance(may_act, Mapping) or not may_act:
        raise InvalidRequest(f"{where} has a malformed may_act")
    if set(may_act) - MAY_ACT_MEMBERS:
        raise InvalidRequest(f"{where} has a may_act this server cannot check")
    if any(actor.get(name) != value for name, value in may_act.items()):
        raise InvalidRequest(f"{where} does not let this actor act (may_act)")


def _granted(requested: str | None, powers: tuple[str, ...]) -> tuple[str, ...]:
    """RFC 8693 2.1 ``scope``: at most the consented powers, all of them when not asked."""
    allowed = tuple(power_scope(p) for p in powers)
    wanted = scope_list(requested)
    if not wanted:
        return allowed
    if not set(wanted) <= set(allowed):
        raise InvalidScope("scope exceeds the powers the principal granted")
    return wanted
