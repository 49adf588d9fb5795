"""Merging duplicates across laptops (issue 17 §4), through the server in-process
(tests/sync/inprocess.py): a merge travels as ordinary changes, an offline edit of the merged-away
record lands on the survivor, children made offline follow, opposite merges end in a flagged conflict."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcessServer
from inprocess import server as server

from sfa.domain.entities import CONTACT, TASK
from sfa.services import dedupe
from sfa.store.replica import Replica
from sfa.store.workspace import Workspace
from sfa.sync import engine


class Lap:
    def __init__(self, server: InProcessServer, home: Path, name: str, role: str) -> None:
        self.ws = Workspace(home / name)
        self.ws.store.set_meta("x", "y")  # opened
        self.conn = server.login(self.ws, server.add_user(name, role, "north"))

    def sync(self) -> Any:
        return engine.sync_once(self.ws, conn=self.conn)

    def contact(self, record_id: str) -> dict[str, Any] | None:
        return self.ws.store.find(CONTACT, record_id)

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def laps(server: InProcessServer, tmp_path: Path) -> Iterator[dict[str, Lap]]:
    made = {
        "mia": Lap(server, tmp_path, "mia", "manager"),
        "max": Lap(server, tmp_path, "max", "manager"),
        "ana": Lap(server, tmp_path, "ana", "rep"),
    }
    yield made
    for lap in made.values():
        lap.close()


def _server_record(server: InProcessServer, record_id: str) -> dict[str, Any]:
    import json

    rows = server.query(f"SELECT fields, deleted, flagged FROM record WHERE id = '{record_id}'")
    fields, deleted, flagged = rows[0]
    return {
        "fields": {k: v[0] for k, v in json.loads(fields).items()},
        "deleted": bool(deleted),
        "flagged": bool(flagged),
    }


def _pair(lap: Lap) -> tuple[str, str]:
    store = lap.ws.store
    keep = store.insert(
        CONTACT, {"name": "Jane Doe", "email": "jane@acme.de", "owner": "ana", "team": "north"}
    )
    other = store.insert(
        CONTACT,
        {
            "name": "Doe, Jane",
            "email": "JANE@acme.de",
            "phone": "+49 30 1111",
            "owner": "ana",
            "team": "north",
        },
    )
    return keep["id"], other["id"]


def test_an_offline_edit_of_the_merged_away_record_lands_on_the_survivor(
    laps: dict[str, Lap], server: InProcessServer
) -> None:
    mia, ana = laps["mia"], laps["ana"]
    keep, other = _pair(mia)
    mia.sync(), ana.sync()
    # ana, offline: edits the record that is about to be merged away, and adds a task for it.
    ana.ws.store.update(CONTACT, other, {"title": "CTO", "phone": "+49 30 2222"})
    task = ana.ws.store.insert(
        TASK,
        {
            "title": "Call Jane",
            "contact_id": other,
            "status": "open",
            "priority": "normal",
            "owner": "ana",
            "team": "north",
        },
    )
    # mia merges them meanwhile (the survivor takes the other's phone: its own was empty).
    result = dedupe.merge(mia.ws, "contact", keep, other)
    assert result.taken == ["phone"]
    mia.sync()
    ana.sync()
    mia.sync()
    on_server = _server_record(server, keep)
    assert on_server["fields"]["title"] == "CTO"  # the edit of the merged-away record, not lost
    assert on_server["fields"]["phone"] == "+49 30 2222"  # based on the value the merge took: applied
    gone = _server_record(server, other)
    assert gone["deleted"] and gone["fields"]["merged_into"] == keep  # not revived by the late edit
    task_on_server = server.query(f"SELECT fields FROM record WHERE id = '{task['id']}'")[0][0]
    assert f'"contact_id":["{keep}"' in task_on_server.replace(" ", "")
    for lap in (mia, ana):
        survivor = lap.contact(keep)
        assert survivor is not None and survivor["title"] == "CTO" and survivor["phone"] == "+49 30 2222"
        merged_away = lap.contact(other)
        assert merged_away is not None and merged_away["deleted"] and merged_away["merged_into"] == keep
        assert lap.ws.store.get(TASK, task["id"])["contact_id"] == keep
    assert Replica(ana.ws.store).status()["conflicts"] == 0


def test_an_edit_the_survivor_also_had_is_a_conflict_not_a_loss(
    laps: dict[str, Lap], server: InProcessServer
) -> None:
    mia, ana = laps["mia"], laps["ana"]
    keep, other = _pair(mia)
    mia.sync(), ana.sync()
    ana.ws.store.update(CONTACT, other, {"name": "Jane A. Doe"})  # offline, on the merged-away one
    dedupe.merge(mia.ws, "contact", keep, other)  # the survivor keeps its own name
    mia.sync(), ana.sync(), mia.sync()
    conflicts = Replica(mia.ws.store).conflicts()
    assert [(c["record_id"], c["field"]) for c in conflicts] == [(keep, "name")]
    values = {conflicts[0]["kept"], conflicts[0]["lost"]}
    assert values == {"Jane Doe", "Jane A. Doe"}  # both values kept: one on the record, one in the conflict


def test_opposite_merges_end_in_a_flagged_conflict(laps: dict[str, Lap], server: InProcessServer) -> None:
    mia, max_ = laps["mia"], laps["max"]
    x, y = _pair(mia)
    task = mia.ws.store.insert(
        TASK,
        {
            "title": "Call",
            "contact_id": x,
            "status": "open",
            "priority": "normal",
            "owner": "ana",
            "team": "north",
        },
    )
    mia.sync(), max_.sync()
    dedupe.merge(mia.ws, "contact", x, y)  # mia keeps x
    dedupe.merge(max_.ws, "contact", y, x)  # max, offline, keeps y
    mia.sync(), max_.sync(), mia.sync(), max_.sync()
    x_server, y_server = _server_record(server, x), _server_record(server, y)
    assert not x_server["deleted"] and y_server["deleted"]  # not two deleted records
    assert y_server["fields"]["merged_into"] == x
    assert x_server["flagged"]
    for lap in (mia, max_):
        assert lap.contact(x)["deleted"] is False  # type: ignore[index]
        assert lap.contact(y)["deleted"] is True  # type: ignore[index]
        assert lap.ws.store.get(TASK, task["id"])["contact_id"] == x
        conflicts = Replica(lap.ws.store).conflicts()
        assert [(c["record_id"], c["field"], c["kind"]) for c in conflicts] == [(x, "merged_into", "flag")]


def test_fifty_people_captured_twice_scanned_and_merged(
    laps: dict[str, Lap], server: InProcessServer
) -> None:
    mia, max_, ana = laps["mia"], laps["max"], laps["ana"]
    people = [(f"Person {n:02d}", f"person{n:02d}@fair.example") for n in range(50)]
    for lap, spell in ((max_, lambda s: s), (ana, lambda s: s.upper().replace("PERSON", "Persson"))):
        for name, email in people:
            record = lap.ws.store.insert(
                CONTACT,
                {
                    "name": spell(name),
                    "email": spell(email) if lap is max_ else email.upper(),
                    "owner": "ana",
                    "team": "north",
                },
            )
            lap.ws.store.insert(
                TASK,
                {
                    "title": f"Follow up {name}",
                    "contact_id": record["id"],
                    "status": "open",
                    "priority": "normal",
                    "owner": "ana",
                    "team": "north",
                },
            )
    for lap in (max_, ana, mia):
        lap.sync()
    groups = dedupe.scan(mia.ws, ["contact"])
    assert len(groups) == 50 and all(g.reasons == ["email"] and len(g.records) == 2 for g in groups)
    for group in groups:
        (keep, _), (other, _) = group.records
        dedupe.merge(mia.ws, "contact", keep, other)
    for lap in (mia, max_, ana, mia, max_, ana):
        lap.sync()
    for lap in (mia, max_, ana):
        assert lap.ws.store.count(CONTACT) == 50
        tasks = lap.ws.store.select(TASK)
        assert len(tasks) == 100
        alive = {c["id"] for c in lap.ws.store.select(CONTACT)}
        assert {t["contact_id"] for t in tasks} == alive
        assert dedupe.scan(lap.ws, ["contact"]) == []
    assert server.query("SELECT count(*) FROM record WHERE entity = 'contact' AND deleted = 0")[0][0] == 50
