"""Every replica converges on a conflict's resolution (issue 18, item 5): a resolution is an ordinary
clocked write the server orders like any other, and every replica, the resolver included, ends at
the server's value. Two laptops settle the same conflict differently before either syncs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcessServer

from sfa.domain.entities import ENTITIES
from sfa.services import syncing
from sfa.store.workspace import Workspace
from sfa.sync import engine


@pytest.fixture
def inproc(tmp_path: Path) -> Iterator[InProcessServer]:
    (tmp_path / "server").mkdir()
    srv = InProcessServer(tmp_path / "server")
    yield srv
    srv.close()


class Laptop:
    def __init__(self, server: InProcessServer, home: Path, name: str) -> None:
        self.ws = Workspace(home / name)
        self.conn = server.login(self.ws, server.add_user(name, "rep", "north"))

    def sync(self) -> None:
        engine.sync_once(self.ws, conn=self.conn)

    def value(self, entity: str, record_id: str, field: str) -> Any:
        record = self.ws.store.find(ENTITIES[entity], record_id)
        assert record is not None
        return ENTITIES[entity].by_name[field].type.to_wire(record[field])

    def conflict_states(self) -> dict[str, tuple[str, str | None]]:
        return {
            c["id"]: (c["status"], c["resolution"])
            for c in syncing.conflict_records(self.ws, include_resolved=True)
        }


def server_value(server: InProcessServer, entity: str, record_id: str, field: str) -> Any:
    [(fields,)] = server.query(f"SELECT fields FROM record WHERE entity = '{entity}' AND id = '{record_id}'")
    return json.loads(fields)[field][0]


def server_conflicts(server: InProcessServer) -> dict[str, tuple[str, str | None]]:
    rows = server.query("SELECT id, fields FROM record WHERE entity = '_conflict'")
    return {r[0]: (json.loads(r[1])["status"][0], json.loads(r[1])["resolution"][0]) for r in rows}


CASES = [
    # (entity, field, ana's value, bob's value) — a last-writer-wins field and a flagged one
    ("contact", "phone", "+49 30 1111", "+49 30 2222"),
    ("opportunity", "amount", "1000", "2000"),
]


@pytest.mark.parametrize(("entity", "field", "ana_value", "bob_value"), CASES)
@pytest.mark.parametrize(
    ("ana_choice", "bob_choice"), [("ours", "theirs"), ("theirs", "ours"), ("value", "ours")]
)
def test_two_laptops_resolve_one_conflict_differently_and_all_three_agree(
    inproc: InProcessServer,
    tmp_path: Path,
    entity: str,
    field: str,
    ana_value: str,
    bob_value: str,
    ana_choice: str,
    bob_choice: str,
) -> None:
    ana, bob = Laptop(inproc, tmp_path, "ana"), Laptop(inproc, tmp_path, "bob")
    account = ana.ws.store.insert(ENTITIES["account"], {"name": "Acme", "owner": "ana", "team": "north"})[
        "id"
    ]
    if entity == "contact":
        values = {"name": "Jane Roe", "account_id": account, "phone": "+49 30 0000"}
    else:
        values = {
            "name": "Deal",
            "account_id": account,
            "stage": "initiation",
            "amount": "10",
            "currency": "EUR",
        }
    spec = ENTITIES[entity].by_name[field]
    record_id = ana.ws.store.insert(ENTITIES[entity], {**values, "owner": "ana", "team": "north"})["id"]
    ana.sync(), bob.sync()
    ana.ws.store.update(ENTITIES[entity], record_id, {field: spec.type.from_wire(ana_value)})
    time.sleep(0.002)
    bob.ws.store.update(ENTITIES[entity], record_id, {field: spec.type.from_wire(bob_value)})
    ana.sync(), bob.sync(), ana.sync()
    [conflict] = syncing.conflicts(ana.ws)
    assert [c["id"] for c in syncing.conflicts(bob.ws)] == [conflict["id"]]

    new = "+49 30 9999" if entity == "contact" else "9999"
    syncing.resolve(ana.ws, conflict["id"], ana_choice, new)  # both settle it before either syncs
    syncing.resolve(bob.ws, conflict["id"], bob_choice)
    ana.sync(), bob.sync(), ana.sync(), bob.sync()

    final = server_value(inproc, entity, record_id, field)
    assert ana.value(entity, record_id, field) == final
    assert bob.value(entity, record_id, field) == final
    assert ana.conflict_states() == bob.conflict_states() == server_conflicts(inproc)
    assert server_conflicts(inproc)[conflict["id"]][0] == "resolved"
    if ana_choice != "value":  # one of them wrote the set-aside value, the other kept: no new conflict
        assert final == conflict["lost"]
        assert len(server_conflicts(inproc)) == 1
    assert ana.ws.store.outbox(10) == [] and bob.ws.store.outbox(10) == []
    ana.ws.close(), bob.ws.close()


def test_resolved_differently_through_the_cli_all_agree(laptop: Any, server: Any) -> None:
    """The same through `sfa sync resolve` and `sfa sync` against the server process (both backends)."""
    ana, bob = laptop("ana"), laptop("bob")
    account = ana.ok("account", "add", "Acme", "-q").out.strip()
    contact = ana.ok("contact", "add", "Jane Roe", "--account", account, "-q").out.strip()
    ana.synced(), bob.synced()
    ana.ok("contact", "edit", contact, "--phone", "+49 30 2222")
    time.sleep(0.01)
    bob.ok("contact", "edit", contact, "--phone", "+49 30 3333")
    ana.synced(), bob.synced(), ana.synced()
    conflict = ana.ok("sync", "conflicts", "--json").json()[0]["id"]
    ana.ok("sync", "resolve", conflict, "--ours")
    bob.ok("sync", "resolve", conflict, "--theirs")
    ana.synced(), bob.synced(), ana.synced(), bob.synced()
    values = {lap.ok("contact", "show", contact, "--json").json()["phone"] for lap in (ana, bob)}
    [(fields,)] = server.query(f"SELECT fields FROM record WHERE id = '{contact}'")
    assert values == {json.loads(fields)["phone"][0]} == {"+49 30 2222"}
    states = [
        [(c["status"], c["resolution"]) for c in lap.ok("sync", "conflicts", "--all", "--json").json()]
        for lap in (ana, bob)
    ]
    assert states[0] == states[1] and states[0][0][0] == "resolved"
