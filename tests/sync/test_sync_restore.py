"""Restore loses nothing a laptop still has (issue 18, item 7): after the server is restored from a
backup taken before three laptops' writes (creates, edits, deletes, conflicts and their resolutions),
every laptop resets, re-sends what the server lost, and the final state equals the one before the
restore, everywhere, conflict records and flagged records included. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcessServer, on_backend

from sfa.domain import ids
from sfa.domain.entities import ACCOUNT, CONTACT, OPPORTUNITY, TASK
from sfa.domain.hlc import Hlc
from sfa.protocol import CONFLICT
from sfa.server import admin
from sfa.services import records, syncing
from sfa.store.replica import Replica
from sfa.store.workspace import Workspace
from sfa.sync import engine


@pytest.fixture
def inproc(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[InProcessServer]:
    srv = on_backend(tmp_path / "server", backend, request)
    yield srv
    srv.close()


def server_state(server: InProcessServer) -> dict[tuple[str, str], dict[str, Any]]:
    rows = server.query("SELECT entity, id, fields FROM record WHERE entity <> '_conflict'")
    return {(r[0], r[1]): {k: v[0] for k, v in json.loads(r[2]).items()} for r in rows}


def server_conflicts(server: InProcessServer) -> dict[str, dict[str, Any]]:
    rows = server.query("SELECT id, fields FROM record WHERE entity = '_conflict'")
    return {r[0]: {k: v[0] for k, v in json.loads(r[1]).items()} for r in rows}


def server_flagged(server: InProcessServer) -> set[str]:
    return {r[0] for r in server.query("SELECT id, flagged FROM record WHERE entity <> '_conflict'") if r[1]}


def laptop_conflicts(ws: Workspace) -> dict[str, dict[str, Any]]:
    found = Replica(ws.store).conflicts(include_resolved=True)
    return {c["id"]: {k: v for k, v in c.items() if k != "id"} for c in found}


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


@pytest.mark.parametrize(
    ("new_epoch", "unsent"),
    [(False, False), (True, False), (False, True)],
    ids=["restore", "restore-and-new-epoch", "restore-with-unsent-writes"],
)
def test_restore_from_an_older_backup_loses_nothing_a_laptop_has(
    inproc: InProcessServer, tmp_path: Path, new_epoch: bool, unsent: bool, monkeypatch: pytest.MonkeyPatch
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
    ana.store.update(ACCOUNT, acme["id"], {"phone": "+49 30 1"})  # a conflict before the backup,
    bob.store.update(ACCOUNT, acme["id"], {"phone": "+49 30 2"})  # resolved after it
    sync(), sync()
    (before,) = laptop_conflicts(mia)
    assert len(server_conflicts(inproc)) == 1
    inproc.backup()

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
    # Conflicts after the backup: the one from before resolved, one on a record made after the backup
    # resolved, one flagged (opportunity amounts are flagged, not last-writer-wins) left open.
    syncing.resolve(mia, before, "theirs")
    ana.store.update(ACCOUNT, beta["id"], {"city": "Bremen"})
    bob.store.update(ACCOUNT, beta["id"], {"city": "Kiel"})
    ana.store.update(OPPORTUNITY, deal["id"], {"amount": "8000"})
    mia.store.update(OPPORTUNITY, deal["id"], {"amount": "9000"})
    sync("mia", "ana", "bob"), sync()
    on_beta = [c for c, v in laptop_conflicts(bob).items() if v["record_id"] == beta["id"]]
    syncing.resolve(bob, on_beta[0], "ours")
    sync(), sync()
    expected = comparable(server_state(inproc))
    assert len(expected) == 6 and all(comparable(laptop_state(ws)) == expected for ws in (ana, bob, mia))
    conflicts, flagged = server_conflicts(inproc), server_flagged(inproc)
    assert sorted(c["status"] for c in conflicts.values()) == ["open", "resolved", "resolved"]
    assert flagged == {deal["id"]}
    assert all(laptop_conflicts(ws) == conflicts for ws in (ana, bob, mia))

    if unsent:  # writes not yet pushed when the server is restored: an edit of a record the backup
        # lacks, and the resolution of a conflict the backup lacks; they reach the server after it
        # has the record and the conflict again, and nothing is refused
        ana.store.update(ACCOUNT, beta["id"], {"city": "Lübeck"})
        (flag,) = [c for c, v in conflicts.items() if v["status"] == "open"]
        syncing.resolve(bob, flag, "theirs")
        expected[("account", beta["id"])]["city"] = "Lübeck"
        conflicts[flag] = {**conflicts[flag], "status": "resolved", "resolution": "theirs"}
        flagged = set()
    inproc.restore()
    if new_epoch:
        admin.init(inproc.home, inproc.db, new_epoch=True)
    assert comparable(server_state(inproc)) != expected
    assert server_conflicts(inproc) != conflicts
    sync(), sync()
    assert comparable(server_state(inproc)) == expected
    assert server_conflicts(inproc) == conflicts  # lost conflicts re-created, the lost resolution re-sent
    assert server_flagged(inproc) == flagged
    for ws in (ana, bob, mia):
        got = comparable(laptop_state(ws))
        assert got == expected, [(k, got.get(k), v) for k, v in expected.items() if got.get(k) != v]
        assert laptop_conflicts(ws) == conflicts
        assert ws.store.outbox(10) == []
        assert syncing.rejected_records(ws) == []
    for ws, conn in laps.values():
        conn.close()
        ws.close()


def test_a_conflict_is_recreated_only_whole_and_only_on_a_record_the_user_may_write(
    inproc: InProcessServer, tmp_path: Path
) -> None:
    """What the server takes as a lost conflict re-sent by a laptop (docs/sync-protocol.md, "Restore")."""
    ana = Workspace(tmp_path / "ana")
    conn = inproc.login(ana, inproc.add_user("ana", "rep", "north"))
    sam = Workspace(tmp_path / "sam")
    sam_conn = inproc.login(sam, inproc.add_user("sam", "rep", "south"))
    acme = ana.store.insert(ACCOUNT, {"name": "Acme", **records.scope_defaults(ana)})
    south = sam.store.insert(ACCOUNT, {"name": "South Co", **records.scope_defaults(sam)})
    engine.sync_once(ana, conn=conn), engine.sync_once(sam, conn=sam_conn)
    clock = Hlc(int(time.time() * 1000), 0, "server").encode()
    whole = {
        "entity": "account",
        "record_id": acme["id"],
        "field": "city",
        "kind": "lww",
        "kept": "Kiel",
        "kept_clock": clock,
        "lost": "Ulm",
        "lost_clock": clock,
        "lost_by": "abc",
        "status": "open",
        "resolution": None,
        "at": "2026-11-29T08:00:00.000Z",
    }
    seq = iter(range(1, 100))

    def push(values: dict[str, Any]) -> dict[str, Any]:
        mutation = {
            "seq": next(seq),
            "entity": CONFLICT,
            "id": ids.uuid7(),
            "fields": {k: [v, clock] for k, v in values.items()},
        }
        reply = conn.request(
            "POST", "/v1/push", body={"protocol": 1, "client_id": "raw", "mutations": [mutation]}
        )
        result: dict[str, Any] = reply["results"][0]
        return result

    refused = {
        "resolution": {k: v for k, v in whole.items() if k != "resolution"},
        "entity": {**whole, "entity": "nothing"},
        "field": {**whole, "field": "no_such"},
        "kind": {**whole, "kind": "made-up"},
        "lost": {**whole, "lost": 123},
        "record_id": {**whole, "record_id": ids.uuid7()},  # not on the server
        "status": {**whole, "status": {"x": 1}},
        "scope": {**whole, "record_id": south["id"]},  # another team's record
        "kept_clock": {**whole, "kept_clock": "9:0:x"},
    }
    for name, values in refused.items():
        result = push(values)
        assert result["status"] == "rejected", (name, result)
        assert name in result["reason"], (name, result)
    assert server_conflicts(inproc) == {}
    assert push(whole)["status"] == "applied"
    (made,) = server_conflicts(inproc).values()
    assert made == whole
    # An opposite-merge conflict keeps "no merge" with no clock (sfa/server/merged.py).
    merge = {
        **whole,
        "field": "merged_into",
        "kind": "flag",
        "kept": None,
        "kept_clock": "",
        "lost": acme["id"],
    }
    assert push(merge)["status"] == "applied"
    assert len(server_conflicts(inproc)) == 2
    ana.close(), sam.close()
