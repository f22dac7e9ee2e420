"""``essc qr``: verify a code offline, and the platform's QR keys and code rows (docs/qr-token.md).

``essc qr verify`` needs no database and no settings: only the published JWKS (and, optionally,
the status list), as any scanner would.
"""

from __future__ import annotations

import click

from idp.cli.common import emit
from idp.cli.common import provider
from keys.qr import QrKeys


@click.group()
def qr() -> None:
    """Signed QR codes of the e-card."""


@qr.command("verify")
@click.argument("code")
@click.option("--jwks", "jwks", required=True, help="URL or file of the QR JWKS (/qr/jwks.json).")
@click.option("--purpose", type=click.Choice(["identity", "medical", "payment", "transit"]))
@click.option("--status-list", "status_list", help="URL or file of the status list.")
@click.option("--skew", default=30, show_default=True, help="Clock skew allowed, seconds.")
@click.pass_context
def qr_verify(
    ctx: click.Context,
    code: str,
    jwks: str,
    purpose: str | None,
    status_list: str | None,
    skew: int,
) -> None:
    """Verify CODE offline: prints the token, or the reason it is refused (exit status 1)."""
    from idp.qr.token import QrTokenError
    from idp.qr.verifier import JwksFetcher
    from idp.qr.verifier import OfflineVerifier
    from idp.qr.verifier import StatusListFetcher
    from idp.qr.verifier import VerifierError

    try:
        keys = JwksFetcher(jwks)
        keys.key_set()
        status = StatusListFetcher(status_list, keys.key_set) if status_list else None
        if status is not None:
            status.status_list()
    except VerifierError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        token = OfflineVerifier(keys, status, skew=skew).verify(code, purpose)
    except QrTokenError as exc:
        emit({"valid": False, "reason": exc.reason})
        ctx.exit(1)
    emit(
        {
            "valid": True,
            "purpose": token.purpose.value,
            "code_id": token.code_id,
            "issued_at": token.issued_at,
            "expires_at": token.expires_at,
            "kid": token.kid.hex(),
            "proxy": token.actor is not None,
            "status_checked": status is not None,
        }
    )


@qr.command("keys")
def qr_keys() -> None:
    """The QR signing keys with their state (pending, active, retired)."""
    emit(provider().qr.ensure_keys().states())


@qr.command("rotate-key")
def qr_rotate_key() -> None:
    """Add a QR key: published at once, it signs after a day (verifiers fetch it first)."""
    emit({"pending": _keys().rotate()})


@qr.command("export-jwks")
def qr_export_jwks() -> None:
    """The QR JWK Set, as served at /qr/jwks.json (for scanners that load it from a file)."""
    emit(provider().qr.jwks())


@qr.command("status-list")
def qr_status_list() -> None:
    """The signed status list as served at /qr/status-list, built now."""
    p = provider()
    p.qr.forget_status_list()
    with p.db.read() as session:
        click.echo(p.qr.status_list_jwt(session))


@qr.command("purge")
def qr_purge() -> None:
    """Delete the rows of codes that expired more than an hour ago."""
    p = provider()
    with p.db.transaction() as session:
        emit({"deleted": p.qr.purge(session, p.now())})


def _keys() -> QrKeys:
    from keys import KeyRingError

    found: QrKeys | None = provider().keyring.qr
    if found is None:  # a KeyRing built by hand, without its QR keys
        raise KeyRingError("this key ring has no QR keys")
    return found
