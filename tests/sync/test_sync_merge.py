"""Concurrent edits: per-field merge, conflicts and their resolution, clock skew, delete races, scope."""

from __future__ import annotations

import time
from typing import Any
from unittest import mock

from synchelp import Laptop, Server, comparable

from sfa.domain.entities import ACCOUNT, CONTACT, OPPORTUNITY
from sfa.services import records
from sfa.sync import engine


def _everywhere(server: Server, *laps: Laptop) -> dict[tuple[str, str], dict[str, Any]]:
    expected = comparable(server.records())
    for lap in laps:
        assert comparable(lap.records()) == expected
    return expected


def _contact(ana: Laptop, *others: Laptop) -> tuple[str, str]:
    account = ana.ok("account", "add", "Acme", "-q").out.strip()
    contact = ana.ok(
        "contact", "add", "Jane Doe", "--account", account, "--phone", "+49 30 1111", "-q"
    ).out.strip()
    ana.synced()
    for lap in others:
        lap.synced()
    return account, contact


def test_05_different_fields_both_survive(laptop: Any, server: Server) -> None:
    ana, bob = laptop("ana"), laptop("bob")
    _, contact = _contact(ana, bob)
    ana.ok("contact", "edit", contact, "--phone", "+49 30 2222")
    bob.ok("contact", "edit", contact, "--email", "jane@acme.de")
    ana.synced(), bob.synced(), ana.synced()
    data = _everywhere(server, ana, bob)[("contact", contact)]
    assert data["phone"] == "+49 30 2222" and data["email"] == "jane@acme.de"
    assert ana.ok("sync", "conflicts", "--json").json() == []


def test_06_same_field_one_winner_loser_kept_resolve_everywhere(laptop: Any, server: Server) -> None:
    ana, bob = laptop("ana"), laptop("bob")
    account, contact = _contact(ana, bob)
    ana.ok("contact", "edit", contact, "--phone", "+49 30 2222")
    time.sleep(0.01)
    bob.ok("contact", "edit", contact, "--phone", "+49 30 3333")  # the later write
    ana.synced(), bob.synced(), ana.synced()
    data = _everywhere(server, ana, bob)[("contact", contact)]
    assert data["phone"] == "+49 30 3333"
    for lap in (ana, bob):
        listed = lap.ok("sync", "conflicts", "--json").json()
        assert [(c["field"], c["kept"], c["lost"], c["kind"]) for c in listed] == [
            ("phone", "+49 30 3333", "+49 30 2222", "lww")
        ]
    conflict = ana.ok("sync", "conflicts", "--json").json()[0]["id"]
    ana.ok("sync", "resolve", conflict[-12:-4], "--ours")
    ana.synced(), bob.synced()
    data = _everywhere(server, ana, bob)[("contact", contact)]
    assert data["phone"] == "+49 30 2222"
    assert ana.ok("sync", "conflicts", "--json").json() == bob.ok("sync", "conflicts", "--json").json() == []
    # A money field: the server keeps its value and flags the other for a person.
    opp = ana.ok("opp", "add", "Big deal", "--account", account, "--amount", "1000", "-q").out.strip()
    ana.synced(), bob.synced()
    ana.ok("opp", "edit", opp, "--amount", "2000")
    bob.ok("opp", "edit", opp, "--amount", "3000")
    ana.synced(), bob.synced(), ana.synced()
    data = _everywhere(server, ana, bob)[("opportunity", opp)]
    assert data["amount"] == "2000.00"  # the first to reach the server stays
    flagged = [c for c in bob.ok("sync", "conflicts", "--json").json() if c["field"] == "amount"]
    assert [(c["kind"], c["kept"], c["lost"]) for c in flagged] == [("flag", "2000.00", "3000.00")]
    bob.ok("sync", "resolve", flagged[0]["id"], "--value", "2500")
    bob.synced(), ana.synced()
    assert _everywhere(server, ana, bob)[("opportunity", opp)]["amount"] == "2500"
    assert ana.ok("sync", "conflicts", "--json").json() == []


def test_07_clock_three_days_ahead_does_not_win_later(laptop: Any, server: Server) -> None:
    ana, bob = laptop("ana"), laptop("bob")
    account = ana.ok("account", "add", "Acme", "--phone", "+49 30 1111", "-q").out.strip()
    ana.synced(), bob.synced()
    ahead = int(time.time() * 1000) + 3 * 24 * 3600 * 1000
    ws_ana, ws_bob = ana.workspace(), bob.workspace()
    try:
        real = time.time
        three_days_ahead = mock.patch("time.time", lambda: real() + 3 * 24 * 3600)
        for round_ in range(2):
            with three_days_ahead:
                records.edit(ws_ana, ACCOUNT, account, {"phone": f"+49 30 20{round_}"})  # written "in 3 days"
            # The server corrects ana's clock by her skew as measured at her push, which is off by that
            # push's delay (the client's stamp to the server's): bob's edit must come later than any
            # such delay, even on a loaded machine running tests in parallel (0.02 s was not).
            time.sleep(1.0)
            records.edit(ws_bob, ACCOUNT, account, {"phone": f"+49 30 30{round_}"})  # written later, really
            with three_days_ahead:
                engine.sync_once(ws_ana)
            engine.sync_once(ws_bob)
            with three_days_ahead:
                engine.sync_once(ws_ana)
            assert ws_ana.store.get(ACCOUNT, account)["phone"] == f"+49 30 30{round_}"
            assert ws_bob.store.get(ACCOUNT, account)["phone"] == f"+49 30 30{round_}"
        assert ws_bob.store.clock.last.ms < ahead - 24 * 3600 * 1000  # the skew did not leak
    finally:
        ws_ana.close()
        ws_bob.close()
    assert _everywhere(server, ana, bob)[("account", account)]["phone"] == "+49 30 301"


def test_08_delete_racing_edit_both_orders(laptop: Any, server: Server) -> None:
    ana, bob = laptop("ana"), laptop("bob")
    account = ana.ok("account", "add", "Acme", "-q").out.strip()
    first = ana.ok("contact", "add", "Jane", "--account", account, "-q").out.strip()
    second = ana.ok("contact", "add", "Joe", "--account", account, "-q").out.strip()
    ana.synced(), bob.synced()
    for contact, order in ((first, (ana, bob)), (second, (bob, ana))):
        ana.ok("contact", "delete", contact)
        bob.ok("contact", "edit", contact, "--phone", "+49 30 9999")
        order[0].synced(), order[1].synced(), order[0].synced()
    data = _everywhere(server, ana, bob)
    for contact in (first, second):
        assert data[("contact", contact)]["deleted"] is False
        assert data[("contact", contact)]["phone"] == "+49 30 9999"
    for lap in (ana, bob):
        kinds = sorted((c["record_id"], c["kind"]) for c in lap.ok("sync", "conflicts", "--json").json())
        assert kinds == sorted([(first, "delete"), (second, "delete")])
        names = {line.split("\t")[1] for line in lap.ok("contact", "list").out.splitlines()[1:]}
        assert names == {"Jane", "Joe"}


def test_09_reassigned_record_leaves_old_rep_pending_edit_rejected(laptop: Any, server: Server) -> None:
    ana, mia = laptop("ana"), laptop("mia", role="manager")
    laptop("sam", team="south")
    account = ana.ok("account", "add", "Acme", "-q").out.strip()
    opp = ana.ok("opp", "add", "Deal", "--account", account, "--amount", "500", "-q").out.strip()
    ana.synced(), mia.synced()
    ws = mia.workspace()
    try:
        ws.store.update(OPPORTUNITY, opp, {"owner": "sam", "team": "south"})
    finally:
        ws.close()
    assert mia.synced()["rejected"] == 0
    ana.ok("opp", "edit", opp, "--next-step", "call back")  # pending, offline
    result = ana.synced()
    assert result["rejected"] == 1
    assert ("opportunity", opp) not in ana.records()
    assert ana.sfa("opp", "show", opp).code != 0
    rejected = ana.ok("sync", "rejected", "--json").json()
    assert [(r["record_id"], r["fields"]) for r in rejected] == [(opp, {"next_step": "call back"})]
    assert "scope" in rejected[0]["reason"]
    assert ana.synced()["rejected"] == 0  # once
    assert server.records()[("opportunity", opp)]["team"] == "south"
    assert server.records()[("opportunity", opp)].get("next_step") is None
    assert ("account", account) in ana.records()  # the account did not move


def test_scope_rep_cannot_push_into_another_team(laptop: Any, server: Server) -> None:
    ana = laptop("ana")
    ana.ok("account", "add", "Elsewhere", "--owner", "zed")
    ws = ana.workspace()
    try:
        record = ws.store.select(ACCOUNT)[0]
        ws.store.update(ACCOUNT, record["id"], {"team": "south"})
    finally:
        ws.close()
    result = ana.synced()
    assert result["rejected"] == 1 and result["pushed"] == 1
    assert server.records()[("account", record["id"])]["team"] == "north"


def test_contacts_of_team_sync_to_teammates_only(laptop: Any, server: Server) -> None:
    ana, bob = laptop("ana"), laptop("bob")
    sam = laptop("sam", team="south")
    boss = laptop("boss", role="admin", team=None)
    _contact(ana)
    bob.synced(), sam.synced(), boss.synced()
    assert {k[0] for k in bob.records()} == {"account", "contact"}
    assert sam.records() == {}
    assert len(boss.records()) == 2
    assert CONTACT.name == "contact"
