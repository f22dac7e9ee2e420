"""OpenID Connect Back-Channel Logout 1.0: queueing a logout token for every client an ended
session reached (2.5), in the transaction that ends it.

The clients come from ``session_clients`` (written when a code is issued in the session,
``idp.interaction.signin.touch``); only those with a ``backchannel_logout_uri`` get one. The
rows go into the product's outbox, so a session end and its logout tokens commit or roll back
together, and the deliverer retries each until the portal answers 2xx
(``idp.logout.logout_token``, ``docs/notifications.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.client import Client
from idp.events.outbox import enqueue
from idp.logout.logout_token import LOGOUT_EVENT
from idp.logout.logout_token import Subject
from idp.oidc.pairwise import subject_for
from idp.store.channels import ChannelRow
from idp.store.grants import SessionClient


def queue_logout_tokens(s: Session, *, sids: Sequence[str], person_id: str, now: int) -> list[str]:
    """One outbox message per (ended session, client with a back-channel URI); their ids."""
    if not sids:
        return []
    touched = s.execute(
        select(SessionClient.sid, SessionClient.client_id)
        .join(ChannelRow, ChannelRow.client_id == SessionClient.client_id)
        .where(SessionClient.sid.in_(sids), ChannelRow.backchannel_logout_uri.is_not(None))
        .order_by(SessionClient.sid, SessionClient.client_id)
    ).all()
    return [
        enqueue(
            s,
            client_id=client_id,
            ordering_key=f"sid:{sid}",
            event=LOGOUT_EVENT,
            payload={"sid": sid, "person_id": person_id},
            now=now,
        )
        for sid, client_id in touched
    ]


def client_subject(
    find_client: Callable[[str], Client | None], keyed_hash: Callable[[str, str], str]
) -> Subject:
    """The ``sub`` of the client's ID tokens (pairwise or public), for its logout tokens."""

    def subject(client_id: str, person_id: str) -> str:
        client = find_client(client_id)
        if client is None:
            raise LookupError("the client is gone")
        return subject_for(client, person_id, keyed_hash)

    return subject
