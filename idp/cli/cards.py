"""``essc cards``: the card lifecycle at the counter (docs/card-lifecycle.md)."""

from __future__ import annotations

from typing import Any

import click

from idp.cli.common import emit
from idp.cli.common import provider


@click.group()
def cards() -> None:
    """Card lifecycle at the counter: suspend, resume, cancel, replace (docs/card-lifecycle.md)."""


_CARD_OPTIONS = (
    click.option("--card-number", required=True),
    click.option("--actor", required=True, help="Operator id, channel client_id, or system."),
    click.option("--factor", required=True, help="pin, face, counter, sms (or system)."),
)


def _card_change(action: str, card_number: str, actor: str, factor: str, **extra: Any) -> None:
    """One unit of work: the change, its card event, audit event and channel notifications."""
    from idp.cards import lifecycle

    p = provider()
    try:
        with p.unit_of_work() as uow:
            who = lifecycle.Actor(actor, factor)
            change = p.cards.change(uow, action, card_number, who, **extra)
    except lifecycle.CardLifecycleError as exc:
        raise click.ClickException(exc.reason) from None
    finally:
        p.db.dispose()
    emit(change.as_json())


def _card_command(action: str, help_text: str) -> Any:
    def command(card_number: str, actor: str, factor: str) -> None:
        _card_change(action, card_number, actor, factor)

    command.__doc__ = help_text
    for option in reversed(_CARD_OPTIONS):
        command = option(command)
    return cards.command(action)(command)


_card_command("suspend", "临时挂失: suspend the card until ESSC_SUSPENSION_SECONDS from now.")
_card_command("resume", "解挂: resume a suspended card (refused after a replacement).")
_card_command("cancel", "注销: cancel the card; final.")


@cards.command("replace")
@_CARD_OPTIONS[0]
@_CARD_OPTIONS[1]
@_CARD_OPTIONS[2]
@click.option("--new-card-number", required=True)
@click.option(
    "--production-stage",
    type=click.Choice(["applied", "producing", "ready", "collected"]),
    default="collected",
    show_default=True,
    help="collected: issued on the spot (立等可取).",
)
def cards_replace(
    card_number: str, actor: str, factor: str, new_card_number: str, production_stage: str
) -> None:
    """补换: a new card takes over the e-cards; the old number stops."""
    _card_change(
        "replace",
        card_number,
        actor,
        factor,
        new_card_number=new_card_number,
        production_stage=production_stage,
    )


@cards.command("lift-expired")
def cards_lift_expired() -> None:
    """Resume, as system, every suspension that has lapsed (run from cron; reads do not wait)."""
    p = provider()
    try:
        with p.unit_of_work() as uow:
            changes = p.cards.lift_expired(uow)
    finally:
        p.db.dispose()
    emit({"lifted": [change.as_json() for change in changes]})
