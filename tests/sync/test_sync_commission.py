"""Incentives (issue 16 §4, docs/incentives.md) through the real server app, on SQLite and on
PostgreSQL: a rep's push of a plan, a split, a commission line or a statement is rejected whatever
the client sends; commission lines are insert-only; an approved plan is immutable; a statement past
its draft only moves on to exported; and a manager's run reaches the server as it was calculated."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from inprocess import URL, Bridge, InProcessServer
from synchelp import BACKENDS

from sfa.domain import ids
from sfa.domain.hlc import Hlc
from sfa.protocol import PROTOCOL
from sfa.server import admin, storage
from sfa.server.app import create_app
from sfa.server.merge import now_ms
from sfa.store.workspace import Workspace
from sfa.sync import engine
from tests.conftest import run_sfa

AT = "2026-11-02T09:00:00.000Z"


class _OverDatabase(InProcessServer):
    def __init__(self, home: Path, db: str) -> None:
        self.home = home
        self.db = db
        admin.init(home, db)
        self.engine = storage.make_engine(db)
        self.app = create_app(self.engine)
        self.transport = Bridge(self.app)


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InProcessServer]:
    home = tmp_path / "server"
    home.mkdir()
    if request.param == "postgres":
        pg = request.getfixturevalue("pg_cluster")
        srv: InProcessServer = _OverDatabase(home, pg.url(pg.new_database()))
    else:
        srv = InProcessServer(home)
    yield srv
    srv.close()


class Pusher:
    """One user pushing hand-made mutations, as any client could."""

    def __init__(self, server: InProcessServer, name: str, role: str, team: str | None) -> None:
        self.server = server
        self.token = server.add_user(name, role, team)
        self.client_id = ids.uuid7()
        self.seq = itertools.count(1)
        self.replica = f"{abs(hash(name)) % 16**16:016x}"
        self.tick = itertools.count()

    def push(self, entity: str, record_id: str, values: dict[str, Any]) -> dict[str, Any]:
        fields = {
            name: [value, Hlc(now_ms(), next(self.tick), self.replica).encode()]
            for name, value in values.items()
        }
        mutation: dict[str, Any] = {
            "seq": next(self.seq),
            "entity": entity,
            "id": record_id,
            "fields": fields,
        }
        rows = self.server.query(f"SELECT fields FROM record WHERE id = '{record_id}'")
        if rows:  # the writer has seen the server's values: an edit, not a concurrent one
            mutation["base"] = {k: v[1] for k, v in json.loads(rows[0][0]).items() if k in values}
        body = {"protocol": PROTOCOL, "client_id": self.client_id, "acked": 0, "mutations": [mutation]}
        with httpx.Client(transport=self.server.transport, base_url=URL) as http:
            reply = http.post("/v1/push", json=body, headers={"authorization": f"Bearer {self.token}"})
        assert reply.status_code == 200, reply.text
        [result] = reply.json()["results"]
        return dict(result)


def _stored(server: InProcessServer, record_id: str) -> dict[str, Any] | None:
    rows = server.query(f"SELECT fields FROM record WHERE id = '{record_id}'")
    return {k: v[0] for k, v in json.loads(rows[0][0]).items()} if rows else None


PLAN = {
    "name": "Q4 reps",
    "period": "2026-Q4",
    "basis": "won_amount",
    "rates": "0%:2, 80%:4",
    "currency": "EUR",
    "status": "draft",
    "team": "north",
}


def _line(rep: str = "ana") -> dict[str, Any]:
    return {
        "rep": rep,
        "period": "2026-Q4",
        "commission": "800.00",
        "basis": "40000",
        "rate": "2",
        "currency": "EUR",
        "explanation": "deal X: 40,000.00 EUR at tier 1",
        "at": AT,
        "owner": rep,
        "team": "north",
    }


def _statement(status: str = "draft") -> dict[str, Any]:
    return {
        "rep": "ana",
        "period": "2026-Q4",
        "total": "800.00",
        "currency": "EUR",
        "status": status,
        "owner": "ana",
        "team": "north",
    }


def test_a_rep_cannot_write_what_pays_them(server: InProcessServer) -> None:
    rep = Pusher(server, "ana", "rep", "north")
    manager = Pusher(server, "max", "manager", "north")
    records = {
        "commission_plan": PLAN,
        "plan_assignment": {
            "plan_id": ids.uuid7(),
            "rep": "ana",
            "target": "1000",
            "owner": "ana",
            "team": "north",
        },
        "opportunity_split": {
            "opportunity_id": ids.uuid7(),
            "rep": "ana",
            "percent": "100",
            "kind": "overlay",
            "owner": "ana",
            "team": "north",
        },
        "commission_line": _line(),
        "commission_statement": _statement(),
    }
    for entity, values in records.items():
        record_id = ids.uuid7()
        refused = rep.push(entity, record_id, values)
        assert refused["status"] == "rejected", entity
        assert "only a manager or an admin" in refused["reason"]
        assert _stored(server, record_id) is None
        # Whatever it claims: unscoped, or in another team, it stays refused.
        for scope in ({"team": None, "owner": None}, {"team": "south"}):
            assert rep.push(entity, ids.uuid7(), {**values, **scope})["status"] == "rejected", entity
        written = manager.push(entity, record_id, values)
        assert written["status"] == "applied", (entity, written)
        # Nor may the rep change the manager's record.
        edit = {"commission_line": {"commission": "9999"}}.get(entity, {"rep": "ana"} | {"team": "north"})
        key = next(iter(edit))
        assert (
            rep.push(entity, record_id, {key: "9999" if key == "commission" else "x"})["status"] == "rejected"
        )


def test_commission_lines_are_insert_only_for_everyone(server: InProcessServer) -> None:
    manager = Pusher(server, "max", "manager", "north")
    root = Pusher(server, "root", "admin", None)
    line_id = ids.uuid7()
    assert manager.push("commission_line", line_id, _line())["status"] == "applied"
    for who in (manager, root):
        edited = who.push("commission_line", line_id, {"commission": "8000.00"})
        assert edited["status"] == "rejected" and "insert-only" in edited["reason"]
    assert _stored(server, line_id)["commission"] == "800.00"  # type: ignore[index]
    # A correction is a new line, negative if it takes back.
    fix = {**_line(), "commission": "-100.00", "reason": "clawback", "explanation": "correction: clawback"}
    assert manager.push("commission_line", ids.uuid7(), fix)["status"] == "applied"


def test_an_approved_plan_is_immutable_on_the_server(server: InProcessServer) -> None:
    manager = Pusher(server, "max", "manager", "north")
    root = Pusher(server, "root", "admin", None)
    plan_id = ids.uuid7()
    assert manager.push("commission_plan", plan_id, PLAN)["status"] == "applied"
    assert manager.push("commission_plan", plan_id, {"rates": "0%:3"})["status"] == "applied"  # a draft
    approve = {"status": "approved", "approved_by": "max", "approved_at": AT}
    assert manager.push("commission_plan", plan_id, approve)["status"] == "applied"
    for who in (manager, root):
        for change in ({"rates": "0%:50"}, {"cap": "1"}, {"status": "draft"}, {"deleted": True}):
            refused = who.push("commission_plan", plan_id, change)
            assert refused["status"] == "rejected" and "immutable" in refused["reason"], change
    assert _stored(server, plan_id)["rates"] == "0%:3"  # type: ignore[index]
    # Pushing the values it already has changes nothing and is not refused.
    assert manager.push("commission_plan", plan_id, {"rates": "0%:3"})["status"] == "applied"


def test_a_statement_past_its_draft(server: InProcessServer) -> None:
    manager = Pusher(server, "max", "manager", "north")
    root = Pusher(server, "root", "admin", None)
    statement_id = ids.uuid7()
    assert manager.push("commission_statement", statement_id, _statement())["status"] == "applied"
    assert manager.push("commission_statement", statement_id, {"total": "900.00"})["status"] == "applied"
    assert manager.push("commission_statement", statement_id, {"status": "approved"})["status"] == "applied"
    for who in (manager, root):
        for change in ({"total": "1.00"}, {"status": "draft"}):
            refused = who.push("commission_statement", statement_id, change)
            assert refused["status"] == "rejected" and "approved" in refused["reason"], change
    exported = {"status": "exported", "exported_at": AT}
    assert manager.push("commission_statement", statement_id, exported)["status"] == "applied"
    refused = root.push("commission_statement", statement_id, {"status": "approved"})
    assert refused["status"] == "rejected" and "exported" in refused["reason"]
    assert _stored(server, statement_id)["total"] == "900.00"  # type: ignore[index]


def test_a_managers_run_reaches_the_server_and_the_rep(server: InProcessServer, tmp_path: Path) -> None:
    """The manager plans, runs and approves on their laptop; the lines and the statement the server
    holds are the ones calculated there, and the rep's laptop receives them."""
    max_home = _laptop(tmp_path, server, "max", "manager")
    ana_home = _laptop(tmp_path, server, "ana", "rep")

    def sfa(home: Path, *args: str) -> Any:
        done = run_sfa(home, *args)
        assert done.code == 0, (args, done.err)
        return done

    account = sfa(max_home, "account", "add", "Acme", "-q").out.strip()
    deal = sfa(max_home, "opp", "add", "Big", "--account", account, "--amount", "40000", "-q").out.strip()
    sfa(
        max_home,
        "opp",
        "edit",
        deal,
        "--owner",
        "ana",
        "--stage",
        "won",
        "--close-date",
        "2026-11-02",
    )
    sfa(max_home, "plan", "add", "Q4 reps", "--period", "2026-Q4", "--rates", "0%:2, 80%:4")
    sfa(max_home, "plan", "assign", "Q4 reps", "--rep", "ana", "--target", "100k")
    sfa(max_home, "plan", "approve", "Q4 reps")
    ran = sfa(max_home, "commission", "run", "--period", "2026-Q4", "--json").json()
    assert ran["reps"][0]["total"] == "800.00"
    sfa(max_home, "commission", "approve", "--rep", "ana", "--period", "2026-Q4")
    _sync(server, max_home)
    _sync(server, ana_home)
    mine = sfa(ana_home, "commission", "statement", "--period", "2026-Q4", "--json").json()
    assert mine["status"] == "approved" and mine["total"] == "800.00"
    assert [x["amount"] for x in mine["lines"]] == ["800.00"]
    # The rep's laptop refuses early what the server would reject.
    refused = run_sfa(ana_home, "plan", "approve", "Q4 reps")
    assert refused.code != 0 and "only a manager or an admin" in refused.err


def _laptop(tmp_path: Path, server: InProcessServer, name: str, role: str) -> Path:
    home = tmp_path / name
    home.mkdir()
    token = server.add_user(name, role, "north")
    ws = Workspace(home)
    try:
        server.login(ws, token)
    finally:
        ws.close()
    return home


def _sync(server: InProcessServer, home: Path) -> None:
    ws = Workspace(home)
    try:
        conn = server.connect(engine.load_token(home))
        try:
            engine.sync_once(ws, conn=conn)
        finally:
            conn.close()
    finally:
        ws.close()
