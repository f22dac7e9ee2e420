"""The state machine of a scan-to-sign-in request (docs/scan-signin.md "States"):

    waiting --scan--> scanned --approve--> approved --redeem (PC, once)
       |                 |  \\--deny / wrong number--> denied
       \\-----------------+--past expires_at--> expired

Each transition is one conditional ``UPDATE ... RETURNING`` whose ``WHERE`` is the state it
leaves (Hydra's single use): of N concurrent approvals exactly one gets a row back. When
nothing matched, ``refusal`` reads the row to say why; it never decides anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from idp.store.scan_signin import ScanRequest

WAITING, SCANNED, APPROVED, DENIED, EXPIRED = "waiting", "scanned", "approved", "denied", "expired"
OPEN = (WAITING, SCANNED)
#: Seconds the PC has to redeem an approval (it polls every 2 s).
REDEEM_WINDOW = 30


class Refused(Exception):
    """A request that cannot take this step: an RFC 7807 ``slug`` and status for the views,
    ``reason`` for the log and audit."""

    def __init__(self, status: int, slug: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.slug = slug
        self.reason = reason


@dataclass(frozen=True)
class Holder:
    """Who the channel says is at the phone: the channel, its e-card, the person, how verified."""

    channel_id: str
    sign_no: str
    person_id: str
    acr: str
    amr: tuple[str, ...]
    auth_time: int


def _one(s: Session, where: list[Any], values: dict[str, Any], *returning: Any) -> Any:
    statement = update(ScanRequest).where(*where).values(**values).returning(*returning)
    return s.execute(statement).first()


def scan(s: Session, ref_hash: str, holder: Holder, now: int) -> Any:
    """waiting → scanned, bound to the channel and e-card that scanned."""
    return _one(
        s,
        [
            ScanRequest.ref_hash == ref_hash,
            ScanRequest.state == WAITING,
            ScanRequest.expires_at > now,
        ],
        {
            "state": SCANNED,
            "scanned_at": now,
            "channel_id": holder.channel_id,
            "sign_no": holder.sign_no,
        },
        ScanRequest.client_id,
        ScanRequest.choices,
        ScanRequest.pc_network,
        ScanRequest.created_at,
        ScanRequest.expires_at,
    )


def _scanned_by(ref_hash: str, holder: Holder, now: int) -> list[Any]:
    return [
        ScanRequest.ref_hash == ref_hash,
        ScanRequest.state == SCANNED,
        ScanRequest.channel_id == holder.channel_id,
        ScanRequest.sign_no == holder.sign_no,
        ScanRequest.expires_at > now,
    ]


def scanned(s: Session, ref_hash: str, holder: Holder, now: int) -> Any:
    """The open request this channel user scanned, read only: its confirmation shown again (the
    phone's page drawn anew, e.g. after the 长辈版 switch), no step taken."""
    return s.execute(
        select(
            ScanRequest.client_id,
            ScanRequest.choices,
            ScanRequest.pc_network,
            ScanRequest.created_at,
            ScanRequest.expires_at,
        ).where(*_scanned_by(ref_hash, holder, now))
    ).first()


def approve(s: Session, ref_hash: str, holder: Holder, number: int, far: bool, now: int) -> Any:
    """scanned → approved, only by the channel user who scanned and with the PC's number."""
    return _one(
        s,
        [*_scanned_by(ref_hash, holder, now), ScanRequest.number == number],
        {
            "state": APPROVED,
            "decided_at": now,
            "person_id": holder.person_id,
            "acr": holder.acr,
            "amr": list(holder.amr),
            "auth_time": holder.auth_time,
            "far_from_pc": far,
            "expires_at": now + REDEEM_WINDOW,
        },
        ScanRequest.client_id,
    )


def deny(s: Session, ref_hash: str, holder: Holder, reason: str, far: bool, now: int) -> Any:
    """scanned → denied: the citizen said no, or picked a number the PC did not show."""
    where = _scanned_by(ref_hash, holder, now)
    values = {"state": DENIED, "decided_at": now, "deny_reason": reason, "far_from_pc": far}
    return _one(s, where, values, ScanRequest.client_id)


def expire(s: Session, pc_hash: str, now: int) -> Any:
    """waiting|scanned → expired: past its time, or replaced by a fresh QR on the same PC."""
    return _one(
        s,
        [
            ScanRequest.pc_hash == pc_hash,
            ScanRequest.state.in_(OPEN),
            ScanRequest.expires_at <= now,
        ],
        {"state": EXPIRED},
        ScanRequest.ref_hash,
    )


def retire(s: Session, pc_hash: str, now: int) -> None:
    """The PC asked for a new QR: the one it showed before stops at once."""
    s.execute(
        update(ScanRequest)
        .where(ScanRequest.pc_hash == pc_hash, ScanRequest.state.in_(OPEN))
        .values(state=EXPIRED, expires_at=now)
    )


def redeem(s: Session, pc_hash: str, interaction_id: str, now: int) -> Any:
    """approved → redeemed, once, by the PC browser that created it, for its interaction."""
    return _one(
        s,
        [
            ScanRequest.pc_hash == pc_hash,
            ScanRequest.interaction_id == interaction_id,
            ScanRequest.state == APPROVED,
            ScanRequest.redeemed_at.is_(None),
            ScanRequest.expires_at > now,
        ],
        {"redeemed_at": now},
        ScanRequest.person_id,
        ScanRequest.acr,
        ScanRequest.amr,
        ScanRequest.auth_time,
        ScanRequest.far_from_pc,
    )


def refusal(s: Session, ref_hash: str, holder: Holder | None, step: str, now: int) -> Refused:
    """Why ``step`` matched nothing (read after the UPDATE, for the answer only)."""
    row = s.get(ScanRequest, ref_hash)
    if row is None:
        return Refused(404, "scan-request-not-found", "unknown reference")
    if row.state == EXPIRED or (row.state in OPEN and row.expires_at <= now):
        return Refused(410, "scan-request-expired", "expired")
    if row.state in (APPROVED, DENIED):
        return Refused(409, "scan-request-decided", f"already {row.state}")
    if row.state == SCANNED and step == "scan":
        return Refused(409, "scan-request-scanned", "already scanned")
    if row.state == WAITING:
        return Refused(409, "scan-request-not-scanned", "not scanned yet")
    assert holder is not None
    return Refused(403, "scan-request-other-user", "not the channel user who scanned")
