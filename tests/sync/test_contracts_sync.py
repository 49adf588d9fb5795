"""Contracts through the server (in-process, SQLite): submit -> a rep's release refused (early on her
laptop, and by the server when a modified client pushes it anyway) -> a manager releases offline ->
sync -> activated everywhere; an activated contract is immutable; renewing on two laptops offline
gives one renewal draft, one opportunity and one task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcessServer
from inprocess import server as server

from sfa.domain.dates import utc_now
from sfa.domain.entities import APPROVAL, CONTRACT, CONTRACT_LINE, OPPORTUNITY, TASK
from sfa.domain.errors import StateError
from sfa.services import contracts, crm
from sfa.store.replica import Replica
from sfa.store.workspace import Workspace
from sfa.sync import engine


def _laptop(
    server: InProcessServer, home: Path, name: str, role: str = "rep", team: str = "north"
) -> tuple[Workspace, Any]:
    ws = Workspace(home / name)
    return ws, server.login(ws, server.add_user(name, role, team))


def _forge_release(ws: Workspace, contract_id: str) -> None:
    """A rep's release as a modified client would write it: the status change and the approval record."""
    with ws.store.transaction():
        contract = ws.store.update(
            CONTRACT,
            contract_id,
            {"status": "activated", "activated_by": ws.owner, "activated_at": utc_now()},
        )
        ws.store.insert(
            APPROVAL,
            {
                "entity": CONTRACT.name,
                "record_id": contract_id,
                "action": "release",
                "by": ws.owner,
                "at": utc_now(),
                "comment": None,
                "owner": contract["owner"],
                "team": contract["team"],
            },
        )


def _released(
    server: InProcessServer, tmp_path: Path
) -> tuple[Workspace, Any, Workspace, Any, dict[str, Any]]:
    ana, ana_conn = _laptop(server, tmp_path, "ana")
    mia, mia_conn = _laptop(server, tmp_path, "mia", "manager")
    account = crm.add_account(ana, {"name": "Huber Maschinenbau GmbH"})
    contract = contracts.new_contract(ana, account_ref=account["id"], start="2025-01-01", term="24m")
    contracts.add_line(ana, contract["id"], description="Wartung", price="1000", qty="12")
    contracts.submit(ana, contract["id"], "please release")
    engine.sync_once(ana, conn=ana_conn)

    # The rep's laptop knows her role from the login and refuses early ...
    with pytest.raises(StateError, match="only a manager of the contract's team or an admin may release"):
        contracts.release(ana, contract["id"])
    assert ana.store.get(CONTRACT, contract["id"])["status"] == "in approval"
    # ... but the server is the authority: a modified client writes the release straight into the
    # store (what `contracts.release` writes, around its check) and the server refuses it.
    _forge_release(ana, contract["id"])
    assert ana.store.get(CONTRACT, contract["id"])["status"] == "activated"
    summary = engine.sync_once(ana, conn=ana_conn)
    assert summary.rejected == 2  # the status change and the approval record
    reasons = [r["reason"] for r in Replica(ana.store).rejected()]
    assert any("only a manager of the contract's team or an admin releases" in r for r in reasons), reasons
    assert any("action: only a manager" in r for r in reasons), reasons
    engine.sync_once(ana, conn=ana_conn)
    back = ana.store.get(CONTRACT, contract["id"])
    assert back["status"] == "in approval" and back["activated_by"] is None  # the server's values returned

    # The manager releases offline, then syncs.
    engine.sync_once(mia, conn=mia_conn)
    contracts.release(mia, contract["id"], "ok")
    assert engine.sync_once(mia, conn=mia_conn).rejected == 0
    engine.sync_once(ana, conn=ana_conn)
    for ws in (ana, mia):
        record = ws.store.get(CONTRACT, contract["id"])
        assert record["status"] == "activated" and record["activated_by"] == "mia"
    return ana, ana_conn, mia, mia_conn, dict(contract)


def test_release_is_a_managers_and_activated_contracts_are_immutable(
    server: InProcessServer, tmp_path: Path
) -> None:
    ana, ana_conn, mia, _mia_conn, contract = _released(server, tmp_path)
    try:
        ana.store.update(CONTRACT, contract["id"], {"value": "1"})
        line = contracts.lines_of(ana, contract["id"])[0]
        ana.store.update(CONTRACT_LINE, line["id"], {"quantity": "1"})
        summary = engine.sync_once(ana, conn=ana_conn)
        assert summary.rejected == 2
        engine.sync_once(ana, conn=ana_conn)
        assert str(ana.store.get(CONTRACT, contract["id"])["value"]) == "12000.00"
        assert str(ana.store.get(CONTRACT_LINE, line["id"])["quantity"]) == "12"
        # Termination is allowed.
        contracts.terminate(ana, contract["id"], "2026-06-30", "customer insolvent")
        assert engine.sync_once(ana, conn=ana_conn).rejected == 0
    finally:
        ana.close(), mia.close()


def test_renewing_on_two_laptops_offline_gives_one_of_each(server: InProcessServer, tmp_path: Path) -> None:
    ana, ana_conn, mia, mia_conn, contract = _released(server, tmp_path)
    try:
        first = contracts.renew(ana, contract["id"])
        second = contracts.renew(mia, contract["id"])
        assert first.contract["id"] == second.contract["id"]
        assert (first.opportunity["id"], first.task["id"]) == (second.opportunity["id"], second.task["id"])
        for _ in range(2):
            engine.sync_once(ana, conn=ana_conn)
            engine.sync_once(mia, conn=mia_conn)
        for ws in (ana, mia):
            renewals = ws.store.select(CONTRACT, "renewal_of = ?", (contract["id"],))
            assert [r["id"] for r in renewals] == [first.contract["id"]]
            assert len(contracts.lines_of(ws, first.contract["id"])) == 1
            opps = ws.store.select(OPPORTUNITY, "name LIKE 'Renewal %'", ())
            assert [o["id"] for o in opps] == [first.opportunity["id"]]
            tasks = ws.store.select(TASK, "title LIKE 'Call % about renewal%'", ())
            assert [t["id"] for t in tasks] == [first.task["id"]]
            assert ws.store.get(CONTRACT, contract["id"])["renewed_by"] == first.contract["id"]
    finally:
        ana.close(), mia.close()
