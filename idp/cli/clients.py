"""``essc clients``: register OAuth clients (channels) by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from channels.signing.registry import ADAPTERS
from idp.cli.common import emit
from idp.cli.common import provider


@click.group()
def clients() -> None:
    """Register OAuth clients (channels)."""


@clients.command("add")
@click.option("--name", required=True)
@click.option("--kind", required=True)
@click.option("--grant-type", "grant_types", multiple=True, required=True)
@click.option("--auth-method", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--scope", default="openid", show_default=True)
@click.option("--jwks-file", type=click.Path(exists=True, dir_okay=False))
@click.option("--jwks-uri")
@click.option("--sector-identifier")
@click.option("--subject-type", type=click.Choice(["pairwise", "public"]), default="pairwise")
@click.option("--id-token-alg", default="ES256", show_default=True)
@click.option("--no-refresh-rotation", is_flag=True, help="Keep refresh tokens (FAPI 2.0 clients).")
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True)
@click.option("--backchannel-logout-uri", help="Where logout tokens are POSTed (OIDC BCL 1.0).")
@click.option(
    "--backchannel-logout-session-required", is_flag=True, help="Logout tokens must carry sid."
)
@click.option("--require-par", is_flag=True, help="Authorization requests only through /par.")
@click.option("--dpop-bound", is_flag=True, help="Every token request needs a DPoP proof.")
@click.option(
    "--id-token-encryption",
    "id_token_encryption",
    metavar="ALG/ENC",
    help="Encrypt ID tokens to the jwks' use=enc key: ECDH-ES+A256KW/A256GCM.",
)
@click.option("--tls-subject-dn", help="tls_client_auth: the certificate's subject DN (RFC 8705).")
@click.option(
    "--tls-bound", is_flag=True, help="Tokens bound to the client certificate (RFC 8705 3.4)."
)
@click.option(
    "--require-signed-request-object",
    is_flag=True,
    help="Authorization requests only as signed request objects (RFC 9101).",
)
@click.option(
    "--fapi2/--no-fapi2",
    default=None,
    help="The FAPI 2.0 Security Profile (docs/security-profile.md; "
    "default: on for unionpay, bank and merchant).",
)
@click.option(
    "--allow-token-exchange",
    is_flag=True,
    help="RFC 8693 token exchange: cardholders act for relatives (docs/family.md).",
)
@click.option(
    "--api-signature-scheme",
    help=f"The channel's native scheme: {', '.join(a.name for a in ADAPTERS)}.",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    metavar="[SERIAL=]FILE",
    help="A PEM public key or certificate of the channel, with its serial (repeatable).",
)
@click.option("--notification-url", help="Where status notifications are POSTed.")
@click.option(
    "--embed-origin",
    "embed_origins",
    multiple=True,
    metavar="ORIGIN",
    help="An https origin that may frame this client's sign-in pages (repeatable).",
)
def clients_add(**options: Any) -> None:
    """Register a client; prints one JSON object with client_id (and client_secret)."""
    from channels.api_keys import native_api
    from channels.client import TOKEN_EXCHANGE
    from channels.registration import InvalidClientMetadata
    from channels.registration import validate_metadata
    from idp.channel_admin.clients import add_client

    p = provider()
    keys = [_api_key(value) for value in options["api_keys"]]
    try:
        jwks = json.loads(Path(options["jwks_file"]).read_text()) if options["jwks_file"] else None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise click.ClickException("--jwks-file is not valid JSON") from None
    try:
        metadata = validate_metadata(
            name=options["name"],
            kind=options["kind"],
            grant_types=[
                *options["grant_types"],
                *([TOKEN_EXCHANGE] if options["allow_token_exchange"] else []),
            ],
            auth_method=options["auth_method"],
            redirect_uris=list(options["redirect_uris"]),
            scopes=[options["scope"]],
            jwks=jwks,
            jwks_uri=options["jwks_uri"],
            sector_identifier=options["sector_identifier"],
            subject_type=options["subject_type"],
            id_token_alg=options["id_token_alg"],
            rotate_refresh_tokens=not options["no_refresh_rotation"],
            require_par=options["require_par"],
            dpop_bound=options["dpop_bound"],
            security=_security(options),
            require_signed_request_object=options["require_signed_request_object"],
            fapi2=options["fapi2"],
            embed_origins=list(options["embed_origins"]),
            post_logout_redirect_uris=list(options["post_logout_redirect_uris"]),
            backchannel_logout_uri=options["backchannel_logout_uri"],
            backchannel_logout_session_required=options["backchannel_logout_session_required"],
            allow_http_loopback=not p.settings.production,
        )
        metadata = _profiled(metadata, options)
        native = native_api(
            options["api_signature_scheme"],
            keys,
            options["notification_url"],
            kind=metadata.kind,
            now=p.now(),
            allow_http_loopback=not p.settings.production,
        )
    except InvalidClientMetadata as exc:
        raise click.ClickException(f"{exc.error}: {exc.description}") from None
    try:
        with p.unit_of_work() as uow:
            row, secret = add_client(
                uow.session, metadata, p.secret_hash, now=p.now(), native=native
            )
    finally:
        p.db.dispose()  # no pooled connection outlives the command
    out = {
        "client_id": row.client_id,
        "kind": row.kind,
        "token_endpoint_auth_method": row.token_endpoint_auth_method,
        "grant_types": row.grant_types,
        "scope": " ".join(row.scopes),
        "redirect_uris": row.redirect_uris,
        "essc_fapi2_security_profile": row.fapi2_security_profile,
        "essc_embed_origins": row.embed_origins,
        **native.metadata(),
    }
    if secret:
        out["client_secret"] = secret
    emit(out)


def _profiled(metadata: Any, options: dict[str, Any]) -> Any:
    """``fapi2.profiled``; a refusal of the kind's default profile says it was the default."""
    from channels.registration import InvalidClientMetadata
    from idp.oauth import fapi2

    try:
        return fapi2.profiled(metadata)
    except InvalidClientMetadata as exc:
        if options["fapi2"] is None:
            hint = f" ({metadata.kind.value} channels default to FAPI 2.0; --no-fapi2 opts out)"
            raise InvalidClientMetadata(exc.error, exc.description + hint) from None
        raise


def _security(options: dict[str, Any]) -> Any:
    from channels.registration import SecurityOptions

    alg, _, enc = (options["id_token_encryption"] or "").partition("/")
    return SecurityOptions(
        id_token_encrypted_response_alg=alg or None,
        id_token_encrypted_response_enc=enc or None,
        tls_client_auth_subject_dn=options["tls_subject_dn"],
        tls_client_certificate_bound_access_tokens=options["tls_bound"],
    )


def _api_key(value: str) -> Any:
    """``[SERIAL=]FILE``: the file holds a PEM certificate or public key (``channels.api_keys``)."""
    from channels.api_keys import KeyInput

    serial, separator, path = value.partition("=")
    if not separator:
        serial, path = "", value
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise click.ClickException("--api-key: cannot read a PEM file at that path") from None
    if "-----BEGIN CERTIFICATE-----" in text:
        return KeyInput(serial or None, certificate=text)
    return KeyInput(serial or None, public_key=text)
