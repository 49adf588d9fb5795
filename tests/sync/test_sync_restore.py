"""Restore loses nothing a laptop still has (issue 18, item 7): after the server is restored from a
backup taken before three laptops' writes (creates, edits, deletes), every laptop resets, re-sends
what the server lost, and the final state equals the one before the restore, everywhere."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcessServer

from sfa.domain.entities import ACCOUNT, CONTACT, OPPORTUNITY, TASK
from sfa.server import admin
from sfa.services import records
from sfa.store.workspace import Workspace
from sfa.sync import engine


@pytest.fixture
def inproc(tmp_path: Path) -> Iterator[InProcessServer]:
    (tmp_path / "server").mkdir()
    srv = InProcessServer(tmp_path / "server")
    yield srv
    srv.close()


def copy_db(source: Path, target: Path) -> None:
    """A whole-database copy through SQLite's backup API (safe while the server holds connections)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def server_state(server: InProcessServer) -> dict[tuple[str, str], dict[str, Any]]:
    rows = server.query("SELECT entity, id, fields FROM record WHERE entity <> '_conflict'")
    return {(r[0], r[1]): {k: v[0] for k, v in json.loads(r[2]).items()} for r in rows}


def laptop_state(ws: Workspace) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for entity in (ACCOUNT, CONTACT, OPPORTUNITY, TASK):
        for record in ws.store.select(entity, include_deleted=True):
            clocks = ws.store.find(entity, record["id"])
            assert clocks is not None
            found[(entity.name, record["id"])] = {
                name: entity.by_name[name].type.to_wire(record[name])
                for name in entity.field_names
                if record.get(name) is not None or name in ("deleted",)
            }
    return found


def comparable(state: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Field values without empties: the server holds only written fields, a laptop every column."""
    return {
        key: {k: v for k, v in fields.items() if v not in (None, [], False)}
        for key, fields in state.items()
        if key[0] in ("account", "contact", "opportunity", "task")
    }


@pytest.mark.parametrize("new_epoch", [False, True], ids=["restore", "restore-and-new-epoch"])
def test_restore_from_an_older_backup_loses_nothing_a_laptop_has(
    inproc: InProcessServer, tmp_path: Path, new_epoch: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if new_epoch:
        monkeypatch.setenv("SFA_SYNC_PAGE", "2")  # many pages: the next one is fetched while one applies
    people = {"ana": "rep", "bob": "rep", "mia": "manager"}
    laps: dict[str, tuple[Workspace, engine.Connection]] = {}
    for name, role in people.items():
        ws = Workspace(tmp_path / name)
        laps[name] = (ws, inproc.login(ws, inproc.add_user(name, role, "north")))
    ana, bob, mia = (laps[n][0] for n in people)

    def sync(*names: str) -> None:
        for name in names or tuple(people):
            ws, conn = laps[name]
            engine.sync_once(ws, conn=conn)

    acme = ana.store.insert(ACCOUNT, {"name": "Acme", "city": "Berlin", **records.scope_defaults(ana)})
    jane = ana.store.insert(
        CONTACT, {"name": "Jane Roe", "account_id": acme["id"], **records.scope_defaults(ana)}
    )
    old_task = bob.store.insert(
        TASK, {"title": "Call Acme", "priority": "normal", "status": "open", **records.scope_defaults(bob)}
    )
    sync(), sync()
    db = inproc.home / "server.db"
    copy_db(db, inproc.home / "backup.db")

    # After the backup, each laptop writes and syncs (every write acknowledged by the server).
    beta = ana.store.insert(ACCOUNT, {"name": "Beta", "city": "Hamburg", **records.scope_defaults(ana)})
    deal = ana.store.insert(
        OPPORTUNITY,
        {
            "name": "Beta deal",
            "account_id": beta["id"],
            "stage": "initiation",
            "amount": "5000",
            "currency": "EUR",
            **records.scope_defaults(ana),
        },
    )
    sync("ana")
    bob.store.update(ACCOUNT, acme["id"], {"city": "Munich"})  # an edit of an old record
    bob.store.insert(
        TASK, {"title": "Visit Beta", "priority": "high", "status": "open", **records.scope_defaults(bob)}
    )
    sync("bob")
    mia.store.update(CONTACT, jane["id"], {"deleted": True})  # a delete
    mia.store.update(TASK, old_task["id"], {"priority": "high"})
    sync("mia")
    sync("ana", "bob")
    ana.store.update(OPPORTUNITY, deal["id"], {"amount": "7500"})  # an edit of a record made after
    sync("ana"), sync()
    expected = comparable(server_state(inproc))
    assert len(expected) == 6 and all(comparable(laptop_state(ws)) == expected for ws in (ana, bob, mia))

    copy_db(inproc.home / "backup.db", db)  # the admin restores the older backup
    if new_epoch:
        admin.init(inproc.home, inproc.db, new_epoch=True)
    assert comparable(server_state(inproc)) != expected
    sync(), sync()
    assert comparable(server_state(inproc)) == expected
    for ws in (ana, bob, mia):
        got = comparable(laptop_state(ws))
        assert got == expected, [(k, got.get(k), v) for k, v in expected.items() if got.get(k) != v]
        assert ws.store.outbox(10) == []
    for ws, conn in laps.values():
        conn.close()
        ws.close()
