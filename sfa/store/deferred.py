"""A first sync that leaves the secondary indexes and the search index to the end.

A new laptop's first sync writes every record it will hold. Kept up row by row, the eight indexes
of a contact table and the search index cost as much SQLite time as the rows themselves (the keys
arrive in random order, so each insert lands on another page) and leave their pages part-full.
Built once at the end (`CREATE INDEX` sorts; the search index is written in one pass from the
rows), they cost about a third and are packed (docs/store.md, "Size").

`defer` drops the secondary indexes of the record tables, keeping their definitions in meta
(`deferred.indexes`), and marks the search index as not current; `finish` creates them again and
rebuilds the search index. Both run inside the caller's transaction, so a sync interrupted in
between leaves the marks in the file, and the next open of the store finishes the work
(`Store._repair`). Reads meanwhile are right, only slower; unique indexes are never dropped (the
one on `id` is how the pull finds the rows it updates, and each keeps a constraint).
"""

from __future__ import annotations

import json
import sqlite3

from sfa.domain.entities import ENTITIES
from sfa.store import writes

_KEY = "deferred.indexes"


def defer(conn: sqlite3.Connection) -> None:
    """Drop the record tables' secondary indexes (definitions kept) and leave the search index."""
    tables = sorted({entity.table for entity in ENTITIES.values()})
    marks = ", ".join("?" * len(tables))
    found = conn.execute(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"
        f" AND sql NOT LIKE 'CREATE UNIQUE%' AND tbl_name IN ({marks})",
        tables,
    ).fetchall()
    kept = json.loads(pending(conn) or "[]")
    for name, sql in found:
        conn.execute(f'DROP INDEX "{name}"')
        kept.append(sql)
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (_KEY, json.dumps(kept)))
    writes.leave_search_to_the_end(conn)


def pending(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_KEY,)).fetchone()
    return None if row is None else str(row[0])


def needed(conn: sqlite3.Connection) -> bool:
    """Whether indexes or search entries are still to be made (a first sync or an upgrade left them)."""
    return pending(conn) is not None or not writes.search_is_current(conn)


def finish(conn: sqlite3.Connection) -> None:
    """Create the dropped indexes again and rebuild the search index from the rows. After a first
    sync (indexes were dropped), the unique indexes kept up meanwhile are rebuilt too: pages
    split as rows came left them about 88 % full; rebuilt by one sort they are full (the `id`
    index of 100,000 contacts: 45 bytes a contact instead of 51.5, in about 0.1 s)."""
    dropped = json.loads(pending(conn) or "[]")
    for sql in dropped:
        conn.execute(
            sql.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1).replace(
                "IF NOT EXISTS IF NOT EXISTS ", "IF NOT EXISTS "
            )
        )
    if dropped:
        tables = sorted({entity.table for entity in ENTITIES.values()})
        marks = ", ".join("?" * len(tables))
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'sqlite_autoindex_%'"
            f" AND tbl_name IN ({marks})",
            tables,
        ).fetchall():
            conn.execute(f'REINDEX "{name}"')
    conn.execute("DELETE FROM meta WHERE key = ?", (_KEY,))
    writes.rebuild_search(conn)
