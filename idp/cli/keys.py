"""``essc keys``: the signing key ring and the notification keys' public halves."""

from __future__ import annotations

import click

from channels.signing.registry import registered
from channels.signing.registry import spellings
from idp.cli.common import emit
from idp.cli.common import provider


@click.group()
def keys() -> None:
    """The signing key ring."""


@keys.command("list")
def keys_list() -> None:
    """Published signing keys with their state."""
    emit(provider().keyring.signing.public_keys())


@keys.command("rotate")
@click.option("--alg", default=None, help="One algorithm (default: every algorithm).")
def keys_rotate(alg: str | None) -> None:
    """Promote the pending key, retire the active one, publish a new pending key."""
    from keys import SIGNING_ALGS
    from keys import KeyRingError

    ring = provider().keyring
    try:
        done = [ring.rotate(a) for a in ([alg] if alg else list(SIGNING_ALGS))]
    except KeyRingError as exc:
        raise click.ClickException(str(exc)) from None
    emit([r.__dict__ for r in done])


@keys.command("export-jwks")
def keys_export_jwks() -> None:
    """The public JWK Set, as served at /jwks.json."""
    emit(provider().keyring.jwks())


@keys.command("notification-cert")
@click.option("--scheme", required=True, type=click.Choice(spellings()))
def keys_notification_cert(scheme: str) -> None:
    """The public key (and its serial) a channel registers to verify our notifications."""
    adapter = registered(scheme)
    if adapter is None:  # click allows only the registry's spellings
        raise click.BadParameter("unknown scheme", param_hint="--scheme")
    p = provider()
    try:
        serial, pem = p.keyring.notification_public_pem(adapter.platform_key)
    finally:
        p.db.dispose()  # a command run in-process (the tests) must leave no connection open
    emit({"scheme": scheme, "serial": serial, "public_key_pem": pem})
