"""``essc cardholders``: enrol cardholders (operators and tests)."""

from __future__ import annotations

import click

from idp.cli.common import emit
from idp.cli.common import provider


@click.group()
def cardholders() -> None:
    """Enrol cardholders (operators and tests)."""


@cardholders.command("add")
@click.option("--name", required=True)
@click.option("--id-number", required=True)
@click.option("--region-code", required=True)
@click.option("--card-number", required=True)
@click.option("--pin", required=True, help="6-digit e-card PIN.")
def cardholders_add(
    name: str, id_number: str, region_code: str, card_number: str, pin: str
) -> None:
    """Enrol a cardholder with a card in normal status; prints masked JSON."""
    from idp.cardholders.pin import WeakPin
    from idp.cardholders.service import EnrolmentError
    from idp.cardholders.service import describe
    from idp.cardholders.service import primary_card

    p = provider()
    try:
        with p.unit_of_work() as uow:
            person = p.cardholders.enrol(
                uow,
                name=name,
                id_number=id_number,
                region_code=region_code,
                card_number=card_number,
                pin=pin,
            )
            uow.session.flush()
            out = describe(person, primary_card(uow.session, person.id))
    except (EnrolmentError, WeakPin) as exc:
        raise click.ClickException(exc.reason) from None
    emit(out)
