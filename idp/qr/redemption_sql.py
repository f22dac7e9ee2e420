"""The SQL of the hot paths of ``idp.qr`` (opening, spending), built once per process.

Each statement is SQLAlchemy Core on the tables (no ORM entity, no identity map, no flush) with
``bindparam`` placeholders, so a request only binds values: SQLAlchemy's compiled cache finds
the same statement object every time and nothing is rebuilt per request (docs/benchmarks.md,
"Third pass"). ``ON CONFLICT`` is dialect-specific syntax, so the spending statement exists
once per dialect; everything else is portable.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from typing import cast

from sqlalchemy import Insert
from sqlalchemy import Select
from sqlalchemy import Table
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from idp.store.ecards import ECard
from idp.store.payments import QrRedemption
from idp.store.people import Person
from idp.store.people import SocialSecurityCard
from idp.store.qr import QrCode


def table_of(model: type[Any]) -> Table:
    """A mapped class's ``Table``, for Core statements (the ORM types it as a ``FromClause``)."""
    return cast(Table, model.__table__)


codes = QrCode.__table__.c
ecards = ECard.__table__.c
cards = SocialSecurityCard.__table__.c
persons = Person.__table__.c
redemptions = QrRedemption.__table__.c

#: ``idp.store.people.status_at`` in SQL, at the bound ``now``: a temporary suspension whose
#: ``suspended_until`` has passed reads as ``normal``.
CARD_STATUS = case(
    (
        and_(
            cards.status == "suspended",
            cards.suspended_until.is_not(None),
            cards.suspended_until <= bindparam("now"),
        ),
        "normal",
    ),
    else_=cards.status,
).label("card_status")

_HOLDER = (
    ecards.sign_no,
    ecards.status.label("ecard_status"),
    ecards.level,
    ecards.client_id,
    ecards.person_id,
    ecards.card_id,
    cards.card_number,
    CARD_STATUS,
    persons.name,
)


def _holder_select(*extra: Any) -> Select[Any]:
    return select(*extra, *_HOLDER)


#: A code's row, its e-card, card and person in one query; the outer joins keep each
#: refusal's reason (no code, no e-card, no card). Binds ``code_id`` and ``now``.
HOLDER_BY_CODE = (
    _holder_select(codes.purpose, codes.actor_sign_no, codes.family_relationship_id)
    .select_from(QrCode.__table__)
    .outerjoin(ECard.__table__, ecards.sign_no == codes.sign_no)
    .outerjoin(SocialSecurityCard.__table__, cards.id == ecards.card_id)
    .outerjoin(Person.__table__, persons.id == ecards.person_id)
    .where(codes.code_id == bindparam("code_id"))
)

#: The same facts for an e-card. Binds ``sign_no`` and ``now``.
HOLDER_BY_SIGN_NO = (
    _holder_select()
    .select_from(ECard.__table__)
    .outerjoin(SocialSecurityCard.__table__, cards.id == ecards.card_id)
    .outerjoin(Person.__table__, persons.id == ecards.person_id)
    .where(ecards.sign_no == bindparam("sign_no"))
)

#: When a code was first redeemed (the replay refusal names it). Binds ``code_id``.
FIRST_REDEEMED = select(redemptions.redeemed_at).where(redemptions.code_id == bindparam("code_id"))

#: A card's status now, for issuing. Binds ``card_id`` and ``now``.
CARD_STATUS_OF = select(CARD_STATUS).where(cards.id == bindparam("card_id"))

#: The ``qr_codes`` rows of a batch: executed with one parameter set per code.
INSERT_CODES = table_of(QrCode).insert()


@cache
def spend_statement(dialect: str) -> Insert:
    """``INSERT INTO qr_redemptions ... ON CONFLICT (code_id) DO NOTHING RETURNING reference``.

    Binds the row's columns. On PostgreSQL a concurrent insert of the same code id waits for
    the other transaction and then does nothing if it committed; SQLite has one writer. Either
    way exactly one transaction gets the row back.
    """
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    columns = ("code_id", "purpose", "client_id", "sign_no", "reference", "redeemed_at")
    return (
        insert(table_of(QrRedemption))
        .values({name: bindparam(name) for name in columns})
        .on_conflict_do_nothing(index_elements=["code_id"])
        .returning(redemptions.reference)
    )
