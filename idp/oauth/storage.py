"""What the protocol code needs from storage, as narrow Protocols (Authlib's mixins, typed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import Protocol


@dataclass(frozen=True)
class GrantRecord:
    """One authorization; every code and token issued from it shares its fate."""

    id: str
    client_id: str
    person_id: str
    scopes: tuple[str, ...]
    sid: str | None
    auth_time: int
    acr: str
    amr: tuple[str, ...]
    revoked: bool


@dataclass(frozen=True)
class CodeRecord:
    grant: GrantRecord
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    #: RFC 9449 10: the DPoP key the code is bound to, if the request named one.
    dpop_jkt: str | None = None
    #: The cardholder could sign in (``TokenStore.person_may_sign_in``) when the code was
    #: consumed: read in the consuming statement itself, so the card is checked once.
    person_may_sign_in: bool = False


@dataclass(frozen=True)
class RefreshRecord:
    grant: GrantRecord
    client_id: str
    scopes: tuple[str, ...]
    expires_at: int
    used: bool
    #: RFC 9449 5: the DPoP key the refresh token is bound to, if it was issued with a proof.
    dpop_jkt: str | None = None
    #: ``TokenStore.person_may_sign_in`` for the grant's cardholder, read with the token.
    person_may_sign_in: bool = False


@dataclass(frozen=True)
class DelegationRecord:
    """An active family relationship (idp/family): the agent may act for the principal with
    these powers until ``expires_at``."""

    id: str
    agent_id: str
    principal_id: str
    relationship: str
    powers: tuple[str, ...]
    expires_at: int
    #: RFC 8693 4.4 ``may_act`` from the principal's consent: who may act, or None.
    may_act: Mapping[str, str] | None = None


class TokenStore(Protocol):
    def consume_code(self, code_hash: str, now: int) -> CodeRecord | None:
        """Mark an unexpired, unused code of a live grant consumed and return it with its grant
        and its cardholder's card status: one conditional ``UPDATE ... RETURNING``, whose row
        count decides single use."""
        ...

    def consumed_code_grant(self, code_hash: str) -> str | None:
        """The grant id of a code that exists and was already consumed, else None."""
        ...

    def revoke_grant(self, grant_id: str, reason: str, now: int) -> None: ...

    def find_grant(self, grant_id: str) -> GrantRecord | None: ...

    def save_refresh_token(
        self,
        token_hash: str,
        grant: GrantRecord,
        scopes: tuple[str, ...],
        now: int,
        expires_at: int,
        dpop_jkt: str | None = None,
    ) -> None: ...

    def find_refresh_token(self, token_hash: str) -> RefreshRecord | None: ...

    def rotate_refresh_token(
        self, token_hash: str, client_id: str, now: int
    ) -> RefreshRecord | None:
        """Retire an unused, unexpired refresh token of ``client_id`` and return it with its
        grant and card status: one conditional ``UPDATE ... RETURNING`` (RFC 9700 4.14.2).
        None: unknown, another client's, expired or already retired (``find_refresh_token``
        tells which)."""
        ...

    def person_may_sign_in(self, person_id: str) -> bool:
        """The cardholder has a card in ``normal`` status (a lapsed suspension counts)."""
        ...

    def client_usable(self, client_id: str) -> bool:
        """The channel is active now, and so is its first-tier parent (read, never cached)."""
        ...

    def delegations_of(self, agent_id: str) -> tuple[DelegationRecord, ...]:
        """The agent's active, unexpired family relationships, read now."""
        ...

    def delegation(self, relationship_id: str) -> DelegationRecord | None:
        """The relationship if it is active and unexpired now, else None (read, never cached:
        ending it stops its delegated tokens at once)."""
        ...

    def record_event(
        self, event: str, *, person_id: str, client_id: str, request_id: str, **detail: Any
    ) -> None:
        """An audit event in this transaction (``idp.events.audit``)."""
        ...
