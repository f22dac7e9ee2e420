"""``essc family``: consent recorded at a service counter, ending and expiring relationships
(docs/family.md "At the counter")."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from idp.cli.common import emit
from idp.cli.common import provider

if TYPE_CHECKING:
    from idp.errors import Problem


@click.group()
def family() -> None:
    """Family proxy (亲情服务) relationships."""


def _problem(exc: Problem) -> click.ClickException:
    """One line for the operator: the problem's slug and its detail (never request input)."""
    return click.ClickException(f"{exc.slug}: {exc.detail or exc.title}")


@family.command("consent")
@click.argument("relationship_id")
@click.option("--power", "powers", multiple=True, required=True, help="Each power (repeatable).")
@click.option("--valid-days", type=int, default=365, show_default=True)
@click.option("--operator", required=True, help="The operator who saw the principal.")
@click.option("--evidence", required=True, help="What was checked: form number, ID seen.")
def family_consent(
    relationship_id: str, powers: tuple[str, ...], valid_days: int, operator: str, evidence: str
) -> None:
    """Record the principal's consent given in person; prints the relationship."""
    from idp.errors import Problem
    from idp.family.formats import parse_powers
    from idp.family.formats import parse_valid_days

    if not operator.strip() or len(operator) > 64 or not evidence.strip() or len(evidence) > 500:
        raise click.ClickException("--operator (<=64) and --evidence (<=500) are required")
    p = provider()
    try:
        granted, days = parse_powers(list(powers), "--power"), parse_valid_days(valid_days)
        with p.unit_of_work() as uow:
            row = p.family.consent_at_counter(
                uow,
                relationship_id,
                granted,
                days,
                operator=operator.strip(),
                evidence=evidence.strip(),
            )
            emit(
                {
                    "id": row.id,
                    "state": row.state,
                    "powers": row.powers,
                    "expires_at": row.expires_at,
                }
            )
    except Problem as exc:
        raise _problem(exc) from None


@family.command("end")
@click.argument("relationship_id")
def family_end(relationship_id: str) -> None:
    """End a relationship for an operator; its delegated tokens stop at once."""
    from idp.errors import Problem

    p = provider()
    try:
        with p.unit_of_work() as uow:
            ended = p.family.end(uow, relationship_id, None)
        emit({"id": ended.id, "state": "ended"})
    except Problem as exc:
        raise _problem(exc) from None


@family.command("expire")
def family_expire() -> None:
    """End every relationship whose consent or request has lapsed (run it daily)."""
    p = provider()
    with p.unit_of_work() as uow:
        count = p.family.expire_all(uow)
    emit({"expired": count})
