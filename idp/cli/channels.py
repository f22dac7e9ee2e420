"""``essc channels``: the operator's side of channel onboarding (docs/onboarding.md).

``onboarding-key`` and ``statement`` need only the key file and ``ESSC_ISSUER``, so they can run
on the operator's own machine; the status commands change the database, each with an audit event.
Every command prints one JSON value.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

import click

from idp.cli.common import emit
from idp.cli.common import provider
from idp.settings import Settings

PASSPHRASE_ENV = "ESSC_ONBOARDING_KEY_PASSPHRASE"  # noqa: S105 (a variable name)


def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV, "")
    return value.encode("utf-8") if value else None


@click.group()
def channels() -> None:
    """Channel onboarding: software statements, approval, suspension (RFC 7591, RFC 7592)."""


@channels.command("onboarding-key")
@click.option("--key-file", required=True, type=click.Path(dir_okay=False, path_type=Path))
def onboarding_key(key_file: Path) -> None:
    """Create the onboarding key if KEY_FILE is absent; print its public JWK Set.

    Set the output as ESSC_ONBOARDING_JWKS on the servers. The key file is written 0600 and
    encrypted with $ESSC_ONBOARDING_KEY_PASSPHRASE when that is set.
    """
    from keys.onboarding import OnboardingKeyError
    from keys.onboarding import generate
    from keys.onboarding import public_jwks

    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(generate(_passphrase()))
    try:
        emit(public_jwks(key_file.read_bytes(), _passphrase()))
    except OnboardingKeyError as exc:
        raise click.ClickException(str(exc)) from None


@channels.command("statement")
@click.option("--key-file", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--name", required=True, help="The organisation's channel name (client_name).")
@click.option(
    "--kind", required=True, help="wechat, alipay, unionpay, bank, app, portal, merchant."
)
@click.option("--parent", "parent", help="First-tier client_id, for a second-tier channel.")
@click.option("--scope", default="", help="Most scopes it may register (default: the kind's).")
@click.option("--grant-type", "grant_types", multiple=True, help="Allowed grant types (all).")
@click.option("--software-id", default=None, help="Stable id of the software (new UUID).")
@click.option("--ttl", default=7 * 24 * 3600, show_default=True, type=int, help="Seconds.")
@click.option(
    "--fapi2/--no-fapi2",
    default=None,
    help="The FAPI 2.0 Security Profile (default: on for unionpay, bank and merchant).",
)
def statement(key_file: str, **options: Any) -> None:
    """Sign a software statement (RFC 7591 2.3) to hand to an approved organisation."""
    from channels.software_statement import TYP
    from channels.software_statement import issue_claims
    from keys.onboarding import OnboardingKeyError
    from keys.onboarding import sign

    settings = Settings.from_env()
    try:
        claims = issue_claims(
            issuer=settings.issuer,
            now=int(time.time()),
            ttl=options["ttl"],
            jti=secrets.token_urlsafe(24),
            software_id=options["software_id"] or str(uuid.uuid4()),
            kind=options["kind"],
            client_name=options["name"],
            scopes=options["scope"].split(),
            grant_types=list(options["grant_types"]),
            parent_client_id=options["parent"],
            fapi2=_fapi2_default(options["kind"]) if options["fapi2"] is None else options["fapi2"],
        )
        token = sign(Path(key_file).read_bytes(), claims, typ=TYP, passphrase=_passphrase())
    except (ValueError, OnboardingKeyError) as exc:
        raise click.ClickException(str(exc)) from None
    emit({"software_statement": token, "claims": claims})


def _fapi2_default(kind: str) -> bool:
    """docs/security-profile.md: the kinds that move money onboard under FAPI 2.0."""
    from channels.kinds import FAPI2_KINDS

    return kind in FAPI2_KINDS


@channels.command("pending")
def pending() -> None:
    """Channels awaiting approval, oldest first."""
    p = provider()
    with p.unit_of_work() as uow:
        rows = p.channel_status.pending(uow)
    p.db.dispose()
    emit(rows)


def _change(action: str, client_id: str, actor: str) -> None:
    from idp.channel_admin.status import StatusError

    p = provider()
    try:
        with p.unit_of_work() as uow:  # the changed channels leave the client cache on commit
            out = p.channel_status.change(uow, client_id, action, actor=actor)
    except StatusError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        p.db.dispose()
    emit(out)


def _status_command(action: str, help_text: str) -> None:
    @channels.command(action, help=help_text)
    @click.argument("client_id")
    @click.option("--actor", default="operator", show_default=True, help="Who decided.")
    def command(client_id: str, actor: str) -> None:
        _change(action, client_id, actor)


_status_command("approve", "A pending channel becomes active: it can get tokens.")
_status_command("reject", "A pending channel is refused for good.")
_status_command("suspend", "An active channel (and its second-tier channels) stops at once.")
_status_command("resume", "A suspended channel becomes active again.")


@channels.command("notification-key")
@click.argument("client_id")
@click.option(
    "--from-file",
    "key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file holding the channel's 32-character WeChat Pay APIv3 key.",
)
@click.option("--remove", is_flag=True, help="Forget the key: resources go out unencrypted.")
@click.option("--actor", default="operator", show_default=True, help="Who did it.")
def notification_key(client_id: str, key_file: Path | None, remove: bool, actor: str) -> None:
    """Store a wechatpay-v3 channel's APIv3 key for encrypted notification resources.

    The key is read from a file (never from the command line, where it would reach the shell
    history), stored encrypted, and never printed.
    """
    from idp.channel_admin.channel_notification_key import NotificationKeyError
    from idp.channel_admin.channel_notification_key import set_key
    from idp.events.audit import record_event

    if remove == (key_file is not None):
        raise click.ClickException("give exactly one of --from-file or --remove")
    key = None if key_file is None else key_file.read_bytes().rstrip(b"\r\n")
    p = provider()
    try:
        with p.unit_of_work() as uow:
            set_key(uow.session, p.keyring, client_id, key)
            event = "channel.notification_key_removed" if remove else "channel.notification_key_set"
            record_event(uow.session, event, at=p.now(), actor=actor, client_id=client_id)
    except NotificationKeyError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        p.db.dispose()
    emit({"client_id": client_id, "notification_key": "removed" if remove else "set"})
