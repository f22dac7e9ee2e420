"""The ``essc`` command. Operators script it: names and flags are stable (docs/operations.md)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from idp.channels_cli import channels as channels_group
from idp.settings import ConfigurationError
from idp.settings import Settings


def _provider(create_keys: bool = False) -> Any:
    from idp.provider import Provider

    try:
        return Provider(Settings.from_env())
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None


def _emit(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, sort_keys=True))


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


@main.command()
def init() -> None:
    """Migrate the database and create the key ring (idempotent)."""
    from idp.migrate import upgrade
    from keys import WrongPassphrase

    p = _provider()
    upgrade(p.db)
    try:
        ring = p.open_keyring(create=True)
        created = ring.ensure_notification_keys()
    except WrongPassphrase as exc:
        raise click.ClickException(str(exc)) from None
    _emit(
        {
            "database": p.db.engine.url.render_as_string(hide_password=True),
            "keys": ring.signing.public_keys(),
            "notification_keys_created": created,
        }
    )


@main.command()
def demo() -> None:
    """Seed demo cardholders and the demo portal client; print how to try a sign-in."""
    from idp.demo_data import seed

    p = _provider()
    seeded = seed(p, Path(p.settings.instance_dir))
    click.echo(seeded)


#: Request logs name the path only (idp.web.logs): the query carries login_hint, code, tokens.
GRANIAN_ACCESS_FORMAT = '%(addr)s - "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).3fms'
GUNICORN_ACCESS_FORMAT = '%(h)s - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'


def production_argv(bindir: Path, server: str, host: str, port: int, workers: int) -> list[str]:
    """The production server's command line: path-only access logs, and limits above the
    product's own (idp.web.edge) so the product answers 414 and 431 in its own JSON."""
    if server == "granian":
        return [
            str(bindir / "granian"),
            "--interface",
            "wsgi",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--blocking-threads",
            "1",
            "--no-ws",
            "--access-log",
            "--access-log-fmt",
            GRANIAN_ACCESS_FORMAT,
            "idp.wsgi:app",
        ]
    return [
        str(bindir / "gunicorn"),
        "--workers",
        str(workers),
        "--bind",
        f"{host}:{port}",
        "--worker-class",
        "idp.web.gunicorn_worker.JsonErrorWorker",
        "--limit-request-line",
        "8190",  # Gunicorn's maximum; the product's limit is 8000 bytes of target
        "--limit-request-fields",
        "200",
        "--limit-request-field_size",
        "16384",
        "--access-logfile",
        "-",
        "--access-logformat",
        GUNICORN_ACCESS_FORMAT,
        "idp.wsgi:app",
    ]


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--production", is_flag=True, help="Run the production server with N workers.")
@click.option("--workers", default=2, show_default=True, type=int)
@click.option(
    "--server", type=click.Choice(["granian", "gunicorn"]), default="granian", show_default=True
)
def serve(host: str, port: int, production: bool, workers: int, server: str) -> None:
    """Serve the provider (development server, or --production)."""
    if production:
        os.environ["ESSC_ENV"] = "production"
        _provider()  # fail closed before forking workers
        argv = production_argv(Path(sys.executable).parent, server, host, port, workers)
        os.execv(argv[0], argv)
    from idp.app import create_app
    from idp.web.devserver import DevRequestHandler

    os.environ.setdefault("ESSC_ISSUER", f"http://{host}:{port}")
    settings = Settings.from_env()
    demo_enabled = (Path(settings.instance_dir) / "demo-client.json").exists()
    try:
        app = create_app(settings.with_overrides(demo=demo_enabled or settings.demo))
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"essc-idp on http://{host}:{port}  (issuer {settings.issuer})")
    if demo_enabled:
        click.echo(f"demo portal: {settings.issuer}/demo")
    handler = type("Handler", (DevRequestHandler,), {"issuer": settings.issuer})
    app.run(host=host, port=port, threaded=True, request_handler=handler)


@main.group()
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
@click.option(
    "--api-signature-scheme",
    help="The channel's native scheme: wechatpay-v3, alipay-v3, alipay-rsa2, unionpay-rsa.",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    metavar="[SERIAL=]FILE",
    help="A PEM public key or certificate of the channel, with its serial (repeatable).",
)
@click.option("--notification-url", help="Where status notifications are POSTed.")
def clients_add(**options: Any) -> None:
    """Register a client; prints one JSON object with client_id (and client_secret)."""
    from channels.api_keys import native_api
    from channels.registration import InvalidClientMetadata
    from channels.registration import validate_metadata
    from idp.clients import add_client

    p = _provider()
    keys = [_api_key(value) for value in options["api_keys"]]
    try:
        jwks = json.loads(Path(options["jwks_file"]).read_text()) if options["jwks_file"] else None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise click.ClickException("--jwks-file is not valid JSON") from None
    try:
        metadata = validate_metadata(
            name=options["name"],
            kind=options["kind"],
            grant_types=list(options["grant_types"]),
            auth_method=options["auth_method"],
            redirect_uris=list(options["redirect_uris"]),
            scopes=[options["scope"]],
            jwks=jwks,
            jwks_uri=options["jwks_uri"],
            sector_identifier=options["sector_identifier"],
            subject_type=options["subject_type"],
            id_token_alg=options["id_token_alg"],
            rotate_refresh_tokens=not options["no_refresh_rotation"],
            allow_http_loopback=not p.settings.production,
        )
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
        with p.db.transaction() as s:
            row, secret = add_client(s, metadata, p.secret_hash, now=p.now(), native=native)
    finally:
        p.db.dispose()  # no pooled connection outlives the command
    out = {
        "client_id": row.client_id,
        "kind": row.kind,
        "token_endpoint_auth_method": row.token_endpoint_auth_method,
        "grant_types": row.grant_types,
        "scope": " ".join(row.scopes),
        "redirect_uris": row.redirect_uris,
        **native.metadata(),
    }
    if secret:
        out["client_secret"] = secret
    _emit(out)


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


main.add_command(channels_group)


@main.group()
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
    from idp.cardholders import EnrolmentError
    from idp.cardholders import add_cardholder
    from idp.cardholders import describe
    from idp.cardholders import primary_card
    from idp.pin import WeakPin

    p = _provider()
    try:
        with p.db.transaction() as s:
            person = add_cardholder(
                s,
                p.keyring,
                p.pin_hasher,
                name=name,
                id_number=id_number,
                region_code=region_code,
                card_number=card_number,
                pin=pin,
                now=p.now(),
            )
            s.flush()
            out = describe(person, primary_card(s, person.id))
    except (EnrolmentError, WeakPin) as exc:
        raise click.ClickException(exc.reason) from None
    _emit(out)


@main.group()
def keys() -> None:
    """The signing key ring."""


@keys.command("list")
def keys_list() -> None:
    """Published signing keys with their state."""
    _emit(_provider().keyring.signing.public_keys())


@keys.command("rotate")
@click.option("--alg", default=None, help="One algorithm (default: every algorithm).")
def keys_rotate(alg: str | None) -> None:
    """Promote the pending key, retire the active one, publish a new pending key."""
    from keys import SIGNING_ALGS
    from keys import KeyRingError

    ring = _provider().keyring
    try:
        done = [ring.rotate(a) for a in ([alg] if alg else list(SIGNING_ALGS))]
    except KeyRingError as exc:
        raise click.ClickException(str(exc)) from None
    _emit([r.__dict__ for r in done])


@keys.command("export-jwks")
def keys_export_jwks() -> None:
    """The public JWK Set, as served at /jwks.json."""
    _emit(_provider().keyring.jwks())


@keys.command("notification-cert")
@click.option(
    "--scheme",
    required=True,
    type=click.Choice(["wechatpay-v3", "alipay-v3", "alipay-rsa2", "unionpay"]),
)
def keys_notification_cert(scheme: str) -> None:
    """The public key (and its serial) a channel registers to verify our notifications."""
    serial, pem = _provider().keyring.notification_public_pem(scheme)
    _emit({"scheme": scheme, "serial": serial, "public_key_pem": pem})


@main.command("purge")
def purge() -> None:
    """Delete expired replay-cache and deny-list entries, and unknown-credential PIN lockouts
    that have passed (run from cron)."""
    from idp.cardholders import purge_pin_attempts
    from idp.store.expiring import SqlExpiringSet

    p = _provider()
    purged = SqlExpiringSet(p.db, "", time.time).purge()
    with p.db.transaction() as s:
        lockouts = purge_pin_attempts(s, p.now())
    _emit({"purged": purged, "pin_lockouts_purged": lockouts})


@main.group()
def notifications() -> None:
    """Notifications to channels: the outbox deliverer and its state (docs/notifications.md)."""


@notifications.command("deliver")
@click.option("--once", is_flag=True, help="Deliver everything due now, then exit (cron).")
@click.option("--batch", default=50, show_default=True, type=click.IntRange(1, 1000))
def notifications_deliver(once: bool, batch: int) -> None:
    """Run the deliverer: one JSON line per pass that did something."""
    from contextlib import suppress

    from idp.notifications.transport import RequestsTransport
    from idp.notifications.wiring import build_deliverer

    p, transport = _provider(), RequestsTransport()
    deliverer = build_deliverer(p, transport=transport)
    try:
        if once:
            _emit(deliverer.drain(batch).__dict__)
            return
        with suppress(KeyboardInterrupt):
            deliverer.run_forever(batch=batch, on_pass=lambda report: _emit(report.__dict__))
    finally:
        transport.close()
        p.db.dispose()


@notifications.command("list")
@click.option("--state", type=click.Choice(["pending", "delivered", "parked"]))
@click.option("--client-id")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100_000))
def notifications_list(state: str | None, client_id: str | None, limit: int) -> None:
    """Outbox messages, oldest first, without their payloads."""
    from idp.notifications.claims import STATES
    from idp.notifications.claims import listing

    p = _provider()
    with p.db.read() as s:
        rows = listing(
            s,
            max_attempts=p.settings.notification_max_attempts,
            state=next((known for known in STATES if known == state), None),
            client_id=client_id,
            limit=limit,
        )
    p.db.dispose()
    _emit(list(rows))


@notifications.command("retry")
@click.argument("delivery_id")
def notifications_retry(delivery_id: str) -> None:
    """Give a parked message a fresh set of attempts, due now."""
    from idp.notifications.claims import requeue

    p = _provider()
    with p.db.transaction() as s:
        done = requeue(
            s, delivery_id, now=p.now(), max_attempts=p.settings.notification_max_attempts
        )
    p.db.dispose()
    if not done:
        raise click.ClickException("no parked notification has that delivery id")
    _emit({"delivery_id": delivery_id, "state": "pending"})


@main.group()
def cards() -> None:
    """Card lifecycle at the counter: suspend, resume, cancel, replace (docs/card-lifecycle.md)."""


_CARD_OPTIONS = (
    click.option("--card-number", required=True),
    click.option("--actor", required=True, help="Operator id, channel client_id, or system."),
    click.option("--factor", required=True, help="pin, face, counter, sms (or system)."),
)


def _card_change(action: str, card_number: str, actor: str, factor: str, **extra: Any) -> None:
    """One transaction: the change, its card event, audit event and channel notifications."""
    from idp import cards as lifecycle

    p = _provider()
    try:
        with p.db.transaction() as s:
            who = lifecycle.Actor(actor, factor)
            card = lifecycle.find_card(s, card_number)
            if action == "suspend":
                extra["seconds"] = p.settings.suspension_seconds
            change = getattr(lifecycle, action)(s, card, who, now=p.now(), **extra)
    except lifecycle.CardLifecycleError as exc:
        raise click.ClickException(exc.reason) from None
    finally:
        p.db.dispose()
    _emit(change.as_json())


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
    from idp.cards import lift_expired_suspensions

    p = _provider()
    try:
        with p.db.transaction() as s:
            changes = lift_expired_suspensions(s, p.now())
    finally:
        p.db.dispose()
    _emit({"lifted": [change.as_json() for change in changes]})
