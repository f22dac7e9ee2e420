"""``essc notifications``: the outbox deliverer and its state (docs/notifications.md)."""

from __future__ import annotations

import click

from idp.cli.common import emit
from idp.cli.common import provider


@click.group()
def notifications() -> None:
    """Notifications to channels: the outbox deliverer and its state (docs/notifications.md)."""


@notifications.command("deliver")
@click.option("--once", is_flag=True, help="Deliver everything due now, then exit (cron).")
@click.option("--batch", default=50, show_default=True, type=click.IntRange(1, 1000))
def notifications_deliver(once: bool, batch: int) -> None:
    """Run the deliverer: one JSON line per pass that did something."""
    from contextlib import suppress

    from idp.notifications.transport import RequestsTransport

    p, transport = provider(), RequestsTransport()
    deliverer = p.deliverer(transport)
    try:
        if once:
            emit(deliverer.drain(batch).__dict__)
            return
        with suppress(KeyboardInterrupt):
            deliverer.run_forever(batch=batch, on_pass=lambda report: emit(report.__dict__))
    finally:
        transport.close()
        p.db.dispose()


@notifications.command("list")
@click.option("--state", type=click.Choice(["pending", "delivered", "parked"]))
@click.option("--client-id")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100_000))
def notifications_list(state: str | None, client_id: str | None, limit: int) -> None:
    """Outbox messages, oldest first, without their payloads."""
    from idp.notifications.leases import STATES
    from idp.notifications.leases import listing

    p = provider()
    with p.unit_of_work() as uow:
        rows = listing(
            uow.session,
            max_attempts=p.settings.notification_max_attempts,
            state=next((known for known in STATES if known == state), None),
            client_id=client_id,
            limit=limit,
        )
    p.db.dispose()
    emit(list(rows))


@notifications.command("retry")
@click.argument("delivery_id")
def notifications_retry(delivery_id: str) -> None:
    """Give a parked message a fresh set of attempts, due now."""
    from idp.notifications.leases import requeue

    p = provider()
    with p.unit_of_work() as uow:
        done = requeue(
            uow.session, delivery_id, now=p.now(), max_attempts=p.settings.notification_max_attempts
        )
    p.db.dispose()
    if not done:
        raise click.ClickException("no parked notification has that delivery id")
    emit({"delivery_id": delivery_id, "state": "pending"})
