"""The ``essc`` command. Operators script it: names and flags are stable (docs/operations.md).

One module per command group; this one only assembles them under ``main``.
"""

from __future__ import annotations

from typing import Any

import click

from idp.cli import instance
from idp.cli.audit import audit
from idp.cli.cardholders import cardholders
from idp.cli.cards import cards
from idp.cli.channels import channels
from idp.cli.clients import clients
from idp.cli.family import family
from idp.cli.keys import keys
from idp.cli.notifications import notifications
from idp.cli.qr import qr
from idp.scale.command import scale


class _Essc(click.Group):
    """Operator mistakes end in one clear line and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import DBAPIError

        from keys import KeyRingError
        from keys import WrongPassphrase

        try:
            return super().invoke(ctx)
        except (KeyRingError, WrongPassphrase) as exc:
            raise click.ClickException(str(exc)) from None
        except DBAPIError as exc:
            # The driver's message may quote SQL and parameters: name the class only.
            raise click.ClickException(
                f"database error ({type(exc.orig).__name__}): check ESSC_DATABASE_URL"
                " and run `essc init`"
            ) from None


@click.group(cls=_Essc)
def main() -> None:
    """essc-idp: the e-SSC identity provider."""


for command in (
    instance.init,
    instance.demo,
    instance.serve,
    instance.purge,
    clients,
    channels,
    cardholders,
    keys,
    notifications,
    cards,
    qr,
    audit,
    family,
    scale,
):
    main.add_command(command)
