"""Orders through the server (in-process, SQLite): quote -> accept -> order -> submit -> ERP export ->
ack -> the rep's laptop shows "acknowledged"; the lock on submitted orders, the erp role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from inprocess import URL, InProcessServer

from sfa.domain.entities import ORDER, ORDER_LINE
from sfa.services import crm, orders, products, quotes
from sfa.store.replica import Replica
from sfa.store.workspace import Workspace
from sfa.sync import engine


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    (tmp_path / "server").mkdir()
    srv = InProcessServer(tmp_path / "server")
    yield srv
    srv.close()


@pytest.fixture
def http(server: InProcessServer) -> Iterator[httpx.Client]:
    with httpx.Client(transport=server.transport, base_url=URL) as client:
        yield client


def _laptop(
    server: InProcessServer, home: Path, name: str, role: str = "rep", team: str = "north"
) -> tuple[Workspace, Any]:
    ws = Workspace(home / name)
    return ws, server.login(ws, server.add_user(name, role, team))


def _price_list(server: InProcessServer, home: Path) -> None:
    """Products are a manager's records: mia adds them and syncs them to the server for the reps."""
    mia, mia_conn = _laptop(server, home, "mia", "manager")
    try:
        products.add_product(mia, {"name": "Förderband", "sku": "FB-200", "unit_price": "1250"})
        products.add_product(mia, {"name": "Handbuch", "sku": "HB-1", "unit_price": "49.90", "tax_rate": "7"})
        assert engine.sync_once(mia, conn=mia_conn).rejected == 0
    finally:
        mia.close()


def _submitted_order(server: InProcessServer, home: Path, ws: Workspace, conn: Any) -> dict[str, Any]:
    _price_list(server, home)
    engine.sync_once(ws, conn=conn)  # the manager's products reach the rep's laptop
    account = crm.add_account(ws, {"name": "Huber Maschinenbau GmbH", "city": "München"})
    quote = quotes.new_quote(ws, account_ref=account["id"])
    quotes.add_line(ws, quote["id"], product_ref="FB-200", qty="3", discount="10%")
    quotes.add_line(ws, quote["id"], product_ref="HB-1", qty="2")
    quotes.send(ws, quote["id"])
    quotes.accept(ws, quote["id"])
    order = orders.new_from_quote(ws, quote["id"], po="PO-77")
    result = orders.submit(ws, order["id"])
    assert not result.check.differs, result.check.lines()
    return dict(result.order)


def test_quote_to_order_to_erp_and_back(server: InProcessServer, http: httpx.Client, tmp_path: Path) -> None:
    ana, ana_conn = _laptop(server, tmp_path, "ana")
    erp_token = server.add_user("erp", "erp", None)
    erp = {"Authorization": f"Bearer {erp_token}"}
    try:
        order = _submitted_order(server, tmp_path, ana, ana_conn)
        engine.sync_once(ana, conn=ana_conn)

        # A rep may not use the ERP hand-off.
        rep_token = server.add_user("bob", "rep", "north")
        assert http.get("/v1/erp/orders", headers={"Authorization": f"Bearer {rep_token}"}).status_code == 403

        page = http.get("/v1/erp/orders", params={"cursor": 0}, headers=erp).json()
        assert [o["id"] for o in page["orders"]] == [order["id"]]
        sent = page["orders"][0]
        assert sent["number"] == order["number"] and sent["status"] == "submitted"
        assert sent["account"]["name"] == "Huber Maschinenbau GmbH" and sent["customer_po"] == "PO-77"
        # 3 × 1250 − 10 % = 3375.00 at 19 %; 2 × 49.90 = 99.80 at 7 %: 3474.80 + 641.25 + 6.99
        assert (sent["net"], sent["tax"], sent["total"]) == ("3474.80", "648.24", "4123.04")
        assert [line["net"] for line in sent["lines"]] == ["3375.00", "99.80"]
        # The same cursor semantics as pull: from the page's cursor on, nothing new.
        again = http.get("/v1/erp/orders", params={"cursor": page["cursor"]}, headers=erp).json()
        assert again["orders"] == [] and again["more"] is False

        ack = {"id": order["id"], "status": "acknowledged", "erp_ref": "4711", "message": "confirmed"}
        ack["lines"] = [{"position": 1, "delivered": "2"}]
        reply = http.post("/v1/erp/ack", json={"acks": [ack]}, headers=erp)
        assert reply.status_code == 200, reply.text
        assert reply.json()["results"] == [{"id": order["id"], "result": "applied", "reason": None}]
        repeated = http.post("/v1/erp/ack", json=[ack], headers=erp).json()
        assert repeated["results"][0]["result"] == "unchanged"  # idempotent: nothing logged twice
        bad = http.post("/v1/erp/ack", json=[{**ack, "status": "shipped"}], headers=erp)
        assert bad.status_code == 400 and "status" in bad.json()["error"]

        engine.sync_once(ana, conn=ana_conn)
        local = ana.store.get(ORDER, order["id"])
        assert local["status"] == "acknowledged" and local["erp_ref"] == "4711"
        assert local["erp_message"] == "confirmed" and local["erp_at"] is not None
        lines = orders.lines_of(ana, order["id"])
        assert [str(line["delivered_quantity"]) for line in lines] == ["2", "None"]
        # An acknowledged order is no longer listed for the ERP.
        assert http.get("/v1/erp/orders", params={"cursor": 0}, headers=erp).json()["orders"] == []
    finally:
        ana.close()


def test_a_reps_edit_of_a_submitted_order_is_rejected_and_the_server_value_returns(
    server: InProcessServer, tmp_path: Path
) -> None:
    ana, ana_conn = _laptop(server, tmp_path, "ana")
    try:
        order = _submitted_order(server, tmp_path, ana, ana_conn)
        engine.sync_once(ana, conn=ana_conn)
        # Around the CLI (which refuses): straight into the store, as a modified client would.
        ana.store.update(ORDER, order["id"], {"customer_po": "PO-99"})
        line = orders.lines_of(ana, order["id"])[0]
        ana.store.update(ORDER_LINE, line["id"], {"unit_price": "1"})
        ana.store.update(ORDER, order["id"], {"status": "acknowledged", "erp_ref": "fake"})
        summary = engine.sync_once(ana, conn=ana_conn)
        assert summary.rejected == 3
        reasons = [r["reason"] for r in Replica(ana.store).rejected()]
        assert any("locked" in r for r in reasons), reasons
        assert any("lines can be changed" in r for r in reasons), reasons
        assert any("ERP only" in r for r in reasons), reasons
        engine.sync_once(ana, conn=ana_conn)
        local = ana.store.get(ORDER, order["id"])
        assert local["customer_po"] == "PO-77" and local["status"] == "submitted" and local["erp_ref"] is None
        assert str(ana.store.get(ORDER_LINE, line["id"])["unit_price"]) == "1250"
        # Cancelling before the ERP acknowledged it is allowed.
        orders.cancel(ana, order["id"], "customer withdrew")
        summary = engine.sync_once(ana, conn=ana_conn)
        assert summary.rejected == 0
        stored = server.query(f"SELECT fields FROM record WHERE id = '{order['id']}'")[0][0]
        assert '"status":["cancelled"' in stored
    finally:
        ana.close()


def test_a_managers_approval_lets_the_rep_submit_differences_and_a_reps_own_is_rejected(
    server: InProcessServer, tmp_path: Path
) -> None:
    """The alternative to --accept-differences: a manager of the team approves the draft offline,
    syncs, and the rep submits it as it stands. A rep's forged approval is rejected by the server."""
    from sfa.domain.errors import NotAllowedError, StateError
    from sfa.services import order_approvals

    ana, ana_conn = _laptop(server, tmp_path, "ana")
    try:
        _price_list(server, tmp_path)
        engine.sync_once(ana, conn=ana_conn)
        account = crm.add_account(ana, {"name": "Huber Maschinenbau GmbH", "city": "München"})
        quote = quotes.new_quote(ana, account_ref=account["id"])
        quotes.add_line(ana, quote["id"], product_ref="FB-200", qty="3")
        quotes.send(ana, quote["id"])
        quotes.accept(ana, quote["id"])
        order = orders.new_from_quote(ana, quote["id"])
        orders.add_line(ana, order["id"], description="Montage", price="85.50")
        with pytest.raises(NotAllowedError, match="only a manager"):
            orders.approve(ana, order["id"])
        # Around the service, as a modified client would: the server refuses the rep's approval.
        forged = order_approvals.record(ana, orders.resolve(ana, order["id"]), "self-approved")
        summary = engine.sync_once(ana, conn=ana_conn)
        assert summary.rejected == 1
        reasons = [r["reason"] for r in Replica(ana.store).rejected()]
        assert any("only a manager of the record's team" in r for r in reasons), reasons
        assert server.query(f"SELECT count(*) FROM record WHERE id = '{forged['id']}'")[0][0] == 0
        engine.sync_once(ana, conn=ana_conn)  # the server's answer: the forged approval is undone
        assert order_approvals.covering(ana, orders.resolve(ana, order["id"])) is None
        with pytest.raises(StateError, match="pricing check found differences"):
            orders.submit(ana, order["id"])

        lea, lea_conn = _laptop(server, tmp_path, "lea", "manager")
        try:
            engine.sync_once(lea, conn=lea_conn)
            entry, check = orders.approve(lea, order["id"], "Montage agreed")
            assert check.differs and entry["by"] == "lea"
            assert engine.sync_once(lea, conn=lea_conn).rejected == 0
        finally:
            lea.close()
        engine.sync_once(ana, conn=ana_conn)
        result = orders.submit(ana, order["id"])
        assert result.approval is not None and result.approval["by"] == "lea"
        assert result.order["status"] == "submitted"
        assert engine.sync_once(ana, conn=ana_conn).rejected == 0
    finally:
        ana.close()
