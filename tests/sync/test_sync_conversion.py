"""One lead, one conversion (issue 18, item 6): converting a lead makes its account, contact and
opportunity with ids derived from the lead's id, so the same conversion on two laptops makes one
set; a conversion racing a different choice ends as a flagged conflict on the lead."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from inprocess import InProcessServer

from sfa.domain import ids
from sfa.domain.entities import ACCOUNT, LEAD
from sfa.services import leads, syncing
from sfa.store.workspace import Workspace
from sfa.sync import engine


@pytest.fixture
def inproc(tmp_path: Path) -> Iterator[InProcessServer]:
    (tmp_path / "server").mkdir()
    srv = InProcessServer(tmp_path / "server")
    yield srv
    srv.close()


def laptops(server: InProcessServer, home: Path) -> list[tuple[Workspace, engine.Connection]]:
    made = []
    for name in ("ana", "bob"):
        ws = Workspace(home / name)
        made.append((ws, server.login(ws, server.add_user(name, "rep", "north"))))
    return made


def sync_all(pairs: list[tuple[Workspace, engine.Connection]]) -> None:
    for _ in range(2):
        for ws, conn in pairs:
            engine.sync_once(ws, conn=conn)


def server_records(server: InProcessServer, entity: str) -> dict[str, dict[str, object]]:
    rows = server.query(f"SELECT id, fields FROM record WHERE entity = '{entity}' AND deleted = false")
    return {r[0]: {k: v[0] for k, v in json.loads(r[1]).items()} for r in rows}


def test_derived_ids_are_uuids_of_the_leads_time_and_differ_by_role() -> None:
    lead = ids.uuid7()
    made = {role: ids.derived_id(lead, role) for role in ("account", "contact", "opportunity")}
    assert len(set(made.values())) == 3
    for role, record_id in made.items():
        assert ids.parse_full_id(record_id) == record_id and record_id[14] == "7" and record_id[19] in "89ab"
        assert ids.timestamp_ms_of(record_id) == ids.timestamp_ms_of(lead)
        assert ids.derived_id(lead, role) == record_id  # the same on every laptop


def test_the_same_conversion_on_two_laptops_makes_one_set(inproc: InProcessServer, tmp_path: Path) -> None:
    pairs = laptops(inproc, tmp_path)
    (ana, _), (bob, _) = pairs
    lead = leads.add_lead(
        ana, {"name": "Lee Park", "company": "Parkworks GmbH", "email": "lee@parkworks.example"}
    )
    sync_all(pairs)
    for ws in (ana, bob):  # both convert offline, the same way
        leads.convert(ws, lead["id"], opportunity="Parkworks: new business", amount="12000")
    sync_all(pairs)
    for entity in ("account", "contact", "opportunity"):
        assert len(server_records(inproc, entity)) == 1, entity
    [opp] = server_records(inproc, "opportunity").values()
    assert opp["owner"] == "ana"  # the lead's owner, whoever converted it
    assert server_records(inproc, "lead")[lead["id"]]["status"] == "converted"
    assert [c for c in syncing.conflicts(ana) if c["entity"] != "timeline"] == []
    for ws in (ana, bob):
        assert len(ws.store.select(ACCOUNT)) == 1
        ws.close()


def test_a_conversion_racing_a_different_choice_is_flagged_on_the_lead(
    inproc: InProcessServer, tmp_path: Path
) -> None:
    pairs = laptops(inproc, tmp_path)
    (ana, _), (bob, _) = pairs
    other = ana.store.insert(ACCOUNT, {"name": "Holding AG", "owner": "ana", "team": "north"})
    lead = leads.add_lead(ana, {"name": "Lee Park", "company": "Parkworks GmbH"})
    sync_all(pairs)
    leads.convert(ana, lead["id"])  # a new account, derived from the lead
    leads.convert(bob, lead["id"], account_ref=other["id"])  # linked to another account
    sync_all(pairs)
    flagged = [c for c in syncing.conflicts(ana) if c["entity"] == "lead"]
    assert {c["field"] for c in flagged} == {"account_id"} and flagged[0]["kind"] == "flag"
    assert [c["id"] for c in syncing.conflicts(bob) if c["entity"] == "lead"] == [flagged[0]["id"]]
    assert len(server_records(inproc, "contact")) == 1  # one contact: its account is the other conflict
    assert ana.store.find(LEAD, lead["id"])["account_id"] == bob.store.find(LEAD, lead["id"])["account_id"]
    ana.close(), bob.close()
