"""A new store is made from the migration chain's stored end (sfa/store/fresh.py): the stored
schema is the chain's end now, and a file made in one step equals a file the chain made."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sfa.store import fresh, fresh_schema
from sfa.store.db import Store
from sfa.store.migrations import LATEST


def test_the_stored_schema_is_the_chains_end() -> None:
    statements, meta = fresh.build()
    assert fresh_schema.SCHEMA_VERSION == LATEST, "run python -m sfa.store.fresh --write"
    assert statements == fresh_schema.STATEMENTS, "run python -m sfa.store.fresh --write"
    assert meta == fresh_schema.META, "run python -m sfa.store.fresh --write"


def shape(path: Path) -> tuple[object, ...]:
    conn = sqlite3.connect(path)
    try:
        schema = sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
        meta = sorted(
            row
            for row in conn.execute("SELECT key, value FROM meta")
            if row[0] not in ("replica_id", "created_at", "schema_migrated_at")
        )
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        return schema, meta, version
    finally:
        conn.close()


def test_one_step_and_the_chain_make_the_same_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Store(tmp_path / "fresh.db").close()
    monkeypatch.setattr(fresh_schema, "SCHEMA_VERSION", LATEST - 1)  # as if not regenerated: the chain
    Store(tmp_path / "chain.db").close()
    one_step, chain = shape(tmp_path / "fresh.db"), shape(tmp_path / "chain.db")
    assert one_step == chain
    assert one_step[2] == LATEST
    store = Store(tmp_path / "fresh.db")  # and it opens as any store does, with its own replica id
    try:
        assert store.replica_id and store.meta("created_at")
    finally:
        store.close()
