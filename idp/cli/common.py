"""What every ``essc`` command shares: the provider built from the environment, and JSON output."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from typing import Any

import click

from idp.settings import ConfigurationError
from idp.settings import Settings

if TYPE_CHECKING:
    from idp.provider import Provider


def provider() -> Provider:
    """The process's :class:`idp.provider.Provider`, which builds every service a command
    calls; a command runs in one ``provider.unit_of_work()``. A bad setting is one clear line,
    exit 1."""
    from idp.provider import Provider

    try:
        return Provider(Settings.from_env())
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None


def emit(value: Any) -> None:
    """Every command prints one JSON value: operators script the output (docs/operations.md)."""
    click.echo(json.dumps(value, ensure_ascii=False, sort_keys=True))
