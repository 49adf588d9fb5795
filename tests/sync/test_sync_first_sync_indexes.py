"""A first sync of more than a page leaves the secondary indexes and the search index to the end
(sfa/store/deferred.py): afterwards the laptop has every index a fresh store has, finds the pulled
records by search and by duplicate key; an interrupted first sync still ends with them, and a
laptop killed in the middle gets them back when the store is next opened."""

from __future__ import annotations

from pathlib import Path

import pytest
from inprocess import InProcessServer
from inprocess import server as server

from sfa.domain.entities import ACCOUNT, CONTACT
from sfa.store import deferred, writes
from sfa.store.db import Store
from sfa.store.replica import Replica
from sfa.store.workspace import Workspace
from sfa.sync import engine

MINE = {"owner": "ana", "team": "north"}


def _indexes(store: Store) -> set[str]:
    return {
        r[0]
        for r in store.conn.execute("SELECT sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")
    }


def _seeded(server: InProcessServer, home: Path) -> str:
    """ana's records on the server, pushed from her first laptop; returns her token."""
    token = server.add_user("ana", "rep", "north")
    ws = Workspace(home / "first")
    conn = server.login(ws, token)
    accounts = ws.store.insert_many(ACCOUNT, [{"name": f"Firma {n:02d} GmbH", **MINE} for n in range(12)])
    ws.store.insert_many(
        CONTACT,
        [
            {
                "name": f"Person {n:02d} Zander",
                "email": f"p{n}@example.de",
                "phone": f"+49 30 {1000 + n}",
                "account_id": accounts[n % 12]["id"],
                **MINE,
            }
            for n in range(30)
        ],
    )
    engine.sync_once(ws, conn=conn)
    ws.close()
    return token


def test_a_first_sync_builds_the_indexes_at_the_end(
    server: InProcessServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _seeded(server, tmp_path)
    fresh = Store(tmp_path / "fresh.db")
    every_index = _indexes(fresh)
    fresh.close()
    monkeypatch.setenv("SFA_SYNC_PAGE", "7")  # 42 records: several pages
    ws = Workspace(tmp_path / "second")
    conn = server.login(ws, token)
    seen: list[bool] = []

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "pull":  # between pages: the indexes are still to be made
            seen.append(deferred.pending(ws.store.conn) is not None)

    summary = engine.sync_once(ws, progress, conn=conn)
    assert summary.pulled == 42
    assert seen and all(seen[:-1])
    store = ws.store
    assert _indexes(store) == every_index
    assert deferred.pending(store.conn) is None and writes.search_is_current(store.conn)
    assert len(store.search("zander", limit=100)) == 30
    assert [r["name"] for _, r in store.search("person 07")] == ["Person 07 Zander"]
    assert [r["name"] for r in store.select(CONTACT, "email_key = ?", ("p7@example.de",))] == [
        "Person 07 Zander"
    ]
    # A later edit keeps the index right (its entry was made by the end-of-sync rebuild).
    person = store.search("person 07")[0][1]
    store.update(CONTACT, person["id"], {"name": "Person 07 Yilmaz"})
    assert [r["id"] for _, r in store.search("yilmaz")] == [person["id"]]
    assert len(store.search("zander", limit=100)) == 29
    ws.close()


def test_an_interrupted_first_sync_still_ends_with_its_indexes(
    server: InProcessServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _seeded(server, tmp_path)
    monkeypatch.setenv("SFA_SYNC_PAGE", "7")
    ws = Workspace(tmp_path / "second")
    conn = server.login(ws, token)

    def stop(stage: str, done: int, total: int) -> None:
        if stage == "pull":
            raise KeyboardInterrupt  # Ctrl-C after the first page

    with pytest.raises(KeyboardInterrupt):
        engine.sync_once(ws, stop, conn=conn)
    store = ws.store
    assert deferred.pending(store.conn) is None and writes.search_is_current(store.conn)
    pulled = (
        store.conn.execute("SELECT count(*) FROM contact").fetchone()[0]
        + store.conn.execute("SELECT count(*) FROM account").fetchone()[0]
    )
    assert 0 < pulled < 42
    assert store.conn.execute(
        "SELECT count(*) FROM sqlite_schema WHERE name = 'contact_email_key'"
    ).fetchone()[0]
    # The next sync goes on from the cursor, with the indexes kept up as it goes.
    engine.sync_once(ws, conn=conn)
    assert len(store.search("zander", limit=100)) == 30
    ws.close()


def test_a_laptop_killed_in_a_first_sync_gets_its_indexes_back_on_open(tmp_path: Path) -> None:
    path = tmp_path / "sfa.db"
    store = Store(path)
    store.insert_many(CONTACT, [{"name": "Greta Quast", "email": "greta@example.de"}])
    every_index = _indexes(store)
    assert Replica(store).defer_indexes()
    assert "CREATE INDEX contact_email_key ON contact(email_key)" not in _indexes(store)
    store.close()  # as a killed process leaves the file: the marks are in it
    store = Store(path)
    assert _indexes(store) == every_index
    assert [r["name"] for _, r in store.search("quast")] == ["Greta Quast"]
    store.close()
