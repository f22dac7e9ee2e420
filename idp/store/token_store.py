"""``TokenStore`` on SQLAlchemy. Single use is one conditional UPDATE and a row-count check;
the token endpoint's hot statements are Core, built once (``idp.store.token_statements``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row
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
from idp.store.people import SocialSecurityCard
from idp.store.people import usable_at
from idp.store.token_statements import CONSUME_CODE
from idp.store.token_statements import FIND_REFRESH_TOKEN
from idp.store.token_statements import ROTATE_REFRESH_TOKEN
from idp.store.token_statements import SAVE_REFRESH_TOKEN
from idp.store.token_statements import grant_of


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


def _refresh_record(row: Row[Any]) -> RefreshRecord:
    return RefreshRecord(
        grant=grant_of(row, row.grant_id),
        client_id=row.client_id,
        scopes=tuple(row.scopes),
        expires_at=row.expires_at,
        used=row.used_at is not None,
        dpop_jkt=row.dpop_jkt,
        person_may_sign_in=bool(row.person_may_sign_in),
    )


class SqlTokenStore:
    """``now`` is the request's time: a lapsed card suspension reads as normal from then on."""

    def __init__(self, session: Session, *, now: int) -> None:
        self._s = session
        self._now = now

    def consume_code(self, code_hash: str, now: int) -> CodeRecord | None:
        params = {"presented_code": code_hash, "now": now}
        row = self._s.execute(CONSUME_CODE, params).one_or_none()
        if row is None:
            return None
        grant = grant_of(row, row.grant_id)
        if grant.revoked:
            return None
        return CodeRecord(
            grant=grant,
            redirect_uri=row.redirect_uri,
            code_challenge=row.code_challenge,
            nonce=row.nonce,
            dpop_jkt=row.dpop_jkt,
            person_may_sign_in=bool(row.person_may_sign_in),
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
        self._s.execute(
            SAVE_REFRESH_TOKEN,
            {
                "token_hash": token_hash,
                "grant_id": grant.id,
                "client_id": grant.client_id,
                "scopes": list(scopes),
                "created_at": now,
                "expires_at": expires_at,
                "dpop_jkt": dpop_jkt,
            },
        )

    def find_refresh_token(self, token_hash: str) -> RefreshRecord | None:
        params = {"presented_token": token_hash, "now": self._now}
        row = self._s.execute(FIND_REFRESH_TOKEN, params).one_or_none()
        return None if row is None else _refresh_record(row)

    def rotate_refresh_token(
        self, token_hash: str, client_id: str, now: int
    ) -> RefreshRecord | None:
        params = {"presented_token": token_hash, "for_client": client_id, "now": now}
        row = self._s.execute(ROTATE_REFRESH_TOKEN, params).one_or_none()
        return None if row is None else _refresh_record(row)

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
