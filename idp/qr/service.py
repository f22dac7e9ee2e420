"""Issuing and opening QR codes on the platform (``provider.qr``), inside the caller's transaction.

``issue`` signs a short batch of codes for an e-card and remembers each code's random ref (the
``qr_codes`` row), so the code reveals nothing and only the platform can say whose it is.
``open`` is what online redemption starts from: the verified token, its code id (the unique key
of single use) and the e-card behind it, refused when the e-card or its card has stopped.
``status_list_jwt`` is the signed list offline verifiers fetch. No Flask here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.errors import Problem
from idp.events.audit import record_event
from idp.qr import redemption_sql as sql
from idp.qr.paths import STATUS_LIST_PATH
from idp.qr.redemption import Holder
from idp.qr.redemption import holder_of
from idp.qr.requests import MAX_BATCH
from idp.qr.status_list import status_list_claims
from idp.qr.token import REF_LEN
from idp.qr.token import Purpose
from idp.qr.token import QrToken
from idp.qr.token import QrTokenError
from idp.qr.token import encode
from idp.qr.token import short_kid
from idp.qr.token import status_index
from idp.qr.verifier import STATUS_LIST_TYP
from idp.qr.verifier import OfflineVerifier
from idp.qr.verifier import QrKeySet
from idp.store.ecards import ECard
from idp.store.family import FamilyRelationship
from idp.store.family import SqlFamilyRepository
from idp.store.people import SocialSecurityCard
from idp.store.people import usable_at
from idp.store.qr import QrCode
from keys.qr import QrKeys

#: How long a code is valid, per purpose (issue 9: 60 s by default).
LIFETIMES = {purpose: 60 for purpose in Purpose}
#: Payment needs a level-2 e-card (a linked, activated bank account).
PAYMENT_LEVEL = 2
#: Verifiers fetch the list again after ``ttl``; a list is refused a day after it was made.
STATUS_LIST_LIFETIME = 86_400
#: Rows are kept this long past their code's expiry (then ``essc qr purge`` deletes them).
KEEP_EXPIRED = 3600


@dataclass(frozen=True)
class IssuedCode:
    text: str
    token: QrToken

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.text,
            "code_id": self.token.code_id,
            "purpose": self.token.purpose.value,
            "valid_from": self.token.issued_at,
            "expires_at": self.token.expires_at,
        }


@dataclass(frozen=True)
class OpenedCode:
    """A verified code and what it stands for. ``code_id`` is unique per code: redemption makes
    it single-use with a unique constraint on it."""

    token: QrToken
    code_id: str
    level: int
    actor_sign_no: str | None
    #: The e-card, card and person behind the code, read with it and checked usable now.
    holder: Holder

    @property
    def sign_no(self) -> str:
        return self.holder.sign_no

    @property
    def client_id(self) -> str:
        return self.holder.client_id

    @property
    def person_id(self) -> str:
        return self.holder.person_id

    @property
    def card_id(self) -> str:
        return self.holder.card_id


class _KeysOfRing:
    """The ring's published QR keys as a verifier key set, rebuilt when the JWKS changes."""

    def __init__(self, keys: QrKeys) -> None:
        self._keys = keys
        self._seen: tuple[str, ...] = ()
        self._set = QrKeySet([])

    def key_set(self, *, force: bool = False) -> QrKeySet:
        jwks = self._keys.jwks()
        kids = tuple(k["kid"] for k in jwks["keys"])
        if kids != self._seen:
            self._set, self._seen = QrKeySet.from_jwks(jwks), kids
        return self._set


class QrCodes:
    def __init__(
        self,
        keys: QrKeys | None,
        *,
        issuer: str,
        clock: Callable[[], float],
        skew: int,
        lifetimes: dict[Purpose, int] | None = None,
        status_list_ttl: int = 60,
    ) -> None:
        if keys is None:
            raise LookupError("the key ring has no QR keys")
        self.keys = keys
        self.issuer = issuer
        self._clock = clock
        self._skew = skew
        self._lifetimes = {**LIFETIMES, **(lifetimes or {})}
        self.verifier = OfflineVerifier(_KeysOfRing(keys), clock=clock, skew=skew)
        self._list_lock = threading.Lock()
        self._list: tuple[int, str] | None = None
        self.status_list_ttl = status_list_ttl
        self._keys_checked = False

    def ensure_keys(self) -> QrKeys:
        """The QR keys, the first one made now if the instance has none (two processes racing
        make two keys: both are published and the older signs until the newer is ready)."""
        if self._keys_checked:
            return self.keys
        if self.keys.signer() is None:
            self.keys.ensure()
        self._keys_checked = True
        return self.keys

    def jwks(self) -> dict[str, Any]:
        return self.ensure_keys().jwks()

    @property
    def status_list_uri(self) -> str:
        return self.issuer + STATUS_LIST_PATH

    # -- issuing -------------------------------------------------------------------------------
    def issue(self, session: Session, ecard: ECard, purpose: Purpose, count: int = 1) -> list[str]:
        return [c.text for c in self.issue_batch(session, ecard, purpose, count)]

    def issue_batch(
        self,
        session: Session,
        ecard: ECard,
        purpose: Purpose,
        count: int = 1,
        *,
        client_id: str | None = None,
        request_id: str | None = None,
        actor_sign_no: str | None = None,
        relationship_id: str | None = None,
    ) -> list[IssuedCode]:
        """``count`` codes valid one after the other, the first from now; one audit event for
        the batch (code ids, purpose, e-card; never the person's data, as for redemption)."""
        if not 1 <= count <= MAX_BATCH:
            raise Problem(400, "invalid-request", f"count must be 1 to {MAX_BATCH}")
        now = int(self._clock())
        self._check_issuable(session, ecard, purpose, now)
        signer = self.ensure_keys().signer()
        if signer is None:
            raise Problem(503, "qr-keys-missing", "No QR signing key could be made")
        lifetime = self._lifetimes[purpose]
        issued = []
        for i in range(count):
            start = now + i * lifetime
            token = QrToken(
                purpose=purpose,
                kid=short_kid(signer.kid),
                issued_at=start,
                expires_at=start + lifetime,
                ecard_ref=os.urandom(REF_LEN),
                # docs/qr-token.md 3: a relative's code says so (a random handle, as ecard_ref).
                actor=os.urandom(REF_LEN) if relationship_id is not None else None,
            )
            issued.append(IssuedCode(encode(token, signer.sign), token))
        rows = [
            {
                "code_id": c.token.code_id,
                "sign_no": ecard.sign_no,
                "purpose": purpose.value,
                "client_id": client_id or ecard.client_id,
                "actor_sign_no": actor_sign_no,
                "family_relationship_id": relationship_id,
                "issued_at": c.token.issued_at,
                "expires_at": c.token.expires_at,
                "created_at": now,
            }
            for c in issued
        ]
        session.execute(sql.INSERT_CODES, rows)  # Core, one statement for the batch
        record_event(
            session,
            "qr.issued",
            at=now,
            actor=client_id or ecard.client_id,
            person_id=ecard.person_id,
            client_id=client_id or ecard.client_id,
            request_id=request_id,
            code_ids=[c.token.code_id for c in issued],
            purpose=purpose.value,
            sign_no=ecard.sign_no,
        )
        return issued

    def _check_issuable(self, session: Session, ecard: ECard, purpose: Purpose, now: int) -> None:
        if ecard.status != "active":
            raise Problem(409, "ecard-not-active", f"The e-card is {ecard.status}")
        found = session.execute(sql.CARD_STATUS_OF, {"card_id": ecard.card_id, "now": now})
        status = found.scalar() or "missing"
        if status != "normal":
            raise Problem(409, "card-not-usable", f"The card is {status}; it gets no codes")
        if purpose is Purpose.PAYMENT and ecard.level < PAYMENT_LEVEL:
            raise Problem(
                403, "level-too-low", "Payment codes need a level 2 e-card (a linked bank account)"
            )

    # -- opening -------------------------------------------------------------------------------
    def open(self, session: Session, text: str, purpose: Purpose | str) -> OpenedCode:
        """Verify the code now and resolve it; ``QrTokenError`` says why not."""
        token = self.verifier.verify(text, purpose)
        now = int(self._clock())
        row = session.execute(sql.HOLDER_BY_CODE, {"code_id": token.code_id, "now": now}).first()
        if row is None or row.purpose != token.purpose.value:
            raise QrTokenError("revoked", "the platform holds no such code")
        if row.ecard_status != "active":
            raise QrTokenError("revoked", "the e-card is no longer active")
        if row.card_number is None or row.card_status != "normal" or row.name is None:
            raise QrTokenError("revoked", "the card is suspended or cancelled")
        if token.purpose is Purpose.PAYMENT and row.level < PAYMENT_LEVEL:
            raise QrTokenError("level_too_low", "payment needs a level 2 e-card")
        if row.family_relationship_id is not None and not self._relationship_live(
            session, row.family_relationship_id
        ):
            raise QrTokenError("revoked", "the relative's family relationship has ended")
        return OpenedCode(
            token=token,
            code_id=token.code_id,
            level=row.level,
            actor_sign_no=row.actor_sign_no,
            holder=holder_of(row),
        )

    def _relationship_live(self, session: Session, relationship_id: str) -> bool:
        now = int(self._clock())
        return SqlFamilyRepository(session).active_for(relationship_id, now) is not None

    # -- the status list -----------------------------------------------------------------------
    def revoked_indices(self, session: Session, now: int) -> list[int]:
        """The status indices of codes still valid whose e-card or card has stopped, or whose
        relative's family relationship has ended or expired."""
        family = FamilyRelationship
        relationship_over = and_(
            QrCode.family_relationship_id.is_not(None),
            or_(family.id.is_(None), family.state != "active", family.expires_at <= now),
        )
        rows = session.scalars(
            select(QrCode.code_id)
            .join(ECard, ECard.sign_no == QrCode.sign_no)
            .join(SocialSecurityCard, SocialSecurityCard.id == ECard.card_id)
            .outerjoin(family, family.id == QrCode.family_relationship_id)
            .where(QrCode.expires_at + self._skew > now)
            .where(or_(ECard.status != "active", ~usable_at(now), relationship_over))
        )
        return [status_index(bytes.fromhex(code_id)) for code_id in rows]

    def status_list_jwt(self, session: Session) -> str:
        """The signed list, rebuilt at most once per ``status_list_ttl`` in this process."""
        now = int(self._clock())
        with self._list_lock:
            if self._list is not None and now < self._list[0] + self.status_list_ttl:
                return self._list[1]
            claims = status_list_claims(
                self.revoked_indices(session, now),
                subject=self.status_list_uri,
                now=now,
                ttl=self.status_list_ttl,
                lifetime=STATUS_LIST_LIFETIME,
            )
            try:
                token = self.ensure_keys().sign_jwt(claims, typ=STATUS_LIST_TYP)
            except LookupError:
                raise Problem(503, "qr-keys-missing", "No QR signing key could be made") from None
            self._list = (now, token)
            return token

    def forget_status_list(self) -> None:
        """Build the next list afresh (tests, and ``essc qr status-list``)."""
        with self._list_lock:
            self._list = None

    def purge(self, session: Session, now: int) -> int:
        """Delete rows of codes expired more than ``KEEP_EXPIRED`` ago; how many."""
        result = session.execute(delete(QrCode).where(QrCode.expires_at + KEEP_EXPIRED < now))
        return int(getattr(result, "rowcount", 0) or 0)
