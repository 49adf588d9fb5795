"""Competitors (issue 16 §3) through the real server app: managers write them like the other policy
records, reps are refused (the server rejects, the CLI refuses early), a deal's competitors merge as
a set across laptops, and "lost to" reaches the manager's win/loss report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from inprocess import InProcessServer
from test_sync_policy import Pusher, _laptop, _record, _sync

from sfa.domain import ids
from tests.conftest import run_sfa


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    (tmp_path / "server").mkdir()
    srv = InProcessServer(tmp_path / "server")
    yield srv
    srv.close()


def test_who_may_write_a_competitor(server: InProcessServer) -> None:
    rep = Pusher(server, "ana", "rep", "north")
    manager = Pusher(server, "max", "manager", "north")
    other = Pusher(server, "olga", "manager", "south")
    admin = Pusher(server, "root", "admin", None)
    team = {"name": "Globex", "team": "north"}
    company = {"name": "Initech"}
    cases = [
        (rep, team, "rejected"),
        (other, team, "rejected"),
        (manager, company, "rejected"),
        (manager, team, "applied"),
        (admin, company, "applied"),
    ]
    for user, values, status in cases:
        record_id = ids.uuid7()
        result = user.push("competitor", record_id, values)
        assert result["status"] == status, (user.name, values, result)
        if status == "rejected":
            assert result.get("reason"), (user.name, values)
            assert _record(server, record_id) is None
    made = ids.uuid7()
    assert manager.push("competitor", made, team)["status"] == "applied"
    before = _record(server, made)
    assert before is not None
    edit = rep.push("competitor", made, {"notes": "cheap"}, {}, {n: p[1] for n, p in before.items()})
    assert edit["status"] == "rejected"


def test_two_reps_add_different_competitors_offline_both_survive(server: InProcessServer) -> None:
    ana = Pusher(server, "ana", "rep", "north")
    ben = Pusher(server, "ben", "rep", "north")
    first, second = ids.uuid7(), ids.uuid7()
    deal = ids.uuid7()
    opened = {"name": "Deal", "account_id": ids.uuid7(), "stage": "qualification", "team": "north"}
    assert ana.push("opportunity", deal, {**opened, "owner": "ana"})["status"] == "applied"
    assert ana.push("opportunity", deal, {"competitors": [first]})["status"] == "applied"
    # Ben had not seen Ana's competitor: his set is merged with hers, not written over it.
    assert ben.push("opportunity", deal, {"competitors": [second]})["status"] == "applied"
    after = _record(server, deal)
    assert after is not None and after["competitors"][0] == sorted([first, second])


def test_rep_refused_early_and_lost_to_reaches_the_manager(tmp_path: Path, server: InProcessServer) -> None:
    rep = _laptop(tmp_path, server, "ana", "rep", "north")
    manager = _laptop(tmp_path, server, "max", "manager", "north")
    refused = run_sfa(rep, "competitor", "add", "Globex")
    assert refused.code == 1 and refused.out == ""
    assert refused.err.count("\n") == 1 and "only a manager or an admin" in refused.err
    made = run_sfa(manager, "competitor", "add", "Globex", "--website", "globex.example")
    assert made.code == 0, made.err
    assert run_sfa(manager, "competitor", "list", "--json").json()[0]["team"] == "north"
    _sync(server, manager)
    _sync(server, rep)
    acme = run_sfa(rep, "account", "add", "Acme", "-q").out.strip()
    deal = run_sfa(rep, "opp", "add", "Big deal", "--account", acme, "--amount", "5000", "-q").out.strip()
    lost = run_sfa(rep, "opp", "lost", deal, "--reason", "price", "--to", "globex")
    assert lost.code == 0, lost.err
    _sync(server, rep)
    _sync(server, manager)
    report = run_sfa(manager, "report", "win-loss", "--by", "competitor", "--json")
    assert report.code == 0, report.err
    [group] = report.json()["groups"]
    assert (group["competitor"], group["lost"], group["won"]) == ("Globex", 1, 0)
