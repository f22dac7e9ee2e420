"""What the audit tests share: writing records, tampering past the triggers, the CLI."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner
from sqlalchemy import text

from idp.cli import main
from idp.events.audit import record_event
from idp.events.chain import link
from idp.provider import Provider


def write_records(provider: Provider, count: int) -> None:
    """``count`` records, one transaction each, as requests write them."""
    for n in range(count):
        with provider.unit_of_work(request_id=f"req-{n}") as uow:
            record_event(uow.session, "test.recorded", at=provider.now() + n, client_id="c", n=n)


def tamper(provider: Provider, *statements: str, **params: Any) -> None:
    """Run SQL as someone who gets past the append-only triggers: a PostgreSQL superuser
    switching triggers off for the session, or a writer of the SQLite file dropping them."""
    with provider.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_checkpoints_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_checkpoints_no_delete"))
        for statement in statements:
            conn.execute(text(statement), params)


def row(provider: Provider, seq: int) -> dict[str, Any]:
    with provider.db.engine.connect() as conn:
        found = conn.execute(text("SELECT * FROM audit_events WHERE seq = :s"), {"s": seq})
        record = dict(found.mappings().one())
    if isinstance(record["detail"], str):  # SQLite's JSON is text to a raw query
        record["detail"] = json.loads(record["detail"])
    return record


def forged(provider: Provider, seq: int, after: int, **fields: Any) -> dict[str, Any]:
    """A record an attacker who knows the format makes: correctly chained after ``after``."""
    prev_hash = row(provider, after)["hash"] if after else "0" * 64
    record = dict(
        at=0, event="test.forged", actor=None, person_id=None, client_id="c", request_id=None
    )
    record.update(fields, detail=fields.get("detail", {}))
    digest = link(prev_hash, seq, record)
    return {**record, "seq": seq, "prev_hash": prev_hash, "hash": digest}


def insert(provider: Provider, values: dict[str, Any]) -> None:
    columns = ", ".join(values)
    placeholders = ", ".join(f":{name}" for name in values)
    tamper(
        provider,
        f"INSERT INTO audit_events ({columns}) VALUES ({placeholders})",  # noqa: S608 (our names)
        **{**values, "detail": json.dumps(values["detail"])},
    )


def essc(provider: Provider, *args: str) -> tuple[int, Any, str]:
    """Run ``essc`` against the provider's database: (exit code, JSON on stdout, stderr)."""
    env = {
        "ESSC_DATABASE_URL": provider.settings.database_url,
        "ESSC_INSTANCE_DIR": provider.settings.instance_dir,
        "ESSC_ISSUER": provider.settings.issuer,
        "ESSC_REDIS_URL": None,
        "ESSC_ENV": None,
        "ESSC_KEY_PASSPHRASE": None,
    }
    result = CliRunner().invoke(main, list(args), env=env)
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout) if result.stdout else None, result.stderr
