"""A manager's scope is their territory's subtree (issue 14 §5; docs/policy.md, "A manager's
scope"), through the real server app on SQLite and PostgreSQL: pull (what each user is sent) and
push (what each user may write) for the manager of a parent territory, the manager of a sibling,
a manager named by the territory's `manager` field, and reps (unchanged: their own team only)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from inprocess import URL, InProcessServer
from synchelp import BACKENDS
from test_sync_policy import Pusher, _laptop, _OverDatabase, _record, _sync

from sfa.domain import ids
from tests.conftest import run_sfa


@pytest.fixture(params=BACKENDS)
def any_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InProcessServer]:
    """The server in-process on SQLite and on a throwaway PostgreSQL database."""
    home = tmp_path / "server"
    home.mkdir()
    if request.param == "postgres":
        pg = request.getfixturevalue("pg_cluster")
        srv: InProcessServer = _OverDatabase(home, pg.url(pg.new_database()))
    else:
        srv = InProcessServer(home)
    yield srv
    srv.close()


# DE (its manager field names dora, whose team is none)
# ├── Bavaria (max's team)
# │   └── Munich (ana's team)
# └── Saxony (olga's team)
# Austria (a root of its own)
TREE = (("DE", None, None), ("Bavaria", "DE", None), ("Munich", "Bavaria", None), ("Saxony", "DE", None))


def _tree(admin: Pusher, extra: tuple[tuple[str, str | None, str | None], ...] = ()) -> dict[str, str]:
    made = {}
    for name, parent, manager in (*TREE, *extra):
        values: dict[str, Any] = {"name": name, "priority": 1}
        if parent:
            values["parent"] = parent
        if manager:
            values["manager"] = manager
        made[name] = ids.uuid7()
        assert admin.push("territory", made[name], values)["status"] == "applied"
    return made


def _pulled(user: Pusher) -> dict[str, dict[str, Any]]:
    """Every record the user's full pull sends (id -> fields), removes dropped."""
    with httpx.Client(transport=user.server.transport, base_url=URL) as http:
        reply = http.get(
            "/v1/pull", params={"cursor": 0, "limit": 1000}, headers={"authorization": f"Bearer {user.token}"}
        )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["more"] is False
    seen: dict[str, dict[str, Any]] = {}
    for change in body["changes"]:
        if change.get("remove"):
            seen.pop(change["id"], None)
        else:
            seen.setdefault(change["id"], {}).update(change["fields"])
    return seen


def test_a_managers_scope_is_their_territorys_subtree(any_server: InProcessServer) -> None:
    server = any_server
    admin = Pusher(server, "root", "admin", None)
    max_ = Pusher(server, "max", "manager", "Bavaria")  # manager of the parent territory
    olga = Pusher(server, "olga", "manager", "Saxony")  # manager of a sibling
    dora = Pusher(server, "dora", "manager", None)  # named as DE's manager on the territory
    ana = Pusher(server, "ana", "rep", "Munich")
    bob = Pusher(server, "bob", "rep", "Bavaria")
    _tree(admin, (("Austria", None, None),))
    # dora manages the whole DE tree by the territory's manager field, not by her (empty) team.
    _set_manager(admin, server, "DE", "dora")

    accounts = {}
    for team, owner in (("Munich", "ana"), ("Bavaria", "bob"), ("Saxony", "sam"), ("Austria", "al")):
        accounts[team] = ids.uuid7()
        made = admin.push("account", accounts[team], {"name": f"{team} GmbH", "owner": owner, "team": team})
        assert made["status"] == "applied", made

    def sees(user: Pusher) -> set[str]:
        pulled = _pulled(user)
        return {team for team, record_id in accounts.items() if record_id in pulled}

    # Pull: the parent's manager sees the child territory's records, a sibling's manager does not,
    # reps see exactly their team (unchanged), the territory's named manager sees its subtree.
    assert sees(max_) == {"Munich", "Bavaria"}
    assert sees(olga) == {"Saxony"}
    assert sees(ana) == {"Munich"}
    assert sees(bob) == {"Bavaria"}
    assert sees(dora) == {"Munich", "Bavaria", "Saxony"}

    # /v1/me names a manager's other teams, so the laptop's re-send after a restore skips only
    # what the manager cannot see (sfa/domain/scope.py).
    def me(user: Pusher) -> Any:
        with httpx.Client(transport=server.transport, base_url=URL) as http:
            return http.get("/v1/me", headers={"authorization": f"Bearer {user.token}"}).json()

    assert me(max_)["teams"] == ["Munich"]
    assert me(ana)["teams"] == [] and me(olga)["teams"] == []

    # Push: the parent's manager writes in the child territory; the sibling's manager and a rep of
    # the parent territory are rejected with a reason, nothing applied.
    munich = accounts["Munich"]
    assert max_.push("account", munich, {"phone": "+49 89 1"})["status"] == "applied"
    for outsider in (olga, bob):
        result = outsider.push("account", munich, {"phone": "+49 1 666"})
        assert result["status"] == "rejected" and "outside your scope" in result["reason"], result
    assert (_record(server, munich) or {})["phone"][0] == "+49 89 1"
    assert ana.push("account", munich, {"city": "Munich"})["status"] == "applied"  # the rep's own

    # The managed records and approvals: "their team's" is the subtree.
    target = {"period": "2027-Q1", "metric": "won_amount", "value": "1000", "owner": "ana", "team": "Munich"}
    assert max_.push("target", ids.uuid7(), target)["status"] == "applied"
    refused = olga.push("target", ids.uuid7(), target)
    assert refused["status"] == "rejected" and refused["reason"], refused
    assert dora.push("target", ids.uuid7(), target)["status"] == "applied"
    # ... but not upwards: Bavaria's manager does not write DE's records.
    upward = {**target, "owner": None, "team": "DE"}
    assert max_.push("target", ids.uuid7(), upward)["status"] == "rejected"

    quote = ids.uuid7()
    quote_values = {"number": "Q-1", "revision": 1, "status": "draft", "account_id": munich}
    assert ana.push("quote", quote, {**quote_values, "owner": "ana", "team": "Munich"})["status"] == "applied"
    decision = {
        "entity": "quote",
        "record_id": quote,
        "action": "approve",
        "at": "2027-01-05T10:00:00Z",
        "owner": "ana",
        "team": "Munich",
    }
    assert olga.push("approval", ids.uuid7(), {**decision, "by": "olga"})["status"] == "rejected"
    assert max_.push("approval", ids.uuid7(), {**decision, "by": "max"})["status"] == "applied"

    review = {
        "rep": "ana",
        "period": "2026-Q4",
        "reviewer": "max",
        "status": "draft",
        "owner": "ana",
        "team": "Munich",
    }
    made = max_.push("review", ids.uuid7(), review)
    assert made["status"] == "applied", made
    assert olga.push("review", ids.uuid7(), {**review, "reviewer": "olga"})["status"] == "rejected"

    # Writes of one manager reach the other's laptop only within scope.
    assert {munich, accounts["Bavaria"]} <= set(_pulled(max_))
    assert munich not in _pulled(olga)


def _set_manager(admin: Pusher, server: InProcessServer, name: str, manager: str) -> None:
    rows = server.query("SELECT id, fields FROM record WHERE entity = 'territory'")
    [record_id] = [rid for rid, fields in rows if json.loads(fields)["name"][0] == name]
    assert admin.push("territory", record_id, {"manager": manager})["status"] == "applied"


def test_a_sub_territory_reaches_the_parent_managers_laptop(
    tmp_path: Path, any_server: InProcessServer
) -> None:
    """Through laptops and the CLI: an admin's tree, a rep of the child territory syncs an account;
    the parent territory's manager gets it, sets the rep's target without an early refusal, and the
    sibling's manager neither gets it nor may set it."""
    server = any_server
    admin = _laptop(tmp_path, server, "root", "admin", None)
    for name, parent, _manager in TREE:
        args = ["territory", "add", name] + (["--parent", parent] if parent else [])
        done = run_sfa(admin, *args)
        assert done.code == 0, done.err
    _sync(server, admin)
    rep = _laptop(tmp_path, server, "ana", "rep", "Munich")
    max_ = _laptop(tmp_path, server, "max", "manager", "Bavaria")
    olga = _laptop(tmp_path, server, "olga", "manager", "Saxony")
    made = run_sfa(rep, "account", "add", "Munich GmbH", "-q")
    assert made.code == 0, made.err
    _sync(server, rep)
    for home in (max_, olga):
        _sync(server, home)
    assert [a["name"] for a in run_sfa(max_, "account", "list", "--json").json()] == ["Munich GmbH"]
    assert run_sfa(olga, "account", "list", "--json").json() == []

    target = ("target", "set", "--owner", "ana", "--team", "Munich", "--period", "2027-Q1")
    target += ("--metric", "won_amount", "--value", "10k")
    done = run_sfa(max_, *target)
    assert done.code == 0, done.err
    refused = run_sfa(olga, *target)
    assert refused.code == 1 and "own team" in refused.err
    assert _sync(server, max_).rejected == 0
    _sync(server, rep)
    listed = run_sfa(rep, "target", "list", "--period", "2027-Q1", "--json").json()
    assert [(t["owner"], t["team"]) for t in listed] == [("ana", "Munich")]


def test_activated_territories_reach_laptops_through_scope_events(
    tmp_path: Path, any_server: InProcessServer
) -> None:
    """Issue 14 §5: `territory activate` (admin) moves accounts; the moves reach laptops through the
    scope enter / leave events: the territory's owner member and the parent's manager get the
    account and its open deal, the sibling's manager nothing."""
    server = any_server
    admin = _laptop(tmp_path, server, "root", "admin", None)
    mia = _laptop(tmp_path, server, "mia", "rep", "Munich")
    max_ = _laptop(tmp_path, server, "max", "manager", "Bavaria")
    olga = _laptop(tmp_path, server, "olga", "manager", "Saxony")
    for args in (
        ("DE",),
        ("Bavaria", "--parent", "DE"),
        ("Munich", "--parent", "Bavaria", "--rule", "postcode 80000-81999", "--member", "mia owner"),
        ("Saxony", "--parent", "DE", "--rule", "postcode 01000-09999"),
    ):
        done = run_sfa(admin, "territory", "add", *args)
        assert done.code == 0, done.err
    account = run_sfa(admin, "account", "add", "Isar GmbH", "--postcode", "80331", "-q").out.strip()
    assert run_sfa(admin, "opp", "add", "Pumps", "--account", account, "-q").code == 0
    _sync(server, admin)
    for home in (mia, max_, olga):
        _sync(server, home)
        assert run_sfa(home, "account", "list", "--json").json() == []
    moved = run_sfa(admin, "territory", "activate", "--json")
    assert moved.code == 0, moved.err
    assert [(m["account"], m["territory"], m["to_owner"]) for m in moved.json()] == [
        ("Isar GmbH", "Munich", "mia")
    ]
    assert _sync(server, admin).rejected == 0
    for home in (mia, max_):
        _sync(server, home)
        [got] = run_sfa(home, "account", "list", "--json").json()
        assert (got["name"], got["team"], got["owner"]) == ("Isar GmbH", "Munich", "mia")
        assert [o["name"] for o in run_sfa(home, "opp", "list", "--json").json()] == ["Pumps"]
    _sync(server, olga)
    assert run_sfa(olga, "account", "list", "--json").json() == []
