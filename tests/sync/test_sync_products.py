"""Issue 17's records between laptops (in-process server): a manager's configurable product, specs
and event reach a rep, who configures a quote line and captures at the booth offline; the manager
gets the lead, member row, follow-up task and the line's configuration back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from inprocess import InProcessServer

from sfa.domain.entities import CAMPAIGN_MEMBER, LEAD, QUOTE_LINE, TASK
from sfa.services import configurator, crm, encyclopedia, events, products, quotes
from sfa.store.workspace import Workspace
from sfa.sync import engine


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    (tmp_path / "server").mkdir()
    srv = InProcessServer(tmp_path / "server")
    yield srv
    srv.close()


def test_product_data_and_booth_work_travel(server: InProcessServer, tmp_path: Path) -> None:
    mia, ana = Workspace(tmp_path / "mia"), Workspace(tmp_path / "ana")
    try:
        mia_conn = server.login(mia, server.add_user("mia", "manager", "north"))
        ana_conn = server.login(ana, server.add_user("ana", "rep", "north"))
        mia.config.set("user.name", "mia")
        ana.config.set("user.name", "ana")
        products.add_product(mia, {"name": "Drive", "sku": "DRV", "unit_price": "100"})
        configurator.add_option(mia, "DRV", attribute="Voltage", value="24V", default=True)
        configurator.add_option(
            mia, "DRV", attribute="Voltage", value="230V", extra="25.50", sku_suffix="230"
        )
        configurator.add_option(mia, "DRV", attribute="Color", value="red", extra="5")
        configurator.add_rule(mia, "DRV", when=["Voltage=230V"], exclude="Color=red", message="24V only")
        encyclopedia.set_spec(mia, "DRV", "Stroke", "600", "mm")
        events.add_event(mia, {"name": "Fair", "kind": "trade-show", "starts_on": "2026-12-01"})
        engine.sync_once(mia, conn=mia_conn)
        engine.sync_once(ana, conn=ana_conn)

        # ana, offline: the rule holds on her laptop too; a configured line; a booth capture.
        _, refused = configurator.configure_product(ana, "DRV", ["Voltage=230V", "Color=red"])
        assert [p.rule.number for p in refused.errors if p.rule] == [1]
        account = crm.add_account(ana, {"name": "Acme"})
        quote = quotes.new_quote(ana, account_ref=account["id"])
        line = quotes.add_line(ana, quote["id"], product_ref="DRV", options=["Voltage=230V"])
        assert line["configuration"] == "Voltage=230V" and str(line["unit_price"]) in ("125.50", "125.5")
        captured = events.capture(ana, "Fair", "Tom Berg", email="tom@berg.de", rating="hot")
        assert [s["name"] for s in encyclopedia.specs_of(ana, line["product_id"])] == ["Stroke"]
        engine.sync_once(ana, conn=ana_conn)
        engine.sync_once(mia, conn=mia_conn)

        assert mia.store.get(QUOTE_LINE, line["id"])["configuration"] == "Voltage=230V"
        assert mia.store.get(LEAD, captured.person["id"])["campaign_id"] == captured.event["id"]
        member = mia.store.get(CAMPAIGN_MEMBER, captured.member["id"])
        assert (member["status"], member["owner"]) == ("met", "ana")
        assert mia.store.get(TASK, captured.task["id"])["lead_id"] == captured.person["id"]
        report = events.report(mia, "Fair")
        assert (report.counts["met"], report.leads) == (1, 1)
    finally:
        mia.close(), ana.close()
