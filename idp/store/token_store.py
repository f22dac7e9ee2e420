"""``TokenStore`` on SQLAlchemy. Single use is one conditional UPDATE and a row-count check."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from idp.oauth.storage import CodeRecord
from idp.oauth.storage import DelegationRecord
from idp.oauth.storage import GrantRecord
from idp.oauth.storage import RefreshRecord
from idp.store.audit_chain import queue_record
from idp.store.channels import client_usable
from idp.store.family import FamilyRelationship
from idp.store.family import SqlFamilyRepository
from idp.store.grants import AuthorizationCode
from idp.store.grants import Grant
from idp.store.grants import RefreshToken
from idp.store.people import SocialSecurityCard
from idp.store.people import usable_at


def delegation_record(row: FamilyRelationship) -> DelegationRecord:
    return DelegationRecord(
        id=row.id,
        agent_id=row.agent_id,
        principal_id=row.principal_id,
        relationship=row.relationship,
        powers=tuple(row.powers),
        expires_at=row.expires_at,
        may_act=row.may_act,
    )


def grant_record(row: Grant) -> GrantRecord:
    return GrantRecord(
        id=row.id,
        client_id=row.client_id,
        person_id=row.person_id,
        scopes=tuple(row.scopes),
        sid=row.sid,
        auth_time=row.auth_time,
        acr=row.acr,
        amr=tuple(row.amr),
        revoked=row.revoked_at is not None,
    )


class SqlTokenStore:
    """``now`` is the request's time: a lapsed card suspension reads as normal from then on."""

    def __init__(self, session: Session, *, now: int) -> None:
        self._s = session
        self._now = now

    def consume_code(self, code_hash: str, now: int) -> CodeRecord | None:
        result = self._s.execute(
            update(AuthorizationCode)
            .where(
                AuthorizationCode.code_hash == code_hash,
                AuthorizationCode.consumed_at.is_(None),
                AuthorizationCode.expires_at > now,
            )
            .values(consumed_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return None
        row = self._s.execute(
            select(AuthorizationCode, Grant)
            .join(Grant, Grant.id == AuthorizationCode.grant_id)
            .where(AuthorizationCode.code_hash == code_hash)
        ).one()
        code, grant = row
        if grant.revoked_at is not None:
            return None
        return CodeRecord(
            grant=grant_record(grant),
            redirect_uri=code.redirect_uri,
            code_challenge=code.code_challenge,
            nonce=code.nonce,
            dpop_jkt=code.dpop_jkt,
        )

    def consumed_code_grant(self, code_hash: str) -> str | None:
        return self._s.scalar(
            select(AuthorizationCode.grant_id).where(
                AuthorizationCode.code_hash == code_hash, AuthorizationCode.consumed_at.is_not(None)
            )
        )

    def revoke_grant(self, grant_id: str, reason: str, now: int) -> None:
        self._s.execute(
            update(Grant)
            .where(Grant.id == grant_id, Grant.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )

    def find_grant(self, grant_id: str) -> GrantRecord | None:
        row = self._s.get(Grant, grant_id)
        return grant_record(row) if row else None

    def save_refresh_token(
        self,
        token_hash: str,
        grant: GrantRecord,
        scopes: tuple[str, ...],
        now: int,
        expires_at: int,
        dpop_jkt: str | None = None,
    ) -> None:
        self._s.add(
            RefreshToken(
                token_hash=token_hash,
                grant_id=grant.id,
                client_id=grant.client_id,
                scopes=list(scopes),
                created_at=now,
                expires_at=expires_at,
                dpop_jkt=dpop_jkt,
            )
        )

    def find_refresh_token(self, token_hash: str) -> RefreshRecord | None:
        row = self._s.execute(
            select(RefreshToken, Grant)
            .join(Grant, Grant.id == RefreshToken.grant_id)
            .where(RefreshToken.token_hash == token_hash)
        ).one_or_none()
        if row is None:
            return None
        token, grant = row
        return RefreshRecord(
            grant=grant_record(grant),
            client_id=token.client_id,
            scopes=tuple(token.scopes),
            expires_at=token.expires_at,
            used=token.used_at is not None,
            dpop_jkt=token.dpop_jkt,
        )

    def use_refresh_token(self, token_hash: str, now: int) -> bool:
        result = self._s.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == token_hash, RefreshToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return getattr(result, "rowcount", 0) == 1

    def person_may_sign_in(self, person_id: str) -> bool:
        return bool(
            self._s.scalar(
                select(
                    exists().where(SocialSecurityCard.person_id == person_id, usable_at(self._now))
                )
            )
        )

    def client_usable(self, client_id: str) -> bool:
        return client_usable(self._s, client_id)

    def delegations_of(self, agent_id: str) -> tuple[DelegationRecord, ...]:
        rows = SqlFamilyRepository(self._s).active_as_agent(agent_id, self._now)
        return tuple(delegation_record(r) for r in rows)

    def delegation(self, relationship_id: str) -> DelegationRecord | None:
        row = SqlFamilyRepository(self._s).active_for(relationship_id, self._now)
        return None if row is None else delegation_record(row)

    def record_event(
        self, event: str, *, person_id: str, client_id: str, request_id: str, **detail: Any
    ) -> None:
        # As idp.events.audit.record_event does (idp.store may not import idp.events).
        record = dict(
            at=self._now,
            event=event,
            actor=None,
            person_id=person_id,
            client_id=client_id,
            request_id=request_id,
            detail=detail,
        )
        queue_record(self._s, record)
