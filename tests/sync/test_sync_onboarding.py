"""Onboarding and switching (issue 18, item 8): records created before the first `sfa sync login`
are adopted by the logged-in user and reach the server; a data home that was another user's is
either adopted (a new client id) or started fresh (the old data kept aside), and syncs either way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcessServer

from sfa.domain.entities import ACCOUNT, CONTACT
from sfa.domain.errors import UsageError
from sfa.services import crm, records, syncing
from sfa.store.workspace import Workspace
from sfa.sync import engine


@pytest.fixture
def inproc(tmp_path: Path) -> Iterator[InProcessServer]:
    (tmp_path / "server").mkdir()
    srv = InProcessServer(tmp_path / "server")
    yield srv
    srv.close()


def scopes(server: InProcessServer, entity: str) -> dict[str, tuple[Any, Any]]:
    return {
        r[0]: (r[1], r[2])
        for r in server.query(f"SELECT id, owner, team FROM record WHERE entity = '{entity}'")
    }


def test_records_made_before_the_first_login_are_adopted(inproc: InProcessServer, tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ana")
    ws.config.set("owner", "anastasia")  # what the laptop called its user before any server
    account = crm.add_account(ws, {"name": "Acme"})
    contact = crm.add_contact(ws, {"name": "Jane Roe", "account_id": account["id"]})
    note = records.add_note(ws, ACCOUNT, account["id"], "met at the fair")
    assert (account["owner"], account["team"]) == ("anastasia", None)
    conn = inproc.login(ws, inproc.add_user("ana", "rep", "north"))
    assert ws.store.meta("sync.user") == "ana" and (ws.owner, ws.team) == ("ana", "north")
    for entity, record_id in ((ACCOUNT, account["id"]), (CONTACT, contact["id"])):
        found = ws.store.find(entity, record_id)
        assert found is not None and (found["owner"], found["team"]) == ("ana", "north")
    summary = engine.sync_once(ws, conn=conn)
    assert summary.rejected == 0 and syncing.rejected_records(ws) == []
    assert scopes(inproc, "account") == {account["id"]: ("ana", "north")}
    assert scopes(inproc, "contact") == {contact["id"]: ("ana", "north")}
    assert scopes(inproc, "timeline")[note["id"]][1] == "north"
    # A teammate's laptop receives them.
    bob = Workspace(tmp_path / "bob")
    engine.sync_once(bob, conn=inproc.login(bob, inproc.add_user("bob", "rep", "north")))
    assert bob.store.find(CONTACT, contact["id"]) is not None
    ws.close(), bob.close()


@pytest.mark.parametrize("switch", ["adopt", "fresh"])
def test_a_home_that_was_another_users_is_adopted_or_started_fresh(
    inproc: InProcessServer, tmp_path: Path, switch: str
) -> None:
    ws = Workspace(tmp_path / "laptop")
    ana_conn = inproc.login(ws, inproc.add_user("ana", "rep", "north"))
    mine = crm.add_account(ws, {"name": "Ana's account"})
    engine.sync_once(ws, conn=ana_conn)
    unsent = crm.add_account(ws, {"name": "Not synced yet"})
    bob_token = inproc.add_user("bob", "rep", "north")
    with pytest.raises(UsageError, match="--adopt"):
        engine.login(ws, "http://sfa.test", bob_token, transport=inproc.transport)
    assert ws.store.meta("sync.user") == "ana"  # nothing changed
    old_client = ws.store.replica_id
    result = engine.login(ws, "http://sfa.test", bob_token, transport=inproc.transport, switch=switch)
    assert result["switched"] == switch and result["previous"] == "ana"
    bob_conn = inproc.connect(bob_token)
    assert ws.store.replica_id != old_client  # a client id is bound to the user that first pushed
    summary = engine.sync_once(ws, conn=bob_conn)  # no 403
    engine.sync_once(ws, conn=bob_conn)
    names = {r["name"] for r in ws.store.select(ACCOUNT)}
    if switch == "adopt":
        assert summary.rejected == 0
        assert scopes(inproc, "account") == {mine["id"]: ("bob", "north"), unsent["id"]: ("bob", "north")}
        assert names == {"Ana's account", "Not synced yet"}
    else:
        kept = Path(result["kept"])
        assert kept.exists() and kept.parent == ws.home / "previous"
        assert scopes(inproc, "account") == {mine["id"]: ("ana", "north")}  # the unsent one stayed aside
        assert names == {"Ana's account"}  # pulled fresh: the team's records
    assert ws.owner == "bob" and ws.store.meta("sync.user") == "bob"
    rows = inproc.query("SELECT client_id, user_name FROM client")
    assert sorted(json.dumps(r) for r in rows) == sorted({json.dumps([c, u]) for c, u in rows})
    ws.close()


def test_login_as_another_user_through_the_cli(laptop: Any, server: Any) -> None:
    """`sfa sync login` refuses a switch without --adopt/--fresh (exit 2, nothing changed), then works."""
    ana = laptop("ana")
    ana.ok("account", "add", "Acme")
    ana.synced()
    token = server.add_user("bob", "rep", "north")
    refused = ana.sfa("sync", "login", ana.url, "--token", token)
    assert refused.code == 2 and "--adopt" in refused.err and "Traceback" not in refused.err
    ana.ok("sync", "login", ana.url, "--token", token, "--adopt")
    assert ana.synced()["rejected"] == 0
    assert ana.ok("sync", "status", "--json").json()["user"] == "bob"
