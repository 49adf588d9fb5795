"""`sfa order ...` in-process: from an accepted quote to a submitted order, its error paths, export,
`sfa today`, and the ERP files of `sfa server erp export|ack`."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sfa.domain.dates import local_today, utc_now
from sfa.domain.entities import ORDER
from sfa.services import crm, products


@pytest.fixture
def accepted(ws: Any, sfa: Any) -> dict[str, Any]:
    """An accepted quote at an account with a contact, priced from the price list."""
    account = crm.add_account(ws, {"name": "Huber Maschinenbau GmbH", "city": "München", "postcode": "80802"})
    contact = crm.add_contact(ws, {"name": "Anna Huber", "account_id": account["id"]})
    products.add_product(ws, {"name": "Förderband Modul 2 m", "sku": "FB-200", "unit_price": "1250"})
    products.add_product(ws, {"name": "Handbuch", "sku": "HB-1", "unit_price": "49.90", "tax_rate": "7"})
    quote = sfa("quote", "new", "--account", account["id"], "--contact", contact["id"], "--json").json()
    assert (
        sfa(
            "quote", "add-line", quote["number"], "--product", "FB-200", "--qty", "3", "--discount", "10%"
        ).code
        == 0
    )
    assert sfa("quote", "add-line", quote["number"], "--product", "HB-1", "--qty", "2").code == 0
    assert sfa("quote", "send", quote["number"]).code == 0
    return {"account": account, "quote": quote}


def _order(sfa: Any, quote: dict[str, Any], *args: str) -> dict[str, Any]:
    r = sfa("order", "new", "--from-quote", quote["number"], *args, "--json")
    assert r.code == 0, r.err
    data: dict[str, Any] = r.json()
    return data


def test_an_order_from_quote_to_submitted(sfa: Any, accepted: dict[str, Any]) -> None:
    quote = accepted["quote"]
    # Only an accepted quote becomes an order: nothing is written before.
    r = sfa("order", "new", "--from-quote", quote["number"])
    assert r.code == 1 and "only an accepted quote" in r.err and r.err.count("\n") == 1
    assert sfa("order", "list", "--json").json() == []

    r = sfa("quote", "accept", quote["number"], "--order", "--json")
    assert r.code == 0, r.err
    data = r.json()
    order = data["order"]
    assert data["status"] == "accepted"
    year = local_today().year
    code = quote["number"].split("-")[2]
    assert order["number"] == f"O-{year}-{code}-0001" and order["status"] == "draft"
    assert order["quote_id"] == quote["id"] and order["contact_id"] == quote["contact_id"]
    assert order["ship_to"] == "Huber Maschinenbau GmbH; 80802 München"
    second = _order(sfa, quote, "--po", "PO-1", "--requested", "+14d")
    assert second["number"] == f"O-{year}-{code}-0002" and second["customer_po"] == "PO-1"
    assert second["requested_date"] == (local_today() + timedelta(days=14)).isoformat()

    shown = sfa("order", "show", order["number"], "--json").json()
    assert [line["net"] for line in shown["lines"]] == ["3375.00", "99.80"]
    assert shown["totals"]["total"] == "4123.04"  # the quote's total, by the same rules

    assert sfa("order", "edit", order["number"], "--po", "PO-9", "--payment-terms", "Net 10").code == 0
    r = sfa("order", "add-line", order["number"], "--description", "Montage", "--price", "85.50")
    assert r.code == 0 and "line 3 added" in r.out
    # The pricing check: a line the quote did not have changes the total; refused, line by line.
    r = sfa("order", "submit", order["number"])
    assert r.code == 1
    assert "pricing: order: total 4224.79 EUR differs from the accepted quote's 4123.04 EUR" in r.err
    assert r.err.strip().splitlines()[-1].startswith("sfa: error: order ")
    assert sfa("order", "show", order["number"], "--json").json()["status"] == "draft"
    assert sfa("order", "remove-line", order["number"], "3").code == 0
    r = sfa("order", "submit", order["number"])
    assert r.code == 0, r.err
    assert r.out.strip().endswith(f"{order['number']} (submitted)") and "pricing" not in r.err

    # Locked after submit.
    for args in (
        ("edit", order["number"], "--po", "X"),
        ("add-line", order["number"], "--product", "FB-200"),
        ("remove-line", order["number"], "1"),
        ("submit", order["number"]),
    ):
        r = sfa("order", *args)
        assert r.code == 1 and "only drafts can be changed" in r.err, args

    listed = sfa("order", "list", "--status", "submitted", "--json").json()
    assert [o["number"] for o in listed] == [order["number"]]
    assert len(sfa("order", "list", "--open", "--json").json()) == 2
    assert sfa("order", "list", "--status", "shipped").err.startswith("sfa: error: status: ")

    r = sfa("order", "cancel", second["number"], "--reason", "duplicate")
    assert r.code == 0 and "(cancelled)" in r.out
    r = sfa("order", "cancel", second["number"], "--reason", "again")
    assert r.code == 1 and "is cancelled" in r.err


def test_a_price_list_change_is_reported_and_needs_accept_differences(
    sfa: Any, ws: Any, accepted: dict[str, Any]
) -> None:
    quote = accepted["quote"]
    assert sfa("quote", "accept", quote["number"]).code == 0
    order = _order(sfa, quote)
    assert sfa("product", "edit", "HB-1", "--tax", "19").code == 0
    assert sfa("product", "edit", "FB-200", "--price", "1300").code == 0
    r = sfa("order", "submit", order["number"])
    assert r.code == 1
    assert "pricing: line 1: list price is now 1300 (quoted 1250)" in r.err
    assert "pricing: line 2: tax rate is now 19 % (quoted 7 %)" in r.err
    r = sfa("order", "submit", order["number"], "--accept-differences", "--json")
    assert r.code == 0, r.err
    data = r.json()
    assert data["status"] == "submitted" and data["accepted_differences"] is True
    assert {(f["line"], f["blocking"]) for f in data["pricing_check"]} == {(1, False), (2, True)}


def test_order_export_writes_a_confirmation(sfa: Any, accepted: dict[str, Any], tmp_path: Path) -> None:
    quote = accepted["quote"]
    assert sfa("quote", "accept", quote["number"]).code == 0
    order = _order(sfa, quote, "--po", "PO-4711")
    for suffix in ("md", "html", "pdf"):
        target = tmp_path / f"confirmation.{suffix}"
        r = sfa("order", "export", order["number"], "--output", str(target))
        assert r.code == 0, r.err
        assert target.stat().st_size > 0
    text = (tmp_path / "confirmation.md").read_text()
    assert text.startswith(f"# Order confirmation {order['number']}")
    assert "| Your order | PO-4711 |" in text and f"| Quotation | {quote['number']} |" in text
    assert "**4,123.04**" in text
    assert (tmp_path / "confirmation.pdf").read_bytes().startswith(b"%PDF")
    r = sfa("order", "export", order["number"], "--output", str(tmp_path / "x.doc"))
    assert r.code == 1 and "--output" in r.err


def test_today_lists_rejected_and_waiting_orders(sfa: Any, ws: Any, accepted: dict[str, Any]) -> None:
    quote = accepted["quote"]
    assert sfa("quote", "accept", quote["number"]).code == 0
    waiting, rejected = _order(sfa, quote), _order(sfa, quote)
    assert sfa("order", "submit", waiting["number"]).code == 0
    ws.store.update(ORDER, waiting["id"], {"submitted_at": utc_now() - timedelta(days=3)})
    # As the ERP's answer arrives by sync (written here straight into the store).
    ws.store.update(ORDER, rejected["id"], {"status": "rejected", "erp_message": "credit limit exceeded"})
    r = sfa("today")
    assert r.code == 0, r.err
    assert f"{rejected['number']}  credit limit exceeded" in r.out
    assert "Orders unacknowledged for more than 2 days (1)" in r.out and waiting["number"] in r.out
    data = sfa("today", "--json").json()
    assert [o["number"] for o in data["orders_rejected"]] == [rejected["number"]]
    assert [o["number"] for o in data["orders_unacknowledged"]] == [waiting["number"]]


def test_server_erp_export_and_ack_files(sfa: Any, home: Path, tmp_path: Path) -> None:
    """The integrator's files, over the server database; the ack reaches the order's record."""
    from sfa.server import admin, erp
    from sfa.server.merge import User

    server_home = home

    def run_sfa(_home: Path, *args: str) -> Any:
        return sfa(*args)

    db = f"sqlite:///{server_home / 'server.db'}"
    assert run_sfa(server_home, "server", "init", "--db", db).code == 0
    order_id, line_id = "01934b7e-0000-7000-8000-0000000000a1", "01934b7e-0000-7000-8000-0000000000a2"
    clock = "0001763875469123:00000:aaaaaaaaaaaaaaaa"
    engine = admin.open_engine(server_home, db)
    try:
        from sfa.protocol import Mutation
        from sfa.server.app import _Batch

        with engine.begin() as conn:
            batch = _Batch(conn, User("ana", "rep", "north"), "c1", 0, None)
            order = {
                "number": "O-2026-AAAA-0001",
                "account_id": order_id,
                "status": "draft",
                "currency": "EUR",
            }
            order.update(owner="ana", team="north")
            line = {
                "order_id": order_id,
                "position": 1,
                "description": "Band",
                "quantity": "3",
                "unit_price": "10",
            }
            line["tax_rate"] = "19"
            submit = {"status": "submitted"}
            for seq, (entity, rid, values) in enumerate(
                (("order", order_id, order), ("order_line", line_id, line), ("order", order_id, submit)),
                start=1,
            ):
                fields = {k: [v, clock.replace("00000", f"0000{seq}")] for k, v in values.items()}
                mutation = Mutation(seq, entity, rid, fields)
                mutation.base = {"status": clock.replace("00000", "00001")} if values is submit else {}
                assert batch.apply(mutation).status == "applied"
            seq = batch.flush()
            from sqlalchemy import text

            conn.execute(text("UPDATE counter SET value = :v WHERE name = 'seq'"), {"v": seq})
    finally:
        engine.dispose()

    out = tmp_path / "out"
    out.mkdir()
    r = run_sfa(server_home, "server", "erp", "export", "--output", str(out), "--json")
    assert r.code == 0, r.err
    result = r.json()
    assert result["orders"] == 1 and result["since"] == 0
    exported = [json.loads(x) for x in Path(result["file"]).read_text().splitlines()]
    assert [(o["id"], o["number"], o["status"], o["total"]) for o in exported] == [
        (order_id, "O-2026-AAAA-0001", "submitted", "35.70")
    ]
    assert exported[0]["lines"][0]["net"] == "30.00"
    # The next export starts where this one stopped: nothing new.
    again = run_sfa(server_home, "server", "erp", "export", "--output", str(out), "--json").json()
    assert again["orders"] == 0 and again["file"] is None
    csv_run = run_sfa(
        server_home, "server", "erp", "export", "--output", str(out), "--format", "csv", "--since-cursor", "0"
    )
    assert csv_run.code == 0, csv_run.err
    assert csv_run.out.strip().endswith(".csv")

    acks = tmp_path / "acks.jsonl"
    acks.write_text(
        json.dumps(
            {
                "id": order_id,
                "status": "acknowledged",
                "erp_ref": "4711",
                "message": "ok",
                "lines": [{"position": 1, "delivered": "3"}],
            }
        )
        + "\n"
        + json.dumps({"id": "01934b7e-0000-7000-8000-0000000000ff", "status": "acknowledged"})
        + "\n"
    )
    r = run_sfa(server_home, "server", "erp", "ack", str(acks), "--json")
    assert r.code == 1 and "1 of 2 answers were rejected" in r.err
    assert [row["result"] for row in r.json()] == ["applied", "rejected"]
    engine = admin.open_engine(server_home, db)
    try:
        with engine.connect() as conn:
            page = erp.orders_page(conn, 0, 100)
            from sqlalchemy import text

            stored = json.loads(
                conn.execute(text(f"SELECT fields FROM record WHERE id = '{order_id}'")).scalar_one()
            )
            line_stored = json.loads(
                conn.execute(text(f"SELECT fields FROM record WHERE id = '{line_id}'")).scalar_one()
            )
    finally:
        engine.dispose()
    assert page.orders == []  # acknowledged: no longer for the ERP
    assert stored["status"][0] == "acknowledged" and stored["erp_ref"][0] == "4711"
    assert line_stored["delivered_quantity"][0] == "3"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "status": "shipped"}\n')
    r = run_sfa(server_home, "server", "erp", "ack", str(bad))
    assert r.code == 1 and r.err.startswith("sfa: error: FILE: ") and "status" in r.err


def test_a_managers_approval_instead_of_accepting_the_differences(
    sfa: Any, ws: Any, accepted: dict[str, Any]
) -> None:
    quote = accepted["quote"]
    assert sfa("quote", "accept", quote["number"]).code == 0
    order = _order(sfa, quote)
    # Nothing to approve while the order matches its quote.
    r = sfa("order", "approve", order["number"])
    assert r.code == 1 and "needs no approval" in r.err
    assert sfa("order", "add-line", order["number"], "--description", "Montage", "--price", "85.50").code == 0
    r = sfa("order", "submit", order["number"])
    assert r.code == 1 and "sfa order approve" in r.err
    r = sfa("order", "approve", order["number"], "--comment", "Montage agreed by phone", "--json")
    assert r.code == 0, r.err
    entry = r.json()
    assert entry["entity"] == "order" and entry["action"] == "approve" and entry["record_id"] == order["id"]
    assert sfa("order", "approve", order["number"]).err.endswith("already approved as it stands\n")
    # A line written after the approval makes it stale: refused again, and said why.
    assert sfa("order", "add-line", order["number"], "--description", "Schulung", "--price", "300").code == 0
    r = sfa("order", "submit", order["number"])
    assert r.code == 1 and "its lines changed since" in r.err
    assert sfa("order", "approve", order["number"]).code == 0
    r = sfa("order", "submit", order["number"], "--json")
    assert r.code == 0, r.err
    data = r.json()
    assert data["status"] == "submitted" and data["accepted_differences"] is True
    assert data["approved_by"] == ws.owner
    shown = sfa("order", "show", order["number"]).out
    assert f"differences accepted: yes, approved by {ws.owner}" in shown
    # A submitted order is not approved any more.
    r = sfa("order", "approve", order["number"])
    assert r.code == 1 and "only drafts can be changed" in r.err
