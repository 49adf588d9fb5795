"""Snapshot and compaction (issue 19; docs/sync-protocol.md, "Snapshot and compaction"): after the
log is compacted, a new laptop (snapshot, then the log) and a laptop that was away since before the
compaction point (409 compacted, a full re-pull, its unsent edit re-sent) end identical to a laptop
that synced all along. In-process app over SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from inprocess import URL, InProcessServer
from test_sync_restore import comparable, laptop_state

from sfa.domain import ids
from sfa.domain.entities import ACCOUNT, CONTACT, TASK
from sfa.server import admin
from sfa.services import records
from sfa.store.workspace import Workspace
from sfa.sync import engine


def head(srv: InProcessServer) -> int:
    return int(srv.query("SELECT value FROM counter WHERE name = 'seq'")[0][0])


def test_fresh_and_returning_laptops_after_compaction_equal_one_that_synced_all_along(
    inproc: InProcessServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SFA_SYNC_PAGE", "2")  # snapshot pages of two records (and whole seq groups)
    laps: dict[str, tuple[Workspace, engine.Connection]] = {}
    tokens: dict[str, str] = {}

    def join(name: str, role: str = "rep", team: str = "north", user: str | None = None) -> Workspace:
        ws = Workspace(tmp_path / name)
        token = tokens[user] if user else tokens.setdefault(name, inproc.add_user(name, role, team))
        laps[name] = (ws, inproc.login(ws, token))
        return ws

    def sync(*names: str) -> None:
        for name in names:
            ws, conn = laps[name]
            engine.sync_once(ws, conn=conn)

    ana, bob, mia, ben = join("ana"), join("bob"), join("mia", "manager"), join("ben")
    sam = join("sam", team="south")
    acme = ana.store.insert(ACCOUNT, {"name": "Acme", "city": "Berlin", **records.scope_defaults(ana)})
    jane = ana.store.insert(
        CONTACT, {"name": "Jane Roe", "account_id": acme["id"], **records.scope_defaults(ana)}
    )
    moved = ana.store.insert(ACCOUNT, {"name": "Moves South", **records.scope_defaults(ana)})
    task = bob.store.insert(
        TASK, {"title": "Call Acme", "priority": "normal", "status": "open", **records.scope_defaults(bob)}
    )
    sync("ana", "bob", "mia", "ben", "sam", "ana", "bob", "mia", "ben")
    for city in ("Hamburg", "Köln", "Leipzig"):  # a history longer than the live data
        ana.store.update(ACCOUNT, acme["id"], {"city": city})
        sync("ana")
    ben.store.update(ACCOUNT, acme["id"], {"phone": "+49 30 1234"})  # ben is away with an unsent edit
    mia.store.update(CONTACT, jane["id"], {"deleted": True})
    mia.store.update(ACCOUNT, moved["id"], {"team": "south"})
    bob.store.update(TASK, task["id"], {"priority": "high"})
    sam.store.insert(ACCOUNT, {"name": "Southern", **records.scope_defaults(sam)})
    sync("mia", "bob", "sam", "ana", "bob", "mia", "sam")

    logged = head(inproc)
    done = admin.compact(inproc.home, inproc.db, 0)
    assert done["floor"] == logged and done["deleted"] > 0
    assert inproc.query("SELECT count(*) FROM change")[0][0] == 0

    # After the compaction point: an edit of a record last written below it is logged whole.
    ana.store.update(ACCOUNT, acme["id"], {"city": "Dresden"})
    ana.store.insert(ACCOUNT, {"name": "After", **records.scope_defaults(ana)})
    sync("ana")
    first = inproc.query(f"SELECT fields FROM change WHERE id = '{acme['id']}' ORDER BY seq")[0][0]
    assert {"name", "city", "owner", "team"} <= set(json.loads(first))

    ana2 = join("ana-new-laptop", user="ana")  # a new laptop: its first sync starts from the snapshot
    zoe = join("zoe")  # a new user of the team, likewise
    sync("ana-new-laptop", "zoe", "ben", "ana", "bob", "mia", "ana-new-laptop", "zoe", "ben", "ana", "bob")
    assert comparable(laptop_state(ana2)) == comparable(laptop_state(ana))
    # ana still sees the record she owns in the south team; the rest of north does not.
    assert ("account", moved["id"]) in comparable(laptop_state(ana))
    north = comparable(laptop_state(bob))  # synced all along
    assert comparable(laptop_state(zoe)) == north
    assert comparable(laptop_state(ben)) == north  # reset, re-pulled, and its phone re-sent
    assert comparable(laptop_state(mia)) == north
    assert north[("account", acme["id"])]["phone"] == "+49 30 1234"
    assert north[("account", acme["id"])]["city"] == "Dresden"
    assert ("account", moved["id"]) not in north  # moved to another team: removed / never sent
    # The compaction again, with nothing older than the window: nothing to do.
    assert admin.compact(inproc.home, inproc.db, 30)["deleted"] == 0


def raw(inproc: InProcessServer, name: str, team: str = "north") -> httpx.Client:
    token = inproc.add_user(name, "rep", team)
    return httpx.Client(
        transport=inproc.transport, base_url=URL, headers={"authorization": f"Bearer {token}"}
    )


def test_snapshot_pages_keep_a_push_whole_and_a_stale_cursor_resets(inproc: InProcessServer) -> None:
    ana = raw(inproc, "ana")
    clock = "0001763000000000:00000:aaaa"
    batch = [
        {
            "seq": n,
            "entity": "account",
            "id": ids.uuid7(),
            "fields": {"name": [f"Firm {n}", clock], "owner": ["ana", clock], "team": ["north", clock]},
        }
        for n in range(1, 4)
    ]
    body: dict[str, Any] = {"protocol": 1, "client_id": "ana-1", "acked": 0, "mutations": batch}
    assert ana.post("/v1/push", json=body).status_code == 200
    old = ana.get("/v1/pull", params={"cursor": 0, "limit": 1, "client_id": "ana-1"}).json()
    assert old["cursor"] == 1  # a log page: one change
    body = {**body, "acked": 3, "mutations": [{**batch[0], "seq": 4, "fields": {"city": ["Ulm", clock]}}]}
    body["mutations"][0]["fields"]["city"][1] = "0001763000000001:00000:aaaa"
    assert ana.post("/v1/push", json=body).status_code == 200
    assert admin.compact(inproc.home, inproc.db, 0)["floor"] == 4
    # ana-1 was given cursor 1, below the floor, and is not in a snapshot: reset.
    stale = ana.get("/v1/pull", params={"cursor": 1, "limit": 1, "client_id": "ana-1"})
    assert stale.status_code == 409 and stale.json()["reset"] == "compacted"
    # A new client: the snapshot, one record a page but a push's records (one seq) together.
    pages = []
    cursor = 0
    while True:
        page = ana.get("/v1/pull", params={"cursor": cursor, "limit": 1, "client_id": "ana-2"}).json()
        pages.append(page)
        cursor = page["cursor"]
        if not page["more"]:
            break
    assert [len(p["changes"]) for p in pages] == [2, 1]  # seq 3: firms 2 and 3; seq 4: firm 1 edited
    assert [p["cursor"] for p in pages] == [3, 4]
    firm1 = pages[1]["changes"][0]["fields"]
    assert firm1["name"][0] == "Firm 1" and firm1["city"][0] == "Ulm"  # whole, as of now
    other = raw(inproc, "sam", "south")  # nothing in its scope: an empty snapshot
    empty = other.get("/v1/pull", params={"cursor": 0, "client_id": "sam-1"}).json()
    assert empty["changes"] == [] and empty["cursor"] == 4 and not empty["more"]
