"""``essc init``, ``demo``, ``serve`` and ``purge``: the instance's database, keys and servers."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from idp.cli.common import emit
from idp.cli.common import provider
from idp.demo.family import seed_family
from idp.demo.scan_app import seed_scan_app
from idp.demo.wallet import seed_wallet
from idp.metrics.registry import prepare_multiprocess_dir
from idp.settings import ConfigurationError
from idp.settings import Settings


@click.command()
def init() -> None:
    """Migrate the database and create the key ring (idempotent)."""
    from idp.store.migrate import upgrade
    from keys import WrongPassphrase

    p = provider()
    upgrade(p.db)
    try:
        ring = p.open_keyring(create=True)
        created = ring.ensure_notification_keys()
    except WrongPassphrase as exc:
        raise click.ClickException(str(exc)) from None
    emit(
        {
            "database": p.db.engine.url.render_as_string(hide_password=True),
            "keys": ring.signing.public_keys(),
            "notification_keys_created": created,
        }
    )


@click.command()
def demo() -> None:
    """Seed demo cardholders, the demo portal, wallet and merchant; print how to try them."""
    p = provider()
    with p.unit_of_work() as uow:
        seeded = p.demo_data.seed(uow)
    with p.unit_of_work() as uow:
        wallet = seed_wallet(p, uow)
    with p.unit_of_work() as uow:
        scan_app = seed_scan_app(p, uow)
    with p.unit_of_work() as uow:
        family = seed_family(p, uow)
    click.echo(seeded)
    click.echo(wallet)
    click.echo(scan_app)
    click.echo(family)


#: Request logs name the path only (idp.http.logs): the query carries login_hint, code, tokens.
GRANIAN_ACCESS_FORMAT = '%(addr)s - "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).3fms'
GUNICORN_ACCESS_FORMAT = '%(h)s - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'


def production_argv(bindir: Path, server: str, host: str, port: int, workers: int) -> list[str]:
    """The production server's command line: path-only access logs, and limits above the
    product's own (idp.http.edge) so the product answers 414 and 431 in its own JSON."""
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
        "idp.http.gunicorn_worker.JsonErrorWorker",
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


@click.command()
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
        p = provider()  # fail closed before forking workers
        # /metrics sums every worker's figures through files there (idp.metrics.registry).
        prepare_multiprocess_dir(p.settings.instance_dir, port)
        argv = production_argv(Path(sys.executable).parent, server, host, port, workers)
        os.execv(argv[0], argv)
    from idp.app import create_app
    from idp.http.devserver import DevRequestHandler

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


@click.command("purge")
def purge() -> None:
    """Delete expired replay-cache and deny-list entries, unknown-credential PIN lockouts that
    have passed and ended scan-to-sign-in requests, and end timed-out sign-in sessions, which
    queues their back-channel logout tokens (run from cron every minute)."""
    from idp.cardholders.service import purge_pin_attempts
    from idp.logout.expiry import end_timed_out_sessions
    from idp.scan_signin.service import purge_scan_requests
    from idp.store.expiring import SqlExpiringSet

    p = provider()
    purged = SqlExpiringSet(p.db, "", time.time).purge()
    with p.unit_of_work() as uow:
        lockouts = purge_pin_attempts(uow.session, p.now())
    sessions = 0
    while True:  # a batch per transaction, so a backlog never holds one long transaction
        with p.unit_of_work() as uow:
            ended = end_timed_out_sessions(uow.session, p.now())
        sessions += ended
        if ended == 0:
            break
    with p.unit_of_work() as uow:
        scans = purge_scan_requests(uow.session, p.now())
    emit(
        {
            "purged": purged,
            "pin_lockouts_purged": lockouts,
            "sessions_ended": sessions,
            "scan_requests_purged": scans,
        }
    )
