"""The token endpoint's hot statements, as SQLAlchemy Core built once at import.

Each is one round trip: consuming a code or retiring a refresh token is a conditional
``UPDATE ... RETURNING`` (the row count decides single use, as Hydra does) that also returns
the grant and whether its cardholder's card is usable now, so neither the grant nor the card
needs a second statement. The grant's columns come from correlated scalar subqueries rather
than ``UPDATE ... FROM``: SQLite's ``RETURNING`` may not name a ``FROM`` table, and one
statement then serves both databases. Built once with bound parameters, they are compiled
once per dialect and then found in SQLAlchemy's compiled cache.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy import ColumnElement
from sqlalchemy import Row
from sqlalchemy import ScalarSelect
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import exists
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from idp.oauth.storage import GrantRecord
from idp.store.base import Base
from idp.store.grants import AuthorizationCode
from idp.store.grants import Grant
from idp.store.grants import RefreshToken
from idp.store.people import SocialSecurityCard

_NOW = bindparam("now", type_=BigInteger)
_GRANT_COLUMNS = ("client_id", "person_id", "scopes", "sid", "auth_time", "acr", "amr")
# Tables, not mapped classes: ORM-annotated columns make every execution's cache key (and an
# ORM UPDATE's session synchronisation) cost several times more, measured in bench.statements.
_codes = Base.metadata.tables[AuthorizationCode.__tablename__]
_grants = Base.metadata.tables[Grant.__tablename__]
_tokens = Base.metadata.tables[RefreshToken.__tablename__]
_cards = Base.metadata.tables[SocialSecurityCard.__tablename__]


def _grant_columns(grant_id: ColumnElement[str]) -> list[Any]:
    """The grant row of ``grant_id`` as labelled scalar subqueries, its card status last."""

    def of(name: str) -> ScalarSelect[Any]:
        query = select(_grants.c[name]).where(_grants.c.id == grant_id)
        return query.correlate_except(_grants).scalar_subquery()

    # Nested rather than joined: SQLAlchemy writes SQLite's UPDATE without table names, and
    # a join of grants and cards would make ``person_id`` ambiguous there.
    card_usable = (
        exists()
        .where(_cards.c.person_id == of("person_id"), _usable(_NOW))
        .correlate_except(_cards)
    )
    return [
        *(of(name).label(f"grant_{name}") for name in _GRANT_COLUMNS),
        of("revoked_at").label("grant_revoked_at"),
        card_usable.label("person_may_sign_in"),
    ]


def _usable(now: ColumnElement[int]) -> ColumnElement[bool]:
    """``idp.store.people.usable_at`` on the table's columns."""
    status = _cards.c.status
    return or_(status == "normal", and_(status == "suspended", _cards.c.suspended_until <= now))


def grant_of(row: Row[Any], grant_id: str) -> GrantRecord:
    m = row._mapping
    return GrantRecord(
        id=grant_id,
        client_id=m["grant_client_id"],
        person_id=m["grant_person_id"],
        scopes=tuple(m["grant_scopes"]),
        sid=m["grant_sid"],
        auth_time=m["grant_auth_time"],
        acr=m["grant_acr"],
        amr=tuple(m["grant_amr"]),
        revoked=m["grant_revoked_at"] is not None,
    )


_CODE_COLUMNS = ("grant_id", "redirect_uri", "code_challenge", "nonce", "dpop_jkt")
_TOKEN_COLUMNS = ("grant_id", "client_id", "scopes", "expires_at", "used_at", "dpop_jkt")

#: RFC 6749 4.1.2: a code is used once. Parameters: ``presented_code`` (its hash), ``now``.
CONSUME_CODE = (
    update(_codes)
    .where(
        _codes.c.code_hash == bindparam("presented_code"),
        _codes.c.consumed_at.is_(None),
        _codes.c.expires_at > _NOW,
    )
    .values(consumed_at=_NOW)
    .returning(*(_codes.c[n] for n in _CODE_COLUMNS), *_grant_columns(_codes.c.grant_id))
)

#: RFC 9700 4.14.2: a rotated refresh token is retired once. Parameters: ``presented_token``
#: (its hash), ``for_client``, ``now``.
ROTATE_REFRESH_TOKEN = (
    update(_tokens)
    .where(
        _tokens.c.token_hash == bindparam("presented_token"),
        _tokens.c.client_id == bindparam("for_client"),
        _tokens.c.used_at.is_(None),
        _tokens.c.expires_at > _NOW,
    )
    .values(used_at=_NOW)
    .returning(*(_tokens.c[n] for n in _TOKEN_COLUMNS), *_grant_columns(_tokens.c.grant_id))
)

#: A refresh token with its grant and card status, retired or not. Parameters:
#: ``presented_token`` (its hash), ``now``.
FIND_REFRESH_TOKEN = select(
    *(_tokens.c[n] for n in _TOKEN_COLUMNS), *_grant_columns(_tokens.c.grant_id)
).where(_tokens.c.token_hash == bindparam("presented_token"))

#: A new refresh token (Core: no unit-of-work flush for one row).
SAVE_REFRESH_TOKEN = insert(_tokens)
