"""COPY into the big tables with their secondary indexes and foreign keys set aside.

As ``pg_restore`` does: the primary keys stay (other tables' foreign keys need them), every
other index, unique constraint and foreign key of ``persons``, ``cards`` and ``ecards`` is
read from the catalogue (``pg_get_indexdef``, ``pg_get_constraintdef``), dropped, and made
again after the rows are in, by one sort each instead of ten million inserts. Everything runs
in one transaction: a failed load leaves the tables as they were.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from idp.scale.copy_rows import Row

TABLES = ("persons", "cards", "ecards")

_CONSTRAINTS = """
SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype
FROM pg_constraint c
WHERE c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('u', 'f')
ORDER BY c.contype DESC, c.conname
"""
_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i
WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1
"""


def set_aside(cur: psycopg.Cursor[tuple[object, ...]]) -> list[str]:
    """Drop the secondary indexes and constraints; return the statements that remake them
    (indexes, then unique constraints, then foreign keys, which need the unique ones)."""
    tables = list(TABLES)
    cur.execute(_CONSTRAINTS, (tables,))
    constraints = cur.fetchall()
    cur.execute(_INDEXES, (tables,))
    indexes = cur.fetchall()
    # Foreign keys first: a unique constraint may be what one of them references.
    for table, name, _, _kind in sorted(constraints, key=lambda r: r[3] != "f"):
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cur.execute(f"DROP INDEX {name}")
    remake = [str(definition) for _, definition in indexes]
    for kind in ("u", "f"):
        remake += [
            f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
            for table, name, definition, k in constraints
            if k == kind
        ]
    return remake


def copy(
    cur: psycopg.Cursor[tuple[object, ...]], table: str, columns: Sequence[str], rows: list[Row]
) -> None:
    """One ``COPY ... FROM STDIN`` (PostgreSQL's bulk load) of ``rows``."""
    names = ", ".join(columns)
    with cur.copy(f"COPY {table} ({names}) FROM STDIN") as stream:
        for row in rows:
            stream.write_row(row)


def sizes(cur: psycopg.Cursor[tuple[object, ...]]) -> dict[str, dict[str, int]]:
    """Bytes on disk of each big table: heap (with TOAST) and indexes."""
    out: dict[str, dict[str, int]] = {}
    for table in TABLES:
        cur.execute(
            "SELECT pg_table_size(%s::regclass), pg_indexes_size(%s::regclass)", (table, table)
        )
        row = cur.fetchone()
        assert row is not None
        out[table] = {"table_bytes": int(str(row[0])), "index_bytes": int(str(row[1]))}
    return out
