"""Who may adjust a forecast (issue 16, docs/prediction.md), through the real server app: a rep only
their own; a team's only that team's manager or an admin; nobody in another's name — whatever the
client sends. The store's own pattern: tests/sync/test_sync_commission.py."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from inprocess import URL, InProcessServer

from sfa.domain import ids
from sfa.domain.hlc import Hlc
from sfa.protocol import PROTOCOL
from sfa.server.merge import now_ms


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    home = tmp_path / "server"
    home.mkdir()
    srv = InProcessServer(home)
    yield srv
    srv.close()


class Pusher:
    """One user pushing a hand-made mutation, as any client could."""

    def __init__(self, server: InProcessServer, name: str, role: str, team: str | None) -> None:
        self.server = server
        self.token = server.add_user(name, role, team)
        self.client_id = ids.uuid7()
        self.seq = itertools.count(1)
        self.replica = f"{abs(hash(name)) % 16**16:016x}"
        self.tick = itertools.count()

    def push(self, record_id: str, values: dict[str, Any]) -> dict[str, Any]:
        fields = {
            name: [value, Hlc(now_ms(), next(self.tick), self.replica).encode()]
            for name, value in values.items()
        }
        mutation = {"seq": next(self.seq), "entity": "forecast_adjustment", "id": record_id, "fields": fields}
        body = {"protocol": PROTOCOL, "client_id": self.client_id, "acked": 0, "mutations": [mutation]}
        with httpx.Client(transport=self.server.transport, base_url=URL) as http:
            reply = http.post("/v1/push", json=body, headers={"authorization": f"Bearer {self.token}"})
        assert reply.status_code == 200, reply.text
        [result] = reply.json()["results"]
        return dict(result)


def _adjustment(by: str, kind: str, subject: str, team: str | None) -> dict[str, Any]:
    return {
        "period": "2026-Q4",
        "subject_kind": kind,
        "subject": subject,
        "category": "commit",
        "amount": "500000.00",
        "currency": "EUR",
        "at": "2026-11-02T09:00:00.000Z",
        "owner": by,
        "team": team,
    }


def _stored(server: InProcessServer, record_id: str) -> bool:
    return bool(server.query(f"SELECT fields FROM record WHERE id = '{record_id}'"))


def test_who_may_adjust_a_forecast(server: InProcessServer) -> None:
    ana = Pusher(server, "ana", "rep", "north")
    max_ = Pusher(server, "max", "manager", "north")
    sue = Pusher(server, "sue", "manager", "south")
    root = Pusher(server, "root", "admin", None)
    cases = [
        (ana, _adjustment("ana", "owner", "ana", "north"), None),
        (ana, _adjustment("ana", "owner", "bob", "north"), "a rep adjusts only their own"),
        (ana, _adjustment("ana", "team", "north", "north"), "only the team's manager"),
        (ana, _adjustment("max", "owner", "ana", "north"), "names the user who makes it"),
        (max_, _adjustment("max", "team", "north", "north"), None),
        (max_, _adjustment("max", "owner", "ana", "north"), None),
        (max_, _adjustment("max", "team", "south", "north"), "only the manager of team 'south'"),
        (sue, _adjustment("sue", "owner", "ana", "north"), None),  # outside her scope: rejected
        (root, _adjustment("root", "team", "south", "south"), None),
    ]
    for pusher, values, reason in cases:
        record_id = ids.uuid7()
        result = pusher.push(record_id, values)
        if pusher is sue:
            assert result["status"] == "rejected"  # the scope check: north is not her team
            assert not _stored(server, record_id)
            continue
        if reason is None:
            assert result["status"] == "applied", (values, result)
            assert _stored(server, record_id)
        else:
            assert result["status"] == "rejected" and reason in result["reason"], (values, result)
            assert not _stored(server, record_id)
    # A rep's adjustment of their own, once stored, is not rewritten (insert-only) by anyone.
    record_id = ids.uuid7()
    assert ana.push(record_id, _adjustment("ana", "owner", "ana", "north"))["status"] == "applied"
    assert json.loads(server.query(f"SELECT fields FROM record WHERE id = '{record_id}'")[0][0])
    assert max_.push(record_id, {"amount": "1.00"})["status"] == "rejected"
