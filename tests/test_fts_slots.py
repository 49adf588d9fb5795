"""The search index's rowids moved from 16 to 64 slots per record (migration V_FTS_SLOTS): entries
written in the old layout are found, and open the right record, after the migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sfa.services import crm, search
from sfa.store import migrations
from sfa.store.workspace import Workspace


def test_entries_of_the_16_slot_layout_are_found_after_the_migration(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    for n in range(40):  # enough rids that rid * 16 and rid * 64 differ for most of them
        crm.add_account(ws, {"name": f"Filler {n:02d} GmbH"})
    wanted = crm.add_account(ws, {"name": "Zebrawerk Rosenheim"})
    path = ws.db_path
    ws.close()

    conn = sqlite3.connect(path)
    with conn:  # back to the layout before the migration: rowid = rid * 16 + code
        conn.execute("CREATE TEMP TABLE back AS SELECT rowid AS r, title, body FROM search_fts")
        conn.execute("DELETE FROM search_fts")
        conn.execute(
            "INSERT INTO search_fts(rowid, title, body) SELECT (r / 64) * 16 + r % 64, title, body FROM back"
        )
    with conn:
        conn.executescript(migrations.V_FTS_SLOTS)  # what the migration runs, on that layout
    conn.close()

    ws = Workspace(tmp_path)
    hits = search.search(ws, "Zebrawerk")
    assert [(entity.name, record["id"]) for entity, record in hits] == [("account", wanted["id"])]
    found = search.search(ws, "Filler", limit=100)
    assert sorted(r["name"] for _, r in found) == [f"Filler {n:02d} GmbH" for n in range(40)]
    ws.close()


def test_every_record_type_has_its_own_slot() -> None:
    from sfa.domain.entities import ENTITIES
    from sfa.store.writes import FTS_SLOTS

    codes = [entity.code for entity in ENTITIES.values()]
    assert len(set(codes)) == len(codes)
    assert all(0 < code < FTS_SLOTS for code in codes)
