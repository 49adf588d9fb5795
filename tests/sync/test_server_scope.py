"""Scope rules enforced by the server whatever the client sends (docs/sync-protocol.md, "Scope"):
the matrix of rep / manager / another team's rep / admin × move team / move owner / unscope / note on
another team's record, on SQLite and PostgreSQL; children take and follow their parent's scope."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any

import httpx
from synchelp import Server

from sfa.domain.hlc import Hlc

ACTIONS = ("move team", "move owner", "unscope", "note on another team's record")
# role -> the actions the server applies (the rest are rejected with a reason).
ALLOWED = {
    "rep": set(),
    "manager": {"move team", "move owner", "unscope"},
    "other team's rep": set(),
    "admin": set(ACTIONS),
}
ACTORS = {"rep": "ana", "manager": "mia", "other team's rep": "sam", "admin": "root"}


class Client:
    def __init__(self, server: Server, token: str, name: str) -> None:
        self.server = server
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{server.port}", headers={"Authorization": f"Bearer {token}"}
        )
        self.client_id = f"raw-{name}"
        self.seqs = itertools.count(1)
        self.replica = (name * 16)[:16]
        self.last = 0

    def push(self, entity: str, record_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """A sequential write: its base is the server's clock of each field, as a laptop's is."""
        self.last = max(int(time.time() * 1000), self.last + 1)
        clock = Hlc(self.last, 0, self.replica).encode()
        rows = self.server.query(f"SELECT fields FROM record WHERE id = '{record_id}'")
        current = json.loads(rows[0][0]) if rows else {}
        base = {k: current[k][1] for k in values if k in current}
        body = {
            "protocol": 1,
            "client_id": self.client_id,
            "mutations": [
                {
                    "seq": next(self.seqs),
                    "entity": entity,
                    "id": record_id,
                    "fields": {k: [v, clock] for k, v in values.items()},
                    "base": base,
                }
            ],
        }
        reply = self.http.post("/v1/push", content=json.dumps(body).encode())
        assert reply.status_code == 200, reply.text
        result: dict[str, Any] = reply.json()["results"][0]
        return result

    def pull(self) -> list[dict[str, Any]]:
        changes: list[dict[str, Any]] = self.http.get("/v1/pull").json()["changes"]
        return changes


def _clients(server: Server) -> dict[str, Client]:
    users = {
        "ana": ("rep", "north"),
        "bob": ("rep", "north"),
        "mia": ("manager", "north"),
        "sam": ("rep", "south"),
        "root": ("admin", None),
    }
    return {
        name: Client(server, server.add_user(name, role, team), name) for name, (role, team) in users.items()
    }


def _scope_of(server: Server, record_id: str) -> tuple[Any, Any]:
    rows = server.query(f"SELECT owner, team FROM record WHERE id = '{record_id}'")
    return rows[0][0], rows[0][1]


def _note(account: str, owner: str) -> dict[str, Any]:
    return {
        "record_entity": "account",
        "record_id": account,
        "account_id": account,
        "kind": "note",
        "text": "hello",
        "at": "2026-11-29T10:00:00.000Z",
        "owner": owner,
    }


def test_scope_matrix(server: Server) -> None:
    clients = _clients(server)
    root = clients["root"]
    try:
        for role, action in itertools.product(ACTORS, ACTIONS):
            actor = clients[ACTORS[role]]
            # A north account of bob's, and a south one of sam's (the other team's record).
            north, south = str(uuid.uuid4()), str(uuid.uuid4())
            assert (
                root.push("account", north, {"name": "N", "owner": "bob", "team": "north"})["status"]
                == "applied"
            )
            assert (
                root.push("account", south, {"name": "S", "owner": "sam", "team": "south"})["status"]
                == "applied"
            )
            target = north
            if action == "move team":
                result = actor.push("account", north, {"team": "south"})
            elif action == "move owner":
                result = actor.push("account", north, {"owner": "sam"})
            elif action == "unscope":
                result = actor.push("account", north, {"owner": None, "team": None})
            else:
                # The other team's record: south for everyone of north, north for sam.
                target = north if role == "other team's rep" else south
                note = str(uuid.uuid4())
                result = actor.push("timeline", note, _note(target, ACTORS[role]))
            expected = "applied" if action in ALLOWED[role] else "rejected"
            assert result["status"] == expected, (role, action, result)
            if expected == "rejected":
                assert result["reason"], (role, action)
                assert _scope_of(server, north) == ("bob", "north"), (role, action)
            if action.startswith("note") and expected == "applied":
                # The note takes its parent's scope, whatever its owner field says.
                assert _scope_of(server, note) == _scope_of(server, target)
    finally:
        for client in clients.values():
            client.http.close()


def test_a_rep_may_hand_a_record_within_the_team(server: Server) -> None:
    clients = _clients(server)
    ana = clients["ana"]
    try:
        account = str(uuid.uuid4())
        assert (
            ana.push("account", account, {"name": "A", "owner": "ana", "team": "north"})["status"]
            == "applied"
        )
        assert ana.push("account", account, {"owner": "bob"})["status"] == "applied"  # a teammate
        assert ana.push("account", account, {"owner": "sam"})["status"] == "rejected"  # another team
        # A name that is no server user (yet): the record stays in the team, visible to it.
        assert ana.push("account", account, {"owner": "newhire"})["status"] == "applied"
        # A rep's create must be scoped to the rep's team.
        for scope in ({"owner": None, "team": None}, {"owner": "ana", "team": "south"}, {"owner": "sam"}):
            result = ana.push("account", str(uuid.uuid4()), {"name": "B", **scope})
            assert result["status"] == "rejected", (scope, result)
        # Products have no scope: no move check applies and every team writes them. (Creating one
        # and its price fields are a manager's or an admin's: the role rules, docs/policy.md.)
        product = str(uuid.uuid4())
        values = {"sku": "S1", "name": "P", "unit_price": "10"}
        assert clients["root"].push("product", product, values)["status"] == "applied"
        assert ana.push("product", product, {"name": "P by ana"})["status"] == "applied"
        assert clients["sam"].push("product", product, {"description": "south"})["status"] == "applied"
        refused = ana.push("product", str(uuid.uuid4()), values)
        assert refused["status"] == "rejected" and "owner/team" not in refused["reason"], refused
    finally:
        for client in clients.values():
            client.http.close()


def test_children_follow_their_parent(server: Server) -> None:
    clients = _clients(server)
    mia, ana, sam = clients["mia"], clients["ana"], clients["sam"]
    try:
        account, quote, line, note = (str(uuid.uuid4()) for _ in range(4))
        assert (
            mia.push("account", account, {"name": "A", "owner": "mia", "team": "north"})["status"]
            == "applied"
        )
        quote_values = {"number": "Q-1", "revision": 1, "status": "draft", "account_id": account}
        assert (
            mia.push("quote", quote, {**quote_values, "owner": "mia", "team": "north"})["status"] == "applied"
        )
        line_values = {
            "quote_id": quote,
            "position": 1,
            "description": "x",
            "quantity": "1",
            "unit_price": "1",
        }
        assert mia.push("quote_line", line, line_values)["status"] == "applied"
        assert ana.push("timeline", note, _note(account, "ana"))["status"] == "applied"
        assert _scope_of(server, note) == ("mia", "north")
        ana.pull(), sam.pull()
        # The manager hands account and quote to the south team: the note and the line go along.
        assert mia.push("account", account, {"owner": "sam", "team": "south"})["status"] == "applied"
        assert mia.push("quote", quote, {"owner": "sam", "team": "south"})["status"] == "applied"
        assert _scope_of(server, note) == ("sam", "south")
        assert _scope_of(server, line) == ("sam", "south")
        fresh = Client(server, server.add_user("sue", "rep", "south"), "sue")
        try:
            seen = {(c["entity"], c["id"]) for c in fresh.pull() if not c.get("remove")}
            assert {("timeline", note), ("quote_line", line), ("account", account)} <= seen
        finally:
            fresh.http.close()
        # ana (north) is told to remove the note and the line with their parents.
        last = {c["id"]: c for c in ana.pull()}
        assert last[note].get("remove") is True and last[line].get("remove") is True
    finally:
        for client in clients.values():
            client.http.close()


def test_a_document_takes_its_records_scope_and_follows_it(server: Server) -> None:
    """A document belongs to its record: whatever owner/team it says, the server files it under the
    record's scope, and it moves when the record moves (issue 18, item 4)."""
    clients = _clients(server)
    mia, ana = clients["mia"], clients["ana"]
    try:
        account, doc = str(uuid.uuid4()), str(uuid.uuid4())
        pushed = mia.push("account", account, {"name": "A", "owner": "mia", "team": "north"})
        assert pushed["status"] == "applied"
        values = {
            "title": "Site photo",
            "kind": "photo",
            "filename": "site.jpg",
            "media_type": "image/jpeg",
            "size": 3,
            "sha256": "ab" * 32,
            "record_entity": "account",
            "record_id": account,
            "version": 1,
            "owner": "ana",
            "team": "south",  # claims another team: the account's scope wins
        }
        assert ana.push("document", doc, values)["status"] == "applied"
        assert _scope_of(server, doc) == ("mia", "north")
        assert mia.push("account", account, {"owner": "sam", "team": "south"})["status"] == "applied"
        assert _scope_of(server, doc) == ("sam", "south")
    finally:
        for client in clients.values():
            client.http.close()


def test_rep_move_rules_without_a_server() -> None:
    from sfa.server.merge import User, may_write

    teams = {"ana": "north", "bob": "north", "sam": "south", "solo": ""}
    rep, manager = User("ana", "rep", "north"), User("mia", "manager", "north")

    def check(user: User, before: tuple[Any, Any] | None, after: tuple[Any, Any]) -> bool:
        return may_write(user, before, after, teams.get) is None

    assert check(rep, None, ("ana", "north")) and check(rep, None, ("ana", None))  # creates
    assert check(rep, None, ("bob", "north")) and check(rep, None, (None, "north"))
    assert not check(rep, None, ("ana", "south")) and not check(rep, None, (None, None))
    assert check(rep, ("ana", "north"), ("bob", "north"))  # a teammate
    assert check(rep, ("ana", "north"), ("newhire", "north"))  # no server user yet: stays in the team
    assert not check(rep, ("ana", "north"), ("sam", "north"))  # a user of another team
    assert not check(rep, ("ana", "north"), ("ana", "south"))  # keeping the owner, moving the team
    assert not check(rep, ("ana", "north"), ("ana", None))  # out of the team
    assert not check(rep, ("ana", "north"), (None, None))  # unscoped
    assert check(rep, ("ana", "north"), ("ana", "north"))  # no move
    for after in (("sam", "south"), ("ana", None), (None, None)):
        assert check(manager, ("ana", "north"), after)
    assert not check(manager, ("sam", "south"), ("mia", "north"))  # not visible to the manager
