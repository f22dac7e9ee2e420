"""The deliverer: lease due outbox messages, sign each in its channel's scheme, POST it, record.

At least once: a message is marked delivered only after a 2xx, so a crash between the POST and
the mark sends it again, with the same ``X-Essc-Delivery-Id`` so the channel drops the copy.
In order per card: only the head of each (channel, card) queue is ever leased
(``idp.notifications.leases``). Failures wait ``Backoff.delay`` and park after ``max_attempts``.
Time and transport are injected. Contract for channels: ``docs/notifications.md``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select

from channels.signing.scheme import Clock
from idp.notifications import leases
from idp.notifications.backoff import Backoff
from idp.notifications.channel_signers import NoSigner
from idp.notifications.signers import Envelope
from idp.notifications.signers import NotificationSigner
from idp.notifications.transport import Outcome
from idp.notifications.transport import Transport
from idp.store.channels import ChannelRow
from idp.store.database import Database

log = logging.getLogger(__name__)

DELIVERY_ID_HEADER = "X-Essc-Delivery-Id"
EVENT_HEADER = "X-Essc-Event"
ATTEMPT_HEADER = "X-Essc-Attempt"
USER_AGENT = "essc-idp-notifications/1"


class SignerSource(Protocol):
    def for_channel(
        self, client_id: str, api_auth_scheme: str | None, alg: str
    ) -> NotificationSigner: ...


@dataclass(frozen=True)
class Policy:
    """How hard to try: attempts before parking, backoff, lease (longer than any POST), batch."""

    max_attempts: int
    backoff: Backoff
    lease_seconds: int = 60
    batch: int = 50


@dataclass(frozen=True)
class Target:
    url: str | None
    api_auth_scheme: str | None
    alg: str
    backchannel_logout_uri: str | None = None


class Route(Protocol):
    """An outbox event that is not a channel notification (a back-channel logout token): the
    URL it goes to and the signer that writes its body, instead of the channel's own."""

    @property
    def url_field(self) -> str:
        """The client metadata the URL comes from, named in ``last_error`` when it is unset."""
        ...

    def url(self, target: Target) -> str | None: ...

    def signer(self, target: Target) -> NotificationSigner: ...


@dataclass
class Pass:
    """What one pass did; printed by ``essc notifications deliver``."""

    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    parked: int = 0

    def add(self, other: Pass) -> None:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.failed += other.failed
        self.parked += other.parked


class Deliverer:
    def __init__(
        self,
        db: Database,
        *,
        signers: SignerSource,
        transport: Transport,
        clock: Clock,
        policy: Policy,
        routes: Mapping[str, Route] | None = None,
    ) -> None:
        self._db = db
        self._routes = dict(routes or {})
        self._signers = signers
        self._transport = transport
        self._clock = clock
        self.policy = policy

    def _now(self) -> int:
        return int(self._clock())

    def run_once(self, batch: int | None = None) -> Pass:
        """Lease one batch (at most one message per card) and attempt each once."""
        policy = self.policy
        with self._db.transaction() as session:
            claimed = leases.lease(
                session,
                now=self._now(),
                batch=batch or policy.batch,
                max_attempts=policy.max_attempts,
                lease_seconds=policy.lease_seconds,
            )
        report = Pass(claimed=len(claimed))
        targets = self._targets({m.client_id for m in claimed})
        for message in claimed:
            outcome = self._attempt(message, targets.get(message.client_id))
            self._record(message, outcome, report)
        return report

    def drain(self, batch: int | None = None, max_passes: int = 10_000) -> Pass:
        """Passes until nothing is due now (``--once``): a card's backlog needs one pass each."""
        total = Pass()
        for _ in range(max_passes):
            report = self.run_once(batch)
            total.add(report)
            if report.claimed == 0:
                break
        return total

    def run_forever(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        idle_seconds: float = 1.0,
        on_pass: Callable[[Pass], None] = lambda _: None,
        batch: int | None = None,
    ) -> None:
        """The worker loop; sleeps only when a pass found nothing due."""
        while True:
            report = self.run_once(batch)
            if report.claimed:
                on_pass(report)
            else:
                sleep(idle_seconds)

    def _targets(self, client_ids: Iterable[str]) -> dict[str, Target]:
        wanted = sorted(client_ids)
        if not wanted:
            return {}
        with self._db.read() as session:
            rows = session.scalars(select(ChannelRow).where(ChannelRow.client_id.in_(wanted)))
            return {
                row.client_id: Target(
                    row.notification_url,
                    row.api_auth_scheme,
                    row.id_token_signed_response_alg,
                    row.backchannel_logout_uri,
                )
                for row in rows
            }

    def _attempt(self, message: leases.Leased, target: Target | None) -> Outcome:
        if target is None:
            return Outcome(False, "unknown channel")
        route = self._routes.get(message.event)
        url = route.url(target) if route else target.url
        if not url:
            return Outcome(
                False, f"channel has no {route.url_field if route else 'notification_url'}"
            )
        try:
            signer = self._signer(message, target, route)
            envelope = Envelope(
                message.delivery_id,
                message.client_id,
                message.event,
                message.payload,
                message.created_at,
            )
            outgoing = signer.sign(envelope, self._now())
        except NoSigner as exc:
            return Outcome(False, str(exc))
        except Exception:  # a signing failure must not stop the other cards' deliveries
            log.exception("signing notification %s failed", message.delivery_id)
            return Outcome(False, "signing failed")
        headers = {**outgoing.headers, **_common_headers(message)}
        return self._transport.post(url, headers, outgoing.body)

    def _signer(
        self, message: leases.Leased, target: Target, route: Route | None
    ) -> NotificationSigner:
        if route is not None:
            return route.signer(target)
        return self._signers.for_channel(message.client_id, target.api_auth_scheme, target.alg)

    def _record(self, message: leases.Leased, outcome: Outcome, report: Pass) -> None:
        now = self._now()
        with self._db.transaction() as session:
            if outcome.delivered:
                leases.mark_delivered(session, message, now=now)
                report.delivered += 1
                return
            error = outcome.error or "failed"
            if message.attempts >= self.policy.max_attempts:
                leases.mark_failed(session, message, error=error, retry_at=now)
                report.parked += 1
                log.warning("notification %s parked: %s", message.delivery_id, error)
                return
            delay = self.policy.backoff.delay(message.attempts, outcome.retry_after)
            leases.mark_failed(session, message, error=error, retry_at=now + delay)
            report.failed += 1


def _common_headers(message: leases.Leased) -> dict[str, str]:
    return {
        DELIVERY_ID_HEADER: message.delivery_id,
        EVENT_HEADER: message.event,
        ATTEMPT_HEADER: str(message.attempts),
        "User-Agent": USER_AGENT,
    }
