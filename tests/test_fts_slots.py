"""The search index's rowids moved from 16 to 64 slots per record (migration V_FTS_SLOTS): entries
written in the old layout are found, and open the right record, after the migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sfa.services import search
from sfa.store import migrations
from sfa.store.workspace import Workspace


def test_entries_of_the_16_slot_layout_are_found_after_the_migration(tmp_path: Path) -> None:
    """A file as it was before V_FTS_SLOTS (entries at rid * 16 + code), upgraded by opening it: the
    records are found and open the right record. (The index is contentless since
    V_CONTENTLESS_SEARCH, so the entries are made again from the rows on the way.)"""
    path = tmp_path / "sfa.db"
    number = migrations.MIGRATIONS.index(migrations.V_FTS_SLOTS)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for script in migrations.MIGRATIONS[:number]:
        migrations.execute_script(conn, script)
    conn.execute("INSERT INTO meta VALUES ('replica_id', '00112233aabbccdd')")
    names = [f"Filler {n:02d} GmbH" for n in range(40)] + ["Zebrawerk Rosenheim"]
    for rid, name in enumerate(names, 1):  # enough rids that rid * 16 and rid * 64 differ
        record_id = f"01a20000-0000-7000-8000-{rid:012d}"
        conn.execute(
            "INSERT INTO account(rid, id, handle, name, clocks, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, '{}', 'x', 'x')",
            (rid, record_id, record_id[-12:], name),
        )
        conn.execute("INSERT INTO search_fts(rowid, title, body) VALUES (?, ?, '')", (rid * 16 + 1, name))
    conn.execute(f"PRAGMA user_version = {number}")
    conn.execute("COMMIT")
    conn.close()

    ws = Workspace(tmp_path)
    hits = search.search(ws, "Zebrawerk")
    assert [(entity.name, record["id"]) for entity, record in hits] == [
        ("account", "01a20000-0000-7000-8000-000000000041")
    ]
    found = search.search(ws, "Filler", limit=100)
    assert sorted(r["name"] for _, r in found) == names[:40]
    ws.close()


def test_every_record_type_has_its_own_slot() -> None:
    from sfa.domain.entities import ENTITIES
    from sfa.store.writes import FTS_SLOTS

    codes = [entity.code for entity in ENTITIES.values()]
    assert len(set(codes)) == len(codes)
    assert all(0 < code < FTS_SLOTS for code in codes)
