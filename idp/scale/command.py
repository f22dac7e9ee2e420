"""``essc scale``: the scale-of-data commands (docs/scaling.md)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from idp.settings import ConfigurationError
from idp.settings import Settings


@click.group()
def scale() -> None:
    """Synthetic data at national scale, for benchmarks (docs/scaling.md)."""


@scale.command("load")
@click.option("--cardholders", type=int, required=True, help="How many people to load.")
@click.option(
    "--database-url",
    required=True,
    help="postgresql+psycopg:// URL of a database to create (it must not exist).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same people.")
@click.option("--chunk", "chunk_size", type=int, default=100_000, show_default=True)
@click.option(
    "--epoch",
    type=int,
    default=1_764_547_200,
    show_default=True,
    help="created_at and issued_at of every row (epoch seconds).",
)
@click.option(
    "--channels-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the channels' client secrets go [default: <instance dir>/scale-channels.json].",
)
@click.option("--replace", is_flag=True, help="Drop the database first if it exists.")
def load_command(
    cardholders: int,
    database_url: str,
    seed: int,
    chunk_size: int,
    epoch: int,
    channels_file: Path | None,
    replace: bool,
) -> None:
    """Create a database and COPY N cardholders, their cards and e-cards into it."""
    from idp.provider import Provider
    from idp.scale.load import LoadError
    from idp.scale.load import Plan
    from idp.scale.load import create_database
    from idp.scale.load import load
    from idp.scale.load import prepare
    from idp.scale.people import CAPACITY

    # Checked before anything is created: a refused load leaves no database behind.
    if chunk_size < 1:
        raise click.BadParameter("must be at least 1", param_hint="--chunk")
    if not 0 < cardholders <= CAPACITY:
        raise click.BadParameter(f"must be 1 to {CAPACITY}", param_hint="--cardholders")
    try:
        settings = Settings.from_env().with_overrides(database_url=database_url)
        create_database(database_url, replace=replace)
        p = Provider(settings)
    except (ConfigurationError, LoadError) as exc:
        raise click.ClickException(str(exc)) from None
    target = channels_file or Path(settings.instance_dir) / "scale-channels.json"
    try:
        channels = prepare(p, target)
        click.echo(f"migrated and keyed; channels in {target}", err=True)
        summary = load(
            p,
            Plan(cardholders, seed, chunk_size, epoch),
            channels,
            lambda line: click.echo(f"[{time.strftime('%H:%M:%S')}] {line}", err=True),
        )
    except LoadError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        p.db.dispose()
    summary["database"] = p.db.engine.url.render_as_string(hide_password=True)
    summary["channels_file"] = str(target)
    # One JSON value, as every essc command prints (docs/operations.md).
    click.echo(json.dumps(summary, ensure_ascii=False, sort_keys=True))
