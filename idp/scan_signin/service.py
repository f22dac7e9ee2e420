"""Scan-to-sign-in (docs/scan-signin.md): what the PC page and the channel API ask of a login
request, over the transitions of ``idp.scan_signin.transitions``. No Flask here.

The reference (in the QR) and the PC's cookie secret are kept only as keyed hashes: neither is
replayable from the table. The channel proves who is at the phone with a channel assertion
(docs/channel-assertion.md, one-time ``jti``) on each call that changes the state.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.channel_signin.assertion import AssertionRejected
from idp.channel_signin.assertion import ChannelAssertionVerifier
from idp.channel_signin.signin import vouched_holder
from idp.events.audit import record_event
from idp.interaction.assurance import Assurance
from idp.scan_signin import formats
from idp.scan_signin import transitions as t
from idp.scan_signin.regions import NetworkRegions
from idp.scan_signin.transitions import Holder
from idp.scan_signin.transitions import Refused
from idp.store.scan_signin import ScanRequest
from idp.store.unit_of_work import UnitOfWork

#: How long a QR stands (seconds); the PC page asks for a new one before that.
REQUEST_TTL = 120
#: How long an ended request's row stays after its expiry, so that a late scan or approval
#: hears "expired" rather than "unknown"; the audit log keeps what happened for good.
KEEP_ENDED = 3600


def purge_scan_requests(s: Session, now: int) -> int:
    """Delete the requests that expired more than ``KEEP_ENDED`` seconds ago (``essc purge``).
    A PC page refreshes its QR every two minutes, so without this the table grows by thirty
    rows an hour for every PC left open on the sign-in page."""
    gone = s.execute(delete(ScanRequest).where(ScanRequest.expires_at <= now - KEEP_ENDED))
    return int(getattr(gone, "rowcount", 0))


@dataclass(frozen=True)
class Created:
    qr_text: str
    pc_secret: str
    expires_at: int


@dataclass(frozen=True)
class Status:
    state: str
    expires_at: int
    #: Shown on the PC only once the phone has scanned (the citizen picks it there).
    number: int | None


@dataclass(frozen=True)
class Scanned:
    client_id: str
    choices: list[int]
    pc_network: str
    created_at: int
    expires_at: int
    far_from_pc: bool


@dataclass(frozen=True)
class Decision:
    state: str
    far_from_pc: bool
    reason: str | None = None


@dataclass(frozen=True)
class Redeemed:
    person_id: str
    assurance: Assurance


class ScanSignIns:
    """``Provider.scan_signin``. ``keyed``: the key ring's token hash."""

    def __init__(
        self,
        verifier: ChannelAssertionVerifier,
        keyed: Callable[[str], str],
        ttl: int = REQUEST_TTL,
        regions: NetworkRegions | None = None,
    ) -> None:
        self._verifier = verifier
        self._keyed = keyed
        self.ttl = ttl
        #: The PC's approximate location for the phone (idp.scan_signin.regions).
        self.regions = regions or NetworkRegions.load("")

    def ref_hash(self, reference: str) -> str:
        return self._keyed(f"scan-ref:{reference}")

    def pc_hash(self, secret: str) -> str:
        return self._keyed(f"scan-pc:{secret}")

    # -- the PC -----------------------------------------------------------------------------
    def create(
        self,
        uow: UnitOfWork,
        *,
        interaction_id: str,
        client_id: str,
        pc_address: str | None,
        old_secret: str | None,
        now: int,
        ttl: int | None = None,
    ) -> Created:
        """A new request for the interaction; the one this browser showed before stops.
        ``ttl``: how long its QR stands, when not the default (an elder gets twice as long)."""
        ttl = ttl or self.ttl
        if old_secret:
            t.retire(uow.session, self.pc_hash(old_secret), now)
        reference, secret = formats.new_reference(), secrets.token_urlsafe(32)
        number, choices = formats.number_and_choices()
        uow.session.add(
            ScanRequest(
                ref_hash=self.ref_hash(reference),
                pc_hash=self.pc_hash(secret),
                interaction_id=interaction_id,
                client_id=client_id,
                state=t.WAITING,
                number=number,
                choices=choices,
                pc_network=formats.network_of(pc_address),
                created_at=now,
                expires_at=now + ttl,
            )
        )
        return Created(formats.qr_text(reference), secret, now + ttl)

    def status(self, uow: UnitOfWork, secret: str, interaction_id: str, now: int) -> Status | None:
        """What the PC page shows now; None unless this browser created a request for it."""
        pc_hash = self.pc_hash(secret)
        row = uow.session.scalar(select(ScanRequest).where(ScanRequest.pc_hash == pc_hash))
        if row is None or row.interaction_id != interaction_id:
            return None
        if row.state in t.OPEN and row.expires_at <= now and t.expire(uow.session, pc_hash, now):
            row.state = t.EXPIRED
        number = row.number if row.state == t.SCANNED else None
        return Status(row.state, row.expires_at, number)

    def redeem(
        self, uow: UnitOfWork, secret: str, interaction_id: str, request_id: str | None, now: int
    ) -> Redeemed | None:
        """The approved sign-in, once, in the browser that created the request."""
        row = t.redeem(uow.session, self.pc_hash(secret), interaction_id, now)
        if row is None:
            return None
        person_id, acr, amr, auth_time, far = row
        record_event(
            uow.session,
            "scan_signin.redeemed",
            at=now,
            person_id=person_id,
            request_id=request_id,
            far_from_pc=bool(far),
        )
        return Redeemed(person_id, Assurance(acr=acr, amr=tuple(amr), auth_time=int(auth_time)))

    # -- the channel ------------------------------------------------------------------------
    def holder(self, uow: UnitOfWork, assertion: object, now: int) -> Holder:
        """The channel user a (fresh, one-time) channel assertion vouches for, or 401."""
        if not isinstance(assertion, str) or not 0 < len(assertion) <= 8192:
            raise Refused(400, "invalid-request", "assertion missing")
        try:
            verified = self._verifier.verify(assertion)
            found = vouched_holder(uow, verified, now)
        except AssertionRejected as exc:
            raise Refused(401, "assertion-rejected", exc.reason) from None
        a = found.assurance
        return Holder(
            verified.channel_id, verified.sign_no, found.person_id, a.acr, a.amr, a.auth_time
        )

    def reference(self, qr: object) -> str:
        reference = formats.parse_qr_text(qr)
        if reference is None:
            raise Refused(400, "invalid-request", "not a scan-to-sign-in QR text")
        return self.ref_hash(reference)

    def scan(self, uow: UnitOfWork, ref_hash: str, holder: Holder, phone: str, now: int) -> Scanned:
        row = t.scan(uow.session, ref_hash, holder, now)
        if row is None:
            raise t.refusal(uow.session, ref_hash, holder, "scan", now)
        client_id, choices, pc_network, created_at, expires_at = row
        far = self._far(pc_network, phone)
        self._audit(uow, "scan_signin.scanned", holder, client_id, now, far_from_pc=far)
        return Scanned(client_id, list(choices), pc_network, created_at, expires_at, far)

    def scanned(
        self, uow: UnitOfWork, ref_hash: str, holder: Holder, phone: str, now: int
    ) -> Scanned:
        """What ``scan`` answered, again, to the channel user who scanned; nothing changes."""
        row = t.scanned(uow.session, ref_hash, holder, now)
        if row is None:
            raise t.refusal(uow.session, ref_hash, holder, "confirm", now)
        client_id, choices, pc_network, created_at, expires_at = row
        far = self._far(pc_network, phone)
        return Scanned(client_id, list(choices), pc_network, created_at, expires_at, far)

    def approve(
        self, uow: UnitOfWork, ref_hash: str, holder: Holder, number: int, phone: str, now: int
    ) -> Decision:
        """Approved with the right number; denied (and committed so) with a wrong one."""
        pc_network = self._pc_network(uow, ref_hash)
        far = self._far(pc_network, phone)
        row = t.approve(uow.session, ref_hash, holder, number, far, now)
        if row is not None:
            self._audit(uow, "scan_signin.approved", holder, row[0], now, far_from_pc=far)
            return Decision(t.APPROVED, far)
        return self.deny(uow, ref_hash, holder, phone, now, reason="wrong_number")

    def deny(
        self,
        uow: UnitOfWork,
        ref_hash: str,
        holder: Holder,
        phone: str,
        now: int,
        *,
        reason: str = "citizen",
    ) -> Decision:
        pc_network = self._pc_network(uow, ref_hash)
        far = self._far(pc_network, phone)
        row = t.deny(uow.session, ref_hash, holder, reason, far, now)
        if row is None:
            raise t.refusal(uow.session, ref_hash, holder, "decide", now)
        self._audit(uow, "scan_signin.denied", holder, row[0], now, reason=reason, far_from_pc=far)
        return Decision(t.DENIED, far, reason)

    def _far(self, pc_network: str | None, phone: str) -> bool:
        """Flagged when the networks share no wide prefix, or the operator's region table puts
        the two in different places (docs/scan-signin.md "Formats")."""
        if pc_network is None:
            return True
        return formats.far_apart(pc_network, phone) or self.regions.apart(pc_network, phone)

    @staticmethod
    def _pc_network(uow: UnitOfWork, ref_hash: str) -> str | None:
        return uow.session.scalar(
            select(ScanRequest.pc_network).where(ScanRequest.ref_hash == ref_hash)
        )

    @staticmethod
    def _audit(
        uow: UnitOfWork, event: str, holder: Holder, client_id: str, now: int, **detail: object
    ) -> None:
        record_event(
            uow.session,
            event,
            at=now,
            actor=holder.channel_id,
            person_id=holder.person_id,
            client_id=client_id,
            request_id=uow.request_id,
            **detail,
        )
