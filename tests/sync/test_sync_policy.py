"""Issue 14 through the real server app (in-process, tests/sync/inprocess.py): who may write the
manager's records (docs/policy.md), the CLI refusing early from the role cached at login, the policy
reaching a rep's laptop, and price lists."""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from inprocess import URL, Bridge, InProcessServer
from synchelp import BACKENDS

from sfa.domain import ids
from sfa.domain.hlc import Hlc
from sfa.domain.policy import policy_id
from sfa.protocol import PROTOCOL
from sfa.server import admin, storage
from sfa.server.app import create_app
from sfa.server.merge import now_ms
from sfa.store.workspace import Workspace
from sfa.sync import engine
from tests.conftest import run_sfa

STAGES = json.dumps(
    [
        {"name": "lead", "probability": 10, "category": "pipeline", "stall_days": 14, "key_fields": []},
        {"name": "won", "probability": 100, "category": "closed", "stall_days": 21, "key_fields": []},
        {"name": "lost", "probability": 0, "category": "omitted", "stall_days": 21, "key_fields": []},
    ]
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    (tmp_path / "server").mkdir()
    srv = InProcessServer(tmp_path / "server")
    yield srv
    srv.close()


class _OverDatabase(InProcessServer):
    """The app in-process over any database URL (PostgreSQL here)."""

    def __init__(self, home: Path, db: str) -> None:
        self.home = home
        self.db = db
        admin.init(home, db)
        self.engine = storage.make_engine(db)
        self.app = create_app(self.engine)
        self.transport = Bridge(self.app)


@pytest.fixture(params=BACKENDS)
def any_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InProcessServer]:
    """The server on SQLite and on a throwaway PostgreSQL database (tests/sync/conftest.py)."""
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
    """One user pushing hand-made mutations, as a laptop would, and reading the results."""

    def __init__(self, server: InProcessServer, name: str, role: str, team: str | None) -> None:
        self.server = server
        self.name = name
        self.token = server.add_user(name, role, team)
        self.client_id = ids.uuid7()
        self.seq = itertools.count(1)
        self.replica = f"{abs(hash(name)) % 16**16:016x}"
        self.tick = itertools.count()

    def clock(self) -> str:
        return Hlc(now_ms(), next(self.tick), self.replica).encode()

    def push(
        self,
        entity: str,
        record_id: str,
        values: dict[str, Any],
        base: dict[str, str] | None = None,
        known: dict[str, str] | None = None,
    ) -> Any:
        fields = {name: [value, self.clock()] for name, value in values.items()}
        mutation: dict[str, Any] = {
            "seq": next(self.seq),
            "entity": entity,
            "id": record_id,
            "fields": fields,
        }
        if base:
            mutation["base"] = base
        if known is not None:
            mutation["known"] = known
        body = {"protocol": PROTOCOL, "client_id": self.client_id, "acked": 0, "mutations": [mutation]}
        with httpx.Client(transport=self.server.transport, base_url=URL) as http:
            reply = http.post("/v1/push", json=body, headers={"authorization": f"Bearer {self.token}"})
        assert reply.status_code == 200, reply.text
        [result] = reply.json()["results"]
        return result


def _record(server: InProcessServer, record_id: str) -> dict[str, Any] | None:
    rows = server.query(f"SELECT fields FROM record WHERE id = '{record_id}'")
    return json.loads(rows[0][0]) if rows else None


def _as_before(after: dict[str, Any] | None, before: dict[str, Any] | None) -> dict[str, Any] | None:
    """`after` without the server's "no value" correctives of fields `before` did not have: a
    rejected write of a field the record never had is answered with [None, <server clock>] stored
    in the record (docs/sync-protocol.md; sfa/server/app.py `_revert`). Fields `before` had are
    kept as they are, so any change to them still shows."""
    if after is None or before is None:
        return after
    return {
        name: pair
        for name, pair in after.items()
        if name in before or not (pair[0] is None and str(pair[1]).endswith(":server"))
    }


USERS = {
    "rep": ("ana", "rep", "north"),
    "manager": ("max", "manager", "north"),
    "other manager": ("olga", "manager", "south"),
    "admin": ("root", "admin", None),
}


def _kinds(quote_id: str) -> dict[str, dict[str, Any]]:
    """Per record kind: its entity, the values of a new one, an edit, and who may write it."""
    product = ids.uuid7()
    return {
        "team policy": {
            "entity": "policy",
            "create": {"name": "sales", "stages": STAGES, "team": "north", "strict": False},
            "edit": {"strict": True},
            "allowed": {"manager", "admin"},
        },
        "company policy": {
            "entity": "policy",
            "create": {"name": "sales", "stages": STAGES, "strict": False},
            "edit": {"strict": True},
            "allowed": {"admin"},
        },
        "product price": {
            "entity": "product",
            "create": {"sku": "W1", "name": "Widget", "unit_price": "100", "currency": "EUR"},
            "edit": {"unit_price": "120"},
            "allowed": {"manager", "other manager", "admin"},
        },
        "price list": {
            "entity": "price_list",
            "create": {"name": "Dealers", "currency": "EUR", "team": "north", "active": True},
            "edit": {"currency": "USD"},
            "allowed": {"manager", "admin"},
        },
        "price list item": {
            "entity": "price_list_item",
            "create": {
                "price_list_id": ids.uuid7(),
                "product_id": product,
                "unit_price": "90",
                "min_quantity": "1",
                "team": "north",
            },
            "edit": {"unit_price": "85"},
            "allowed": {"manager", "admin"},
        },
        "target": {
            "entity": "target",
            "create": {
                "period": "2027-Q1",
                "metric": "won_amount",
                "value": "1000",
                "owner": "ana",
                "team": "north",
            },
            "edit": {"value": "2000"},
            "allowed": {"manager", "admin"},
        },
        "review": {
            "entity": "review",
            "create": {
                "rep": "ana",
                "period": "2026-Q4",
                "reviewer": "x",
                "status": "draft",
                "owner": "ana",
                "team": "north",
            },
            "edit": {"strengths": "listens well"},
            "allowed": {"manager", "admin"},
        },
        "territory": {
            "entity": "territory",
            "create": {"name": "Bavaria", "rules": "postcode 80000-87999", "priority": 1},
            "edit": {"rules": "country DE"},
            "allowed": {"admin"},
        },
        "approval decision": {
            "entity": "approval",
            "create": {
                "entity": "quote",
                "record_id": quote_id,
                "action": "approve",
                "by": "x",
                "at": "2027-01-05T10:00:00Z",
                "owner": "ana",
                "team": "north",
            },
            "edit": {"comment": "changed"},
            "allowed": {"manager", "admin"},
            "insert_only": True,
        },
    }


def test_server_enforcement_matrix(any_server: InProcessServer) -> None:
    server = any_server
    """rep / manager of the team / manager of another team / admin x the manager's record kinds
    (policy, product price, price list and item, target, review, territory, approval) x
    create / edit / delete: exactly the allowed cells apply; the others are rejected with a reason
    and leave the server's record as it was."""
    users = {label: Pusher(server, *spec) for label, spec in USERS.items()}
    admin = users["admin"]
    quote_id = ids.uuid7()
    made = users["rep"].push(
        "quote",
        quote_id,
        {
            "number": "Q-1",
            "revision": 1,  # NOT NULL on every laptop: the server refuses a create without it
            "account_id": ids.uuid7(),
            "owner": "ana",
            "team": "north",
            "status": "draft",
        },
    )
    assert made["status"] == "applied"
    cells = []
    for kind, spec in _kinds(quote_id).items():
        entity = spec["entity"]
        for label, user in users.items():
            for op in ("create", "edit", "delete"):
                record_id = policy_id(None) if kind == "company policy" else ids.uuid7()
                if op == "create":
                    before = _record(server, record_id)
                    if before is not None:  # the company policy has one id: start from none
                        server_db_delete(server, record_id)
                    result = user.push(entity, record_id, _as(user, spec["create"]))
                else:
                    if _record(server, record_id) is None:
                        assert (
                            admin.push(entity, record_id, _as(admin, spec["create"]))["status"] == "applied"
                        )
                    before = _record(server, record_id)
                    assert before is not None
                    change = spec["edit"] if op == "edit" else {"deleted": True}
                    base = {name: before[name][1] for name in change if name in before}
                    seen = {name: pair[1] for name, pair in before.items()}
                    result = user.push(entity, record_id, change, base, seen)
                after = _record(server, record_id)
                allowed = label in spec["allowed"] and not (spec.get("insert_only") and op != "create")
                cells.append((kind, label, op, result["status"]))
                if allowed:
                    assert result["status"] == "applied", (kind, label, op, result)
                    if op == "delete":
                        assert after is not None and after["deleted"][0] is True
                else:
                    assert result["status"] == "rejected", (kind, label, op, result)
                    assert result.get("reason"), (kind, label, op)
                    if op == "create":
                        assert after is None, (kind, label, op)
                    else:
                        assert _as_before(after, before) == before, (kind, label, op)
                if kind == "company policy":
                    server_db_delete(server, record_id)
    assert len(cells) == 9 * 4 * 3


def _as(user: Pusher, values: dict[str, Any]) -> dict[str, Any]:
    """An approval entry names who makes it; a manager writes a review as its reviewer (an admin
    writes one naming the team's manager, who then edits it)."""
    if "reviewer" in values:
        return {**values, "reviewer": "max" if user.name == "root" else user.name}
    return {**values, "by": user.name} if "by" in values else values


def server_db_delete(server: InProcessServer, record_id: str) -> None:
    with server.engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(text("DELETE FROM record WHERE id = :i"), {"i": record_id})


def test_a_rep_may_submit_and_edit_product_descriptions(server: InProcessServer) -> None:
    rep = Pusher(server, "ana", "rep", "north")
    admin = Pusher(server, "root", "admin", None)
    product = ids.uuid7()
    assert admin.push("product", product, {"sku": "W", "name": "W", "unit_price": "1"})["status"] == "applied"
    assert rep.push("product", product, {"description": "blue"})["status"] == "applied"
    quote = ids.uuid7()
    quote_values = {"number": "Q", "revision": 1, "status": "draft", "account_id": ids.uuid7()}
    quote_values |= {"owner": "ana", "team": "north"}
    made = rep.push("quote", quote, quote_values)
    assert made["status"] == "applied", made
    submit = {
        "entity": "quote",
        "record_id": quote,
        "action": "submit",
        "by": "ana",
        "at": "2027-01-05T10:00:00Z",
        "owner": "ana",
        "team": "north",
    }
    assert rep.push("approval", ids.uuid7(), submit)["status"] == "applied"
    forged = rep.push("approval", ids.uuid7(), {**submit, "by": "max"})
    assert forged["status"] == "rejected" and forged["reason"].startswith("by:")


# -- the laptops ---------------------------------------------------------------------------------


def _laptop(tmp_path: Path, server: InProcessServer, name: str, role: str, team: str | None) -> Path:
    home = tmp_path / name
    home.mkdir()
    token = server.add_user(name, role, team)
    ws = Workspace(home)
    try:
        server.login(ws, token)
    finally:
        ws.close()
    return home


def _sync(server: InProcessServer, home: Path) -> engine.Summary:
    ws = Workspace(home)
    try:
        conn = server.connect(engine.load_token(home))
        try:
            return engine.sync_once(ws, conn=conn)
        finally:
            conn.close()
    finally:
        ws.close()


POLICY_TOML = """
strict = true
quote_discount_limit = "10"

[[stages]]
name = "lead"
probability = 10
stall_days = 14
key_fields = ["amount"]

[[stages]]
name = "offer"
probability = 60

[[stages]]
name = "won"
probability = 100

[[stages]]
name = "lost"
probability = 0
"""


def test_a_rep_is_refused_early_and_picks_up_the_managers_policy(
    tmp_path: Path, server: InProcessServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    rep = _laptop(tmp_path, server, "ana", "rep", "north")
    manager = _laptop(tmp_path, server, "max", "manager", "north")
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICY_TOML, encoding="utf-8")

    refused = run_sfa(rep, "policy", "import", str(policy_file))
    assert refused.code == 1 and refused.out == ""
    assert refused.err.count("\n") == 1 and "only a manager or an admin" in refused.err
    assert run_sfa(rep, "product", "add", "Widget", "--sku", "W", "--price", "10").code == 1
    assert run_sfa(rep, "pricelist", "add", "Dealers").code == 1

    # The rep's laptop has deals in the old (configured) stages.
    acme = run_sfa(rep, "account", "add", "Acme", "-q").out.strip()
    made = run_sfa(rep, "opp", "add", "Big deal", "--account", acme, "--stage", "rfp received", "-q")
    assert made.code == 0, made.err
    assert "local" in run_sfa(rep, "policy", "show").out

    other = run_sfa(manager, "policy", "import", str(policy_file), "--team", "south")
    assert other.code == 1 and "own team" in other.err
    done = run_sfa(manager, "policy", "import", str(policy_file))
    assert done.code == 0, done.err
    assert "team north" in done.out
    _sync(server, manager)
    # The real `sfa sync` command, its HTTP client on the in-process server's transport.
    real = engine.Connection
    monkeypatch.setattr(
        engine, "Connection", lambda url, token, **kw: real(url, token, transport=server.transport, **kw)
    )
    picked = run_sfa(rep, "sync")
    assert picked.code == 0, picked.err
    assert "1 deal(s) in the stage 'rfp received', which the sales policy does not have" in picked.err

    shown = run_sfa(rep, "policy", "show", "--json").json()
    assert shown["source"] == "team north" and shown["strict"] is True
    assert [s["name"] for s in shown["stages"]] == ["lead", "offer", "won", "lost"]
    assert shown["unknown_stages"] == {"rfp received": 1}  # kept, reported, not renamed
    listed = run_sfa(rep, "opp", "list", "--json").json()
    assert [o["stage"] for o in listed] == ["rfp received"]
    note = run_sfa(rep, "policy", "show")
    assert "rfp received" in note.err
    # New deals take the policy's stages.
    assert run_sfa(rep, "opp", "add", "Next", "--account", acme, "--stage", "rfp received").code == 1
    assert run_sfa(rep, "opp", "add", "Next", "--account", acme, "--stage", "offer").code == 0


def test_a_rep_push_of_policy_is_rejected_and_lands_in_the_rejected_list(
    tmp_path: Path, server: InProcessServer
) -> None:
    """A laptop that wrote policy before it logged in (or an old sfa): the server says no."""
    rep = tmp_path / "ana"
    rep.mkdir()
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICY_TOML, encoding="utf-8")
    assert run_sfa(rep, "policy", "import", str(policy_file)).code == 0  # no server: allowed
    token = server.add_user("ana", "rep", "north")
    ws = Workspace(rep)
    try:
        server.login(ws, token)
    finally:
        ws.close()
    summary = _sync(server, rep)
    assert summary.rejected == 1
    assert server.query("SELECT count(*) FROM record WHERE entity = 'policy'") == [(0,)]
    rejected = run_sfa(rep, "sync", "rejected", "--json")
    assert rejected.code == 0, rejected.err
    assert "only a manager or an admin may change the policy" in rejected.out


def test_price_lists_reach_the_rep_and_price_quote_lines(tmp_path: Path, server: InProcessServer) -> None:
    rep = _laptop(tmp_path, server, "ana", "rep", "north")
    manager = _laptop(tmp_path, server, "max", "manager", "north")
    for args in (
        ("product", "add", "Widget", "--sku", "W1", "--price", "100"),
        ("pricelist", "add", "North dealers"),
        ("pricelist", "set-price", "North dealers", "W1", "90"),
        ("pricelist", "set-price", "North dealers", "W1", "80", "--min-qty", "10"),
    ):
        result = run_sfa(manager, *args)
        assert result.code == 0, (args, result.err)
    _sync(server, manager)
    assert _sync(server, rep).rejected == 0
    assert "80.00" in run_sfa(rep, "pricelist", "show", "North dealers").out
    assert run_sfa(rep, "pricelist", "set-price", "North dealers", "W1", "1").code == 1
    acme = run_sfa(rep, "account", "add", "Acme", "-q").out.strip()
    quote = run_sfa(rep, "quote", "new", "--account", acme, "-q").out.strip()
    for qty in ("1", "12"):
        added = run_sfa(rep, "quote", "add-line", quote, "--product", "W1", "--qty", qty)
        assert added.code == 0, added.err
    lines = run_sfa(rep, "quote", "show", quote, "--json").json()["lines"]
    assert [Decimal(line["unit_price"]) for line in lines] == [Decimal(90), Decimal(80)]


# -- approvals -----------------------------------------------------------------------------------

LIMITS = """
quote_discount_limit = "10"
line_discount_limit = "15"

[[stages]]
name = "lead"
probability = 10

[[stages]]
name = "won"
probability = 100

[[stages]]
name = "lost"
probability = 0
"""


def _ok(home: Path, *args: str) -> str:
    result = run_sfa(home, *args)
    assert result.code == 0, (args, result.err)
    return result.out


def test_quote_discount_approval_across_laptops(tmp_path: Path, server: InProcessServer) -> None:
    rep = _laptop(tmp_path, server, "ana", "rep", "north")
    max_ = _laptop(tmp_path, server, "max", "manager", "north")
    mia = _laptop(tmp_path, server, "mia", "manager", "north")
    olga = _laptop(tmp_path, server, "olga", "manager", "south")
    limits = tmp_path / "limits.toml"
    limits.write_text(LIMITS, encoding="utf-8")
    _ok(max_, "policy", "import", str(limits), "--team", "north")
    _sync(server, max_)
    _sync(server, rep)

    acme = _ok(rep, "account", "add", "Acme", "-q").strip()
    quote = _ok(rep, "quote", "new", "--account", acme, "-q").strip()
    _ok(rep, "quote", "add-line", quote, "--description", "Pump", "--price", "1000", "--qty", "2")
    _ok(rep, "quote", "add-line", quote, "--description", "Service", "--price", "500", "--discount", "20%")
    number = run_sfa(rep, "quote", "show", quote, "--json").json()["number"]
    refused = run_sfa(rep, "quote", "send", quote)
    assert refused.code == 1 and "needs approval for a line discount of 20.00 %" in refused.err
    assert "quote submit" in refused.err and refused.err.count("\n") == 1
    _ok(rep, "quote", "submit", quote, "--comment", "loyal customer")
    assert run_sfa(rep, "quote", "submit", quote).code == 1  # already pending
    assert "waiting" in run_sfa(rep, "quote", "send", quote).err
    early = run_sfa(rep, "approval", "approve", number)
    assert early.code == 1 and "only a manager" in early.err
    _sync(server, rep)

    for manager in (max_, mia, olga):
        _sync(server, manager)
    [row] = run_sfa(max_, "approval", "list", "--pending", "--json").json()
    assert row["quote"] == number and row["status"] == "pending" and row["comment"] == "loyal customer"
    assert row["line_discount"] == "20.00" and row["quote_discount"] == "4.00"
    assert run_sfa(olga, "approval", "list", "--json").json() == []  # another team's quote is not hers
    other = run_sfa(olga, "approval", "approve", row["id"])
    assert other.code == 1

    # Two managers decide differently, each offline: a conflict, not a silent overwrite.
    _ok(max_, "approval", "approve", row["id"], "--comment", "fine")
    _ok(mia, "approval", "reject", number, "--comment", "too much")
    for home in (max_, mia, rep):
        assert _sync(server, home).rejected == 0
    for home in (max_, mia):
        _sync(server, home)
    [row] = run_sfa(rep, "approval", "list", "--json").json()
    assert row["status"] == "conflict"
    assert sorted((d["by"], d["action"]) for d in row["decisions"]) == [("max", "approve"), ("mia", "reject")]
    assert "decided differently" in run_sfa(rep, "quote", "send", quote).err
    assert [r["status"] for r in run_sfa(max_, "approval", "list", "--pending", "--json").json()] == [
        "conflict"
    ]

    # One of them decides again: settled.
    _ok(mia, "approval", "approve", number)
    _sync(server, mia)
    _sync(server, rep)
    assert run_sfa(rep, "approval", "list", "--json").json()[0]["status"] == "approved"
    assert run_sfa(rep, "approval", "list", "--pending", "--json").json() == []

    # A line changed after the submit: the approval no longer covers the quote.
    _ok(rep, "quote", "add-line", quote, "--description", "Extra", "--price", "10", "--discount", "50%")
    changed = run_sfa(rep, "quote", "send", quote)
    assert changed.code == 1 and "changed after it was submitted" in changed.err
    _ok(rep, "quote", "remove-line", quote, "3")
    _ok(rep, "quote", "submit", quote)
    _sync(server, rep)
    _sync(server, max_)
    _ok(max_, "approval", "approve", number)
    _sync(server, max_)
    _sync(server, rep)
    _ok(rep, "quote", "send", quote)
    assert run_sfa(rep, "quote", "show", quote, "--json").json()["status"] == "sent"


# -- targets and reviews -------------------------------------------------------------------------


def test_review_writes_by_person(any_server: InProcessServer) -> None:
    server = any_server
    """Only the reviewer writes a review; the rep may only acknowledge a shared one."""
    ana = Pusher(server, "ana", "rep", "north")
    max_ = Pusher(server, "max", "manager", "north")
    mia = Pusher(server, "mia", "manager", "north")
    olga = Pusher(server, "olga", "manager", "south")
    admin = Pusher(server, "root", "admin", None)
    review = {"rep": "ana", "period": "2026-Q4", "status": "draft", "owner": "ana", "team": "north"}
    rid = ids.uuid7()
    assert ana.push("review", rid, {**review, "reviewer": "ana"})["status"] == "rejected"
    assert mia.push("review", rid, {**review, "reviewer": "max"})["status"] == "rejected"  # not as herself
    assert olga.push("review", rid, {**review, "reviewer": "olga"})["status"] == "rejected"
    assert _record(server, rid) is None
    assert max_.push("review", rid, {**review, "reviewer": "max"})["status"] == "applied"

    def edit(user: Pusher, values: dict[str, Any]) -> str:
        before = _record(server, rid)
        assert before is not None
        base = {name: before[name][1] for name in values if name in before}
        result = user.push("review", rid, values, base)
        if result["status"] == "rejected":
            assert result["reason"] and _as_before(_record(server, rid), before) == before
        return str(result["status"])

    assert edit(ana, {"status": "acknowledged"}) == "rejected"  # not shared yet
    assert edit(ana, {"strengths": "I am great"}) == "rejected"
    assert edit(mia, {"strengths": "fine"}) == "rejected"
    assert edit(max_, {"strengths": "Closes well", "status": "shared"}) == "applied"
    assert edit(ana, {"status": "acknowledged", "goals": "more"}) == "rejected"
    assert edit(ana, {"status": "acknowledged"}) == "applied"
    assert edit(admin, {"goals": "set by admin"}) == "applied"
    assert edit(ana, {"deleted": True}) == "rejected"


TARGETS_CSV = """owner,team,period,metric,value,stretch,currency
ana,north,2027-Q1,won_amount,100k,120k,EUR
ben,north,2027-Q1,won_amount,50k,,EUR
ana,north,2027-Q1,visits_done,10,,
"""


def test_targets_attainment_and_reviews_across_laptops(tmp_path: Path, server: InProcessServer) -> None:
    ana = _laptop(tmp_path, server, "ana", "rep", "north")
    max_ = _laptop(tmp_path, server, "max", "manager", "north")
    csv_file = tmp_path / "targets.csv"
    csv_file.write_text(TARGETS_CSV, encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(TARGETS_CSV + "ana,north,2027-Q1,smiles,3,,\n", encoding="utf-8")
    refused = run_sfa(max_, "target", "import", str(bad))
    assert refused.code == 1 and "line 5: metric" in refused.err
    assert run_sfa(max_, "target", "list", "--json").json() == []  # all or nothing
    assert "3 target(s)" in _ok(max_, "target", "import", str(csv_file))
    _ok(
        max_,
        "target",
        "set",
        "--owner",
        "ana",
        "--period",
        "2027-Q1",
        "--metric",
        "won_amount",
        "--value",
        "80k",
    )
    early = run_sfa(
        ana,
        "target",
        "set",
        "--owner",
        "ana",
        "--period",
        "2027-Q1",
        "--metric",
        "won_amount",
        "--value",
        "1",
    )
    assert early.code == 1 and "only a manager" in early.err
    _sync(server, max_)
    _sync(server, ana)
    listed = run_sfa(ana, "target", "list", "--period", "2027-Q1", "--json").json()
    assert len(listed) == 3 and {t["value"] for t in listed if t["metric"] == "won_amount"} == {
        "80000",
        "50000",
    }

    acme = _ok(ana, "account", "add", "Acme", "-q").strip()
    won = _ok(
        ana, "opp", "add", "Won one", "--account", acme, "--amount", "30k", "--close-date", "2027-02-10", "-q"
    ).strip()
    _ok(ana, "opp", "won", won)
    _ok(
        ana,
        "opp",
        "add",
        "Open one",
        "--account",
        acme,
        "--amount",
        "100k",
        "--stage",
        "final stage",
        "--close-date",
        "2027-03-01",
    )
    _ok(ana, "opp", "add", "Later", "--account", acme, "--amount", "500k", "--close-date", "2027-05-01")
    _sync(server, ana)
    _sync(server, max_)

    by_owner = run_sfa(max_, "report", "attainment", "--period", "2027-q1", "--by", "owner", "--json").json()
    rows = {(r["subject"], r["metric"]): r for r in by_owner["rows"]}
    ana_won = rows[("ana", "won_amount")]
    assert Decimal(ana_won["target"]) == 80000 and Decimal(ana_won["actual"]) == 30000
    assert Decimal(ana_won["gap"]) == 50000 and Decimal(ana_won["attainment"]) == Decimal("37.5")
    assert Decimal(ana_won["pipeline"]) == 90000 and Decimal(ana_won["coverage"]) == Decimal("1.80")
    assert Decimal(rows[("ben", "won_amount")]["actual"]) == 0
    assert Decimal(rows[("ana", "visits_done")]["actual"]) == 0
    by_team = run_sfa(max_, "report", "attainment", "--period", "2027-Q1", "--by", "team", "--json").json()
    team_won = next(r for r in by_team["rows"] if r["metric"] == "won_amount")
    assert team_won["subject"] == "team north" and team_won["summed"] is True
    assert Decimal(team_won["target"]) == 130000 and Decimal(team_won["actual"]) == 30000
    only_ben = run_sfa(max_, "report", "attainment", "--period", "2027-Q1", "--owner", "ben", "--json").json()
    assert [r["subject"] for r in only_ben["rows"]] == ["ben"]
    csv_out = run_sfa(max_, "report", "attainment", "--period", "2027-Q1", "--csv").out.splitlines()
    assert csv_out[0].startswith("subject,metric,currency,target,actual,gap,attainment")
    assert run_sfa(max_, "report", "attainment", "--period", "2027-Q9").code == 1

    # A review: the facts are in the editor's template; the rep acknowledges once it is shared.
    review_file = tmp_path / "review.toml"
    review_file.write_text(
        'strengths = """\nCloses well\n"""\nimprovements = "More visits"\ngoals = "Two new accounts"\n'
        "[scores]\nwon_amount = 3\nvisits_done = 2\n",
        encoding="utf-8",
    )
    assert (
        run_sfa(ana, "review", "new", "--rep", "ana", "--period", "2027-Q1", "--from", str(review_file)).code
        == 1
    )
    template = tmp_path / "seen.toml"
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import shutil, sys\n"
        f"shutil.copy(sys.argv[1], {str(template)!r})\n"
        f"shutil.copy({str(review_file)!r}, sys.argv[1])\n",
        encoding="utf-8",
    )
    made = run_sfa(
        max_,
        "review",
        "new",
        "--rep",
        "ana",
        "--period",
        "2027-Q1",
        env={"EDITOR": f"{sys.executable} {editor}", "VISUAL": ""},
    )
    assert made.code == 0, made.err
    assert "won_amount: actual 30,000.00 EUR, target 80,000.00 EUR, 37.5 %" in template.read_text(
        encoding="utf-8"
    )
    [review] = run_sfa(max_, "review", "list", "--json").json()
    assert review["status"] == "draft" and review["scores"] == {"visits_done": 2, "won_amount": 3}
    _sync(server, max_)
    _sync(server, ana)
    assert run_sfa(ana, "review", "list", "--json").json() == []  # a draft is the reviewer's
    assert run_sfa(ana, "review", "share", review["ref"]).code == 1
    _ok(max_, "review", "share", review["ref"])
    _sync(server, max_)
    _sync(server, ana)
    [seen] = run_sfa(ana, "review", "list", "--json").json()
    assert seen["status"] == "shared" and seen["strengths"] == "Closes well"
    assert "won_amount: 3/5" in _ok(ana, "review", "show", seen["ref"])
    _ok(ana, "review", "ack", seen["ref"])
    assert run_sfa(ana, "review", "ack", seen["ref"]).code == 1
    assert _sync(server, ana).rejected == 0
    _sync(server, max_)
    assert run_sfa(max_, "review", "list", "--json").json()[0]["status"] == "acknowledged"


# -- playbooks -----------------------------------------------------------------------------------


def test_two_laptops_offline_move_a_deal_to_the_same_stage_one_set_of_tasks(
    tmp_path: Path, server: InProcessServer
) -> None:
    ana = _laptop(tmp_path, server, "ana", "rep", "north")
    ana2 = _laptop(tmp_path, server, "ana2", "rep", "north")  # a second rep of the team (or laptop)
    max_ = _laptop(tmp_path, server, "max", "manager", "north")
    _ok(
        max_,
        "playbook",
        "add",
        "qualification",
        "Call the decision maker",
        "--kind",
        "call",
        "--due",
        "+3d",
        "--required",
    )
    _ok(max_, "playbook", "add", "qualification", "Send the brochure", "--kind", "email")
    assert run_sfa(ana, "playbook", "add", "qualification", "Mine").code == 1  # a rep: refused early
    _sync(server, max_)
    acme = _ok(ana, "account", "add", "Acme", "-q").strip()
    deal = _ok(ana, "opp", "add", "Pumps", "--account", acme, "-q").strip()
    _sync(server, ana)
    _sync(server, ana2)

    # Offline, both move the deal to qualification.
    for home in (ana, ana2):
        moved = run_sfa(home, "opp", "stage", deal, "qualification")
        assert moved.code == 0, moved.err
        assert (
            "2 task(s) created" in moved.err and "[ ] Call the decision maker [call] (required)" in moved.err
        )
    for home in (ana, ana2, ana, ana2):
        assert _sync(server, home).rejected == 0
    for home in (ana, ana2):
        tasks = run_sfa(home, "task", "list", "--all", "--json").json()
        assert sorted(t["title"] for t in tasks) == ["Call the decision maker", "Send the brochure"]
    assert server.query("SELECT count(*) FROM record WHERE entity = 'task'") == [(2,)]
    assert server.query("SELECT count(*) FROM record WHERE entity = 'conflict'") == [(0,)]

    # Back and forth: no task twice, not even a done one.
    call = next(t for t in run_sfa(ana, "task", "list", "--all", "--json").json() if "Call" in t["title"])
    _ok(ana, "task", "done", call["id"])
    _ok(ana, "opp", "stage", deal, "identification")
    again = _ok(ana, "opp", "stage", deal, "qualification")
    assert again  # printed the moved line
    assert len(run_sfa(ana, "task", "list", "--all", "--json").json()) == 2
    nxt = run_sfa(ana, "opp", "next", deal, "--json").json()
    assert nxt["stage"] == "qualification"
    assert [(s["title"], s["done"]) for s in nxt["steps"]] == [
        ("Call the decision maker", True),
        ("Send the brochure", False),
    ]
