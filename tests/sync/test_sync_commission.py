"""Incentives (issue 16 §4, docs/incentives.md) through the real server app, on SQLite and on
PostgreSQL: a rep's push of a plan, a split, a commission line or a statement is rejected whatever
the client sends; commission lines are insert-only; an approved plan is immutable; a statement past
its draft only moves on to exported; and a manager's run reaches the server as it was calculated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import inprocess
from inprocess import InProcessServer

from sfa.domain import ids
from sfa.store.workspace import Workspace
from sfa.sync import engine
from tests.conftest import run_sfa

AT = "2026-11-02T09:00:00.000Z"


server = inprocess.any_server  # the fixture: the app in-process on SQLite and on PostgreSQL


class Pusher(inprocess.Pusher):
    """A user whose edits carry the server's clocks as their base (they have seen the record)."""

    seen = True


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


def _pulled_ids(server: InProcessServer, user: Pusher) -> set[str]:
    import httpx

    with httpx.Client(transport=server.transport, base_url=inprocess.URL) as http:
        reply = http.get(
            "/v1/pull", params={"cursor": 0, "limit": 1000}, headers={"authorization": f"Bearer {user.token}"}
        )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["more"] is False
    return {change["id"] for change in body["changes"] if not change.get("remove")}


def test_a_reps_commission_is_seen_by_the_rep_and_their_managers_only(server: InProcessServer) -> None:
    """docs/incentives.md, "Who sees what": a teammate does not pull another rep's lines or statement."""
    ana = Pusher(server, "ana", "rep", "north")
    bob = Pusher(server, "bob", "rep", "north")
    max_ = Pusher(server, "max", "manager", "north")
    anas_line, bobs_line, anas_statement = ids.uuid7(), ids.uuid7(), ids.uuid7()
    assert max_.push("commission_line", anas_line, _line("ana"))["status"] == "applied"
    assert max_.push("commission_line", bobs_line, _line("bob"))["status"] == "applied"
    assert max_.push("commission_statement", anas_statement, _statement())["status"] == "applied"
    account = ids.uuid7()
    assert (
        bob.push("account", account, {"name": "Shared GmbH", "owner": "bob", "team": "north"})["status"]
        == "applied"
    )

    assert {anas_line, anas_statement, account} <= _pulled_ids(server, ana)
    assert bobs_line not in _pulled_ids(server, ana)
    assert bobs_line in _pulled_ids(server, bob) and account in _pulled_ids(server, bob)
    assert not {anas_line, anas_statement} & _pulled_ids(server, bob)
    assert {anas_line, bobs_line, anas_statement} <= _pulled_ids(server, max_)
