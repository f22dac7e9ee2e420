"""``python -m bench.scale_explain --database-url URL --channels-file FILE``: the plans of the
hot queries on a loaded scale database (``essc scale load``), and any sequential scan.

Runs, in-process through the app (Flask's test client, the real PostgreSQL), one sign-in by card
number and one by ID number, the code round trip, one e-card issuance and one e-card status
read for generated cardholders, records every SQL statement with its parameters, and asks
PostgreSQL for the plan of each (``EXPLAIN``, not executed again). Prints each distinct
statement's plan nodes; exits 1 when one scans a table of more than ``SMALL_TABLE_ROWS`` rows
sequentially. Needs the
``ESSC_KEY_PASSPHRASE`` the database was loaded with. Writes a client row (a portal) and the
rows the flows write, as any use of the database would.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench import scale_clients as clients
from idp.app import create_app
from idp.provider import Provider
from idp.settings import Settings
from tests.support import approve
from tests.support import authorize_params
from tests.support import basic
from tests.support import exchange
from tests.support import pkce_pair
from tests.support import query_of
from tests.support import register
from tests.support import sign_in


def _flows(p: Provider, channel: dict[str, str], size: int) -> None:
    web = create_app(p.settings, provider=p).test_client()
    portal = register(p, kind="portal")
    a, b, c = clients.People(size, 1).draw(3, "explain")
    for person, credential in ((a, a.card_number), (b, b.id_number)):
        verifier, challenge = pkce_pair()
        first = web.get("/authorize", query_string=authorize_params(portal, challenge))
        signed = sign_in(web, first.headers["Location"], credential, person.pin)
        code = query_of(approve(web, signed.headers["Location"]).headers["Location"])["code"]
        assert exchange(web, portal, code, verifier).status_code == 200
        # The returning, consented browser: GET /authorize answers with a code at once.
        again = web.get("/authorize", query_string=authorize_params(portal, challenge))
        code = query_of(again.headers["Location"])["code"]
        assert exchange(web, portal, code, verifier).status_code == 200
        web.delete_cookie("essc_session")
    token = web.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "essc.ecard"},
        headers=basic(channel["client_id"], channel["client_secret"]),
    ).get_json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    body = {
        "name": c.name,
        "id_number": c.id_number,
        "region_code": c.region_code,
        "channel_subject": "explain",
        "evidence": {"real_name_level": 3, "face_verified_at": int(time.time())},
        "level": 1,
        "idempotency_key": f"explain-{time.time_ns()}",
    }
    issued = web.post("/api/v1/ecards", json=body, headers=bearer)
    assert issued.status_code == 201, issued.get_data(as_text=True)
    status = web.get(f"/api/v1/ecards/{issued.get_json()['sign_no']}", headers=bearer)
    assert status.status_code == 200


def _nodes(plan: dict[str, Any]) -> list[str]:
    here = plan["Node Type"] + (f" on {plan['Relation Name']}" if "Relation Name" in plan else "")
    here += f" using {plan['Index Name']}" if "Index Name" in plan else ""
    return [here, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


#: A sequential scan of a table this small (the key ring's, read once per process) costs less
#: than an index would; above it, a scan grows with the data.
SMALL_TABLE_ROWS = 1000


def _large(cursor: Any, node: str) -> bool:
    cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", (node.split()[-1],))
    row = cursor.fetchone()
    return row is None or row[0] > SMALL_TABLE_ROWS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_explain")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--channels-file", type=Path, required=True)
    parser.add_argument("--cardholders", type=int, required=True, help="the size it was loaded")
    args = parser.parse_args(argv)
    settings = Settings.from_env().with_overrides(database_url=args.database_url, redis_url="")
    p = Provider(settings)
    seen: dict[str, Any] = {}

    @event.listens_for(p.db.engine, "before_cursor_execute")
    def record(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if statement.split(None, 1)[0].upper() in ("SELECT", "UPDATE", "INSERT", "DELETE", "WITH"):
            # An executemany (several audit records at once) is planned with its first row.
            seen.setdefault(statement, parameters[0] if many and parameters else parameters)

    channel = json.loads(args.channels_file.read_text())["channels"][0]
    _flows(p, channel, args.cardholders)
    event.remove(p.db.engine, "before_cursor_execute", record)
    scans = 0
    raw = p.db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in seen.items():
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            nodes = _nodes(cursor.fetchone()[0][0]["Plan"])
            sequential = [n for n in nodes if n.startswith("Seq Scan") and _large(cursor, n)]
            scans += len(sequential)
            mark = "SEQ SCAN " if sequential else ""
            print(f"{mark}{' '.join(statement.split())[:160]}\n    {' / '.join(nodes)}")
        raw.rollback()
    finally:
        raw.close()
        p.db.dispose()
    print(f"{len(seen)} statements, {scans} sequential scans")
    return 1 if scans else 0


if __name__ == "__main__":
    sys.exit(main())
