"""Defence in depth on the laptop (issue 18, item 2): a pulled change the laptop cannot store is set
aside with the reason, the rest of the page applies, and neither `sfa sync` nor a report fails.

The poison is written straight into the server's change log (as a server that let it through, or a
database poisoned before the server checked, would serve it), then pulled by a laptop that already
holds the records (the update path) and by a new one (the initial sync's insert path)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcessServer
from sqlalchemy import text

from sfa.domain import ids
from sfa.domain.entities import ENTITIES
from sfa.domain.hlc import Hlc
from sfa.store import quarantine
from sfa.store.workspace import Workspace
from sfa.sync import engine
from tests.conftest import run_sfa


@pytest.fixture
def inproc(tmp_path: Path) -> Iterator[InProcessServer]:
    (tmp_path / "server").mkdir()
    srv = InProcessServer(tmp_path / "server")
    yield srv
    srv.close()


_counter = [0]


def clock() -> str:
    _counter[0] += 1
    return Hlc(int(time.time() * 1000), _counter[0], "f00dfeedf00dfeed").encode()


def serve(
    server: Any,
    entity: str,
    record_id: str,
    fields: dict[str, Any],
    *,
    raw_clock: str | None = None,
    owner: str | None = "ana",
    team: str | None = "north",
) -> None:
    """Log a change as the server would serve it, whatever it holds (no validation)."""
    stamped = {name: [value, raw_clock or clock()] for name, value in fields.items()}
    with server.engine.begin() as conn:
        seq = int(conn.execute(text("SELECT value FROM counter WHERE name = 'seq'")).scalar_one()) + 1
        row = conn.execute(
            text("SELECT fields FROM record WHERE entity = :e AND id = :i"), {"e": entity, "i": record_id}
        ).first()
        state = {**(json.loads(row[0]) if row else {}), **stamped}
        values = {
            "e": entity,
            "i": record_id,
            "f": json.dumps(state),
            "o": owner,
            "t": team,
            "s": seq,
            "u": "2026-01-01T00:00:00Z",
        }
        if row is None:
            conn.execute(
                text(
                    "INSERT INTO record(entity, id, fields, owner, team, deleted, flagged, seq, updated_at)"
                    " VALUES (:e, :i, :f, :o, :t, false, false, :s, :u)"
                ),
                values,
            )
        else:
            conn.execute(
                text("UPDATE record SET fields = :f, seq = :s WHERE entity = :e AND id = :i"), values
            )
        conn.execute(
            text(
                "INSERT INTO change(seq, entity, id, fields, owner, team, prev_owner, prev_team, existed,"
                " origin, user_name, at) VALUES (:s, :e, :i, :f, :o, :t, :o, :t, :x, NULL, 'mallory', :u)"
            ),
            {**values, "f": json.dumps(stamped), "x": row is not None},  # ASCII JSON: \ud800 survives
        )
        conn.execute(text("UPDATE counter SET value = :s WHERE name = 'seq'"), {"s": seq})


def laptop(server: InProcessServer, home: Path, name: str) -> tuple[Workspace, engine.Connection]:
    ws = Workspace(home / name)
    return ws, server.login(ws, server.add_user(name))


def reports_work(home: Path) -> None:
    for args in (
        ("report", "pipeline"),
        ("report", "forecast"),
        ("report", "win-loss"),
        ("report", "activity"),
        ("quote", "list"),
        ("opp", "list"),
        ("lead", "list"),
        ("task", "list"),
        ("account", "list"),
        ("today",),
        ("sync", "status"),
        ("sync", "conflicts"),
        ("sync", "rejected", "--pulled"),
        ("export", "all", "--output", str(home / "backup")),
    ):
        result = run_sfa(home, *args)
        assert result.code == 0, (args, result.err)
        assert "Traceback" not in result.err


def test_poisoned_changes_are_set_aside_and_nothing_fails(inproc: InProcessServer, tmp_path: Path) -> None:
    server = inproc
    ana, ana_conn = laptop(server, tmp_path, "ana")
    account, opp, quote, lead, task = (ids.uuid7() for _ in range(5))
    serve(server, "account", account, {"name": "Acme", "owner": "ana", "team": "north"})
    serve(
        server,
        "opportunity",
        opp,
        {
            "name": "Big deal",
            "account_id": account,
            "stage": "qualification",
            "amount": "1000",
            "currency": "EUR",
            "probability": 30,
            "close_date": "2026-12-31",
            "owner": "ana",
            "team": "north",
        },
    )
    serve(
        server,
        "quote",
        quote,
        {"number": "Q-1", "revision": 1, "account_id": account, "status": "draft", "currency": "EUR"},
    )
    serve(server, "lead", lead, {"name": "Lee", "status": "new", "owner": "ana", "team": "north"})
    serve(server, "task", task, {"title": "Call", "priority": "high", "status": "open", "owner": "ana"})
    engine.sync_once(ana, conn=ana_conn)
    assert ana.store.find(ENTITIES["quote"], quote)["revision"] == 1

    # The poison of the issue, one change each.
    conflict_a, conflict_b, late_opp, bare_lead = ids.uuid7(), ids.uuid7(), ids.uuid7(), ids.uuid7()
    serve(server, "quote", quote, {"revision": 10**30})
    serve(server, "opportunity", opp, {"probability": 2**63})
    serve(server, "opportunity", opp, {"amount": "1e999999"})
    serve(server, "opportunity", opp, {"close_date": "20261231"})
    serve(server, "task", task, {"priority": None})
    serve(server, "lead", lead, {"status": None})
    serve(server, "quote", quote, {"status": None})
    serve(server, "account", account, {"industry": "Steel"}, raw_clock="9:00000:aaaaaaaaaaaaaaaa")
    serve(server, "account", account, {"notes": "bad \ud800 text", "website": "nul\x00"})
    serve(
        server,
        "opportunity",
        late_opp,
        {
            "name": "Late",
            "account_id": account,
            "stage": "qualification",
            "close_date": "2026-W01-1",
            "amount": "12",
            "currency": "EUR",
            "owner": "ana",
            "team": "north",
        },
    )
    serve(server, "lead", bare_lead, {"name": "No status", "owner": "ana", "team": "north"})
    odd = {"name": "Odd", "account_id": account, "stage": "no such stage", "owner": "ana", "team": "north"}
    serve(server, "opportunity", ids.uuid7(), odd)  # storable: a stage this laptop does not know
    conflict = {
        "entity": "account",
        "record_id": account,
        "field": "phone",
        "kind": "lww",
        "kept": "1",
        "lost": "2",
        "status": "open",
        "resolution": None,
    }
    serve(server, "_conflict", conflict_a, {**conflict, "status": {"x": 1}})
    serve(server, "_conflict", conflict_b, {**conflict, "resolution": [1, 2]})
    serve(server, "_conflict", conflict_b, {"status": None})
    good = ids.uuid7()
    serve(server, "account", good, {"name": "Beta", "owner": "ana", "team": "north"})

    bob, bob_conn = laptop(server, tmp_path, "bob")  # a new laptop of the team: the insert path
    for ws, conn in ((ana, ana_conn), (bob, bob_conn)):
        summary = engine.sync_once(ws, conn=conn)  # raises nothing
        assert summary.pulled > 0
        store = ws.store
        assert store.find(ENTITIES["account"], good)["name"] == "Beta"  # the rest of the page applied
        assert store.find(ENTITIES["quote"], quote)["revision"] == 1
        assert store.find(ENTITIES["quote"], quote)["status"] == "draft"
        found = store.find(ENTITIES["opportunity"], opp)
        assert (found["probability"], str(found["amount"]), str(found["close_date"])) == (
            30,
            "1000",
            "2026-12-31",
        )
        assert store.find(ENTITIES["task"], task)["priority"] == "high"
        assert store.find(ENTITIES["lead"], lead)["status"] == "new"
        assert store.find(ENTITIES["lead"], bare_lead)["status"] == "new"  # the column's default
        assert store.find(ENTITIES["opportunity"], late_opp)["close_date"] is None
        assert store.find(ENTITIES["account"], account)["industry"] is None
        reasons = {(q["record_id"], q["field"]): q["reason"] for q in quarantine.listing(store.conn)}
        assert "outside" in reasons[(quote, "revision")] or "whole number" in reasons[(quote, "revision")]
        assert (opp, "probability") in reasons and (opp, "amount") in reasons
        assert "form" in reasons[(opp, "close_date")] and "form" in reasons[(late_opp, "close_date")]
        assert "required" in reasons[(task, "priority")] and "required" in reasons[(lead, "status")]
        assert "clock" in reasons[(account, "industry")] and "form" in reasons[(account, "industry")]
        assert "surrogate" in reasons[(account, "notes")] and "NUL" in reasons[(account, "website")]
        assert (conflict_a, "status") in reasons and (conflict_b, "resolution") in reasons
        assert (conflict_b, "status") in reasons
        assert ws.store.conn.execute("SELECT count(*) FROM sync_conflict").fetchone()[0] == 2

        reports_work(ws.home)
        status = run_sfa(ws.home, "sync", "status", "--json").json()
        assert status["quarantined"] == len(reasons)
        listed = run_sfa(ws.home, "sync", "rejected", "--pulled", "--json").json()
        assert {(i["record_id"], i["field"]) for i in listed} == set(reasons)
        assert engine.sync_once(ws, conn=conn).pulled == 0  # sync goes on, nothing pulled again

    # A repair (a corrective change, as `sfa server repair` writes) settles the set-aside value.
    serve(server, "quote", quote, {"revision": 2})
    for ws, conn in ((ana, ana_conn), (bob, bob_conn)):
        engine.sync_once(ws, conn=conn)
        assert ws.store.find(ENTITIES["quote"], quote)["revision"] == 2
        assert (quote, "revision") not in {
            (q["record_id"], q["field"]) for q in quarantine.listing(ws.store.conn)
        }
        ws.close()


def test_a_change_the_store_refuses_is_set_aside_whole(
    inproc: InProcessServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the screening misses, SQLite's own checks catch: the failing change alone is set aside
    (the page is applied change by change in savepoints), and the sync goes on."""
    server = inproc
    ana, conn = laptop(server, tmp_path, "ana")
    first, second = ids.uuid7(), ids.uuid7()
    serve(server, "task", first, {"title": "One", "priority": "high", "owner": "ana"})
    serve(server, "task", second, {"title": "Two", "priority": "low", "owner": "ana"})
    engine.sync_once(ana, conn=conn)
    monkeypatch.setattr(quarantine, "value_problem", lambda *_args: None)  # a screening that misses
    serve(server, "task", first, {"priority": None})  # NOT NULL in the local table
    serve(server, "task", second, {"title": "Two, renamed"})
    engine.sync_once(ana, conn=conn)
    assert ana.store.find(ENTITIES["task"], first)["priority"] == "high"
    assert ana.store.find(ENTITIES["task"], second)["title"] == "Two, renamed"
    [aside] = quarantine.listing(ana.store.conn)
    assert aside["record_id"] == first and aside["field"] is None
    assert "IntegrityError" in aside["reason"]
    ana.close()


class _Served:
    """The process-level server's database, for `serve` (which needs `.engine`)."""

    def __init__(self, db: str) -> None:
        from sfa.server.storage import make_engine

        self.engine = make_engine(db)


def test_sfa_sync_and_reports_exit_0_after_a_poisoned_pull(laptop: Any, server: Any) -> None:
    """Through the CLI against the server process: `sfa sync`, `sfa report pipeline` and `sfa quote
    list` exit 0 on a laptop that pulls poison (SQLite and PostgreSQL)."""
    ana = laptop("ana")
    opp = ana.ok("opp", "add", "Deal", "--account", ana.ok("account", "add", "Acme", "-q").out.strip(), "-q")
    ana.synced()
    opp_id = ana.ok("opp", "show", opp.out.strip(), "--json").json()["id"]
    served = _Served(server.db)
    try:
        serve(served, "opportunity", opp_id, {"amount": "1e999999", "probability": 2**63})
        serve(served, "opportunity", opp_id, {"close_date": "2026-W01-1", "stage": None})
    finally:
        served.engine.dispose()
    for args in (("sync",), ("report", "pipeline"), ("quote", "list"), ("sync", "status")):
        result = ana.sfa(*args)
        assert result.code == 0 and "Traceback" not in result.err, (args, result.err)
    assert ana.ok("sync", "status", "--json").json()["quarantined"] == 4
    listed = ana.ok("sync", "rejected", "--pulled", "--json").json()
    assert sorted(i["field"] for i in listed) == ["amount", "close_date", "probability", "stage"]
