"""``essc scale load``: make a PostgreSQL database of N synthetic cardholders.

Steps, as ``essc init`` and an operator would, then the bulk part: create the database, run the
migrations, create the key ring, register one channel of each e-card kind (their secrets go to
a file the benchmark reads), hash the two PINs once, and COPY the rows in chunks
(``idp.scale.bulk``), printing progress.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import psycopg
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

from channels.kinds import ECARD_SCOPE
from channels.registration import validate_metadata
from idp.channel_admin.clients import add_client
from idp.scale import bulk
from idp.scale.copy_rows import CARD_COLUMNS
from idp.scale.copy_rows import ECARD_COLUMNS
from idp.scale.copy_rows import PERSON_COLUMNS
from idp.scale.copy_rows import DataSet
from idp.scale.copy_rows import chunk
from idp.scale.people import CAPACITY
from idp.scale.people import PINS
from idp.scale.people import check_pins
from idp.store.migrate import upgrade

if TYPE_CHECKING:
    from idp.provider import Provider

#: One channel of each kind that issues e-cards; e-card i belongs to channel i mod 5.
CHANNEL_KINDS = ("wechat", "alipay", "unionpay", "bank", "app")


class LoadError(RuntimeError):
    """The database cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class Plan:
    cardholders: int
    seed: int
    chunk_size: int
    epoch: int


def create_database(url: str, *, replace: bool) -> None:
    """``CREATE DATABASE`` for the URL's database name, through the server's ``postgres``
    database; an existing one is refused unless ``replace``."""
    target = make_url(url)
    if target.get_backend_name() != "postgresql" or not target.database:
        raise LoadError("the scale data set needs a postgresql+psycopg:// URL with a database")
    name = target.database
    if not name.replace("_", "").isalnum():
        raise LoadError("database name: letters, digits and underscores only")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if exists and not replace:
                raise LoadError(f"database {name} exists (--replace drops it first)")
            if exists:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def prepare(p: Provider, channels_file: Path) -> tuple[str, ...]:
    """Migrate, key, register the channels; write their credentials to ``channels_file``
    (mode 0600: they are client secrets)."""
    upgrade(p.db)
    ring = p.open_keyring(create=True)
    ring.ensure_notification_keys()
    credentials: list[dict[str, str]] = []
    with p.db.transaction() as s:
        for kind in CHANNEL_KINDS:
            metadata = validate_metadata(
                name=f"scale {kind}",
                kind=kind,
                grant_types=["client_credentials"],
                auth_method="client_secret_basic",
                redirect_uris=[],
                scopes=[ECARD_SCOPE],
                fapi2=False,  # the load measures the e-card API, not FAPI 2.0's checks
            )
            row, secret = add_client(s, metadata, p.secret_hash, now=p.now())
            assert secret is not None
            credentials.append({"kind": kind, "client_id": row.client_id, "client_secret": secret})
    channels_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(channels_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"channels": credentials}, out, indent=2)
    return tuple(c["client_id"] for c in credentials)


def load(
    p: Provider, plan: Plan, channels: tuple[str, ...], progress: Callable[[str], None]
) -> dict[str, Any]:
    """COPY ``plan.cardholders`` people, cards and e-cards in one transaction; the summary."""
    if not 0 < plan.cardholders <= CAPACITY:
        raise LoadError(f"--cardholders must be 1 to {CAPACITY}")
    check_pins()
    hasher = p.pin_hasher
    data = DataSet(
        seed=plan.seed,
        epoch=plan.epoch,
        channels=channels,
        pin_hashes={pin: hasher.hash(pin) for pin in PINS},
        encrypt_field=p.keyring.encrypt_field,
        id_number_index=lambda id_no: p.keyring.keyed_hash("id-number-index", id_no),
    )
    dsn = make_url(p.settings.database_url).set(drivername="postgresql")
    began = time.monotonic()
    with psycopg.connect(dsn.render_as_string(hide_password=False)) as conn, conn.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '512MB'")
        remake = bulk.set_aside(cur)
        copied = _copy_all(cur, data, plan, progress, began)
        progress(f"rows in after {time.monotonic() - began:.0f} s; building indexes")
        indexed_at = time.monotonic()
        for statement in remake:
            cur.execute(statement.encode())  # from the catalogue, not from input
        cur.execute("ANALYZE persons, cards, ecards")
        index_seconds = time.monotonic() - indexed_at
        conn.commit()
        sizes = bulk.sizes(cur)
    seconds = time.monotonic() - began
    total = sum(t["table_bytes"] + t["index_bytes"] for t in sizes.values())
    return {
        "cardholders": plan.cardholders,
        "rows": copied,
        "seed": plan.seed,
        "seconds": round(seconds, 1),
        "index_seconds": round(index_seconds, 1),
        "rows_per_second": round(copied / seconds),
        "bytes": sizes,
        "bytes_per_cardholder": round(total / plan.cardholders),
    }


def _copy_all(
    cur: psycopg.Cursor[tuple[object, ...]],
    data: DataSet,
    plan: Plan,
    progress: Callable[[str], None],
    began: float,
) -> int:
    copied = 0
    for start in range(0, plan.cardholders, plan.chunk_size):
        rows = chunk(data, start, min(start + plan.chunk_size, plan.cardholders))
        bulk.copy(cur, "persons", PERSON_COLUMNS, rows.persons)
        bulk.copy(cur, "cards", CARD_COLUMNS, rows.cards)
        bulk.copy(cur, "ecards", ECARD_COLUMNS, rows.ecards)
        copied += len(rows.persons) * 3
        done = start + len(rows.persons)
        rate = done / max(time.monotonic() - began, 1e-9)
        left = (plan.cardholders - done) / rate
        progress(
            f"{done:,}/{plan.cardholders:,} cardholders ({rate:,.0f}/s, ~{left:.0f} s of COPY left)"
        )
    return copied
