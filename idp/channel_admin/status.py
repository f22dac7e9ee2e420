"""A channel's status, as the operator changes it (issue 3 section 1, essc-domain 1.2).

``pending`` (just registered) -> ``active`` (approved) or ``rejected``; ``active`` <->
``suspended``; ``deleted`` when the channel deletes itself (RFC 7592 2.3), final. A channel is
usable only when it is active and, for a second-tier channel, its first-tier parent is active
too: suspending a parent suspends its children's access without touching their rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.registry import ClientRegistry
from idp.events.audit import record_event
from idp.store.channels import ACTIVE
from idp.store.channels import PENDING
from idp.store.channels import ChannelRow
from idp.store.channels import effective_status
from idp.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Transition:
    event: str
    sources: frozenset[str]
    target: str


TRANSITIONS = {
    "approve": Transition("channel.approved", frozenset({PENDING}), ACTIVE),
    "reject": Transition("channel.rejected", frozenset({PENDING}), "rejected"),
    "suspend": Transition("channel.suspended", frozenset({ACTIVE}), "suspended"),
    "resume": Transition("channel.resumed", frozenset({"suspended"}), ACTIVE),
}


class StatusError(ValueError):
    """The operator asked for a change the channel's state does not allow."""


def children(session: Session, client_id: str) -> list[str]:
    query = select(ChannelRow.client_id).where(ChannelRow.parent_client_id == client_id)
    return list(session.scalars(query.order_by(ChannelRow.client_id)))


def describe(session: Session, row: ChannelRow) -> dict[str, Any]:
    """What the operator sees: no secrets, no hashes; the key serials to check before approval
    (``""`` is an Alipay key registered without one)."""
    statement = row.software_statement or {}
    return {
        "client_id": row.client_id,
        "client_name": row.name,
        "kind": row.kind,
        "status": row.status,
        "effective_status": effective_status(session, row),
        "parent_client_id": row.parent_client_id,
        "software_id": statement.get("claims", {}).get("software_id"),
        "scope": " ".join(row.scopes),
        "grant_types": row.grant_types,
        "redirect_uris": row.redirect_uris,
        "api_signature_scheme": row.api_auth_scheme,
        "api_key_serials": sorted(row.api_keys or {}),
        "notification_url": row.notification_url,
        "created_at": row.created_at,
    }


class ChannelStatus:
    """The operator's status changes (``Provider.channel_status``), at the clock, forgetting
    the cached clients they affect once committed."""

    def __init__(self, *, clients: ClientRegistry, clock: Callable[[], int]) -> None:
        self._clients = clients
        self._now = clock

    def pending(self, uow: UnitOfWork) -> list[dict[str, Any]]:
        """Channels awaiting approval, oldest first."""
        query = select(ChannelRow).where(ChannelRow.status == PENDING)
        rows = uow.session.scalars(query.order_by(ChannelRow.created_at))
        return [describe(uow.session, row) for row in rows]

    def change(self, uow: UnitOfWork, client_id: str, action: str, *, actor: str) -> dict[str, Any]:
        """Apply one operator action, audited in the same transaction; the channel and its
        second-tier channels leave the client cache after the commit."""
        session, now = uow.session, self._now()
        transition = TRANSITIONS[action]
        row = session.get(ChannelRow, client_id, with_for_update=True)
        if row is None:
            raise StatusError("no channel has this client_id")
        if row.status not in transition.sources:
            raise StatusError(f"cannot {action} a channel that is {row.status}")
        if transition.target == ACTIVE and row.parent_client_id:
            parent = session.get(ChannelRow, row.parent_client_id)
            if parent is None or parent.status != ACTIVE:
                raise StatusError(f"cannot {action}: the parent channel is not active")
        previous, row.status, row.updated_at = row.status, transition.target, now
        affected = children(session, client_id)
        record_event(
            session,
            transition.event,
            at=now,
            actor=actor,
            client_id=client_id,
            request_id=uow.request_id,
            from_status=previous,
            to_status=row.status,
            children=affected,
        )
        for stale in (client_id, *affected):
            uow.after_commit(partial(self._clients.forget, stale))
        return {**describe(session, row), "children": affected}
