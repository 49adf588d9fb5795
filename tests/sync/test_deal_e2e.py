"""The rest of the deal end to end through the real server process (SQLite and PostgreSQL) behind the
fault proxy: quote -> accept -> order -> submit -> a rep's edit of the submitted order rejected -> ERP export ->
ack -> the rep sees "acknowledged";
contract submit -> a rep's release refused (early by her CLI, and by the server when a modified
client pushes it anyway) -> a manager releases offline -> activated everywhere;
documents to a second laptop through cut connections, resumed, hash-checked, scope-checked."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
from faultproxy import FaultProxy
from synchelp import Laptop, Server

from sfa.domain.dates import utc_now
from sfa.domain.entities import APPROVAL, CONTRACT, ORDER
from sfa.domain.errors import StateError
from sfa.services import contracts, orders


def _quote_accepted_with_order(lap: Any, manager: Any) -> str:
    # Products are a manager's records: the manager adds the product and it syncs to the rep.
    manager.ok("product", "add", "Förderband", "--sku", "FB-200", "--price", "1250")
    assert manager.synced()["rejected"] == 0
    lap.synced()
    account = lap.ok("account", "add", "Huber Maschinenbau GmbH", "-q").out.strip()
    quote = lap.ok("quote", "new", "--account", account, "--json").json()["number"]
    lap.ok("quote", "add-line", quote, "--product", "FB-200", "--qty", "3")
    lap.ok("quote", "send", quote)
    order: str = lap.ok("quote", "accept", quote, "--order", "--json").json()["order"]["number"]
    return order


def _forge_release(lap: Laptop, number: str) -> None:
    """A rep's release as a modified client would write it: the status change and the approval record."""
    ws = lap.workspace()
    try:
        contract = contracts.resolve(ws, number)
        with ws.store.transaction():
            ws.store.update(
                CONTRACT,
                contract["id"],
                {"status": "activated", "activated_by": ws.owner, "activated_at": utc_now()},
            )
            ws.store.insert(
                APPROVAL,
                {
                    "entity": CONTRACT.name,
                    "record_id": contract["id"],
                    "action": "release",
                    "by": ws.owner,
                    "at": utc_now(),
                    "comment": None,
                    "owner": contract["owner"],
                    "team": contract["team"],
                },
            )
    finally:
        ws.close()


def test_quote_to_erp_and_back(server: Server, laptop: Any, tmp_path: Path) -> None:
    ana = laptop("ana")
    mia = laptop("mia", role="manager")
    order = _quote_accepted_with_order(ana, mia)
    ana.ok("order", "submit", order)
    assert ana.synced()["rejected"] == 0

    # A rep's edit of the submitted order (around the CLI, which refuses it) is rejected by the
    # server, and the server's value comes back with the next pull.
    assert "only drafts can be changed" in ana.sfa("order", "edit", order, "--po", "PO-X").err
    ws = ana.workspace()
    try:
        ws.store.update(ORDER, orders.resolve(ws, order)["id"], {"customer_po": "PO-FORGED"})
    finally:
        ws.close()
    assert ana.synced()["rejected"] == 1
    ana.synced()
    assert ana.ok("order", "show", order, "--json").json()["customer_po"] is None

    # The ERP reads over HTTP with its own role; a rep may not.
    erp_token = server.add_user("erp", "erp", None)
    base = f"http://127.0.0.1:{server.port}"
    page = httpx.get(
        f"{base}/v1/erp/orders", params={"cursor": 0}, headers={"Authorization": f"Bearer {erp_token}"}
    )
    assert page.status_code == 200, page.text
    assert [o["number"] for o in page.json()["orders"]] == [order]
    assert page.json()["orders"][0]["total"] == "4462.50"

    # The integrator without code: the export file and an ack file.
    out = tmp_path / "erp"
    out.mkdir()
    exported = json.loads(server.admin("erp", "export", "--output", str(out), "--json").out)
    rows = [json.loads(line) for line in Path(exported["file"]).read_text().splitlines()]
    assert [(r["number"], r["status"], r["total"]) for r in rows] == [(order, "submitted", "4462.50")]
    acks = tmp_path / "acks.jsonl"
    acks.write_text(
        json.dumps({"id": rows[0]["id"], "status": "acknowledged", "erp_ref": "4711", "message": "ok"}) + "\n"
    )
    server.admin("erp", "ack", str(acks))

    ana.synced()
    shown = ana.ok("order", "show", order, "--json").json()
    assert shown["status"] == "acknowledged" and shown["erp_ref"] == "4711"
    assert "(acknowledged)" in ana.ok("order", "show", order).out


def test_contract_release_is_a_managers(server: Server, laptop: Any) -> None:
    ana = laptop("ana")
    mia = laptop("mia", role="manager")
    account = ana.ok("account", "add", "Huber", "-q").out.strip()
    number = ana.ok(
        "contract", "new", "--account", account, "--start", "today", "--term", "12m", "--json"
    ).json()["number"]
    ana.ok("contract", "submit", number)
    ana.synced()
    # Her laptop knows her role from the login and refuses early ...
    refused = ana.sfa("contract", "release", number)
    assert refused.code == StateError.exit_code, refused.err
    assert "only a manager of the contract's team or an admin may release" in refused.err
    assert ana.ok("contract", "show", number, "--json").json()["status"] == "in approval"
    # ... but the server decides: a modified client's release, written around the CLI, is rejected.
    _forge_release(ana, number)
    assert ana.ok("contract", "show", number, "--json").json()["status"] == "activated"
    assert ana.synced()["rejected"] == 2  # the status change and the approval record
    ana.synced()
    assert ana.ok("contract", "show", number, "--json").json()["status"] == "in approval"
    mia.synced()
    mia.ok("contract", "release", number)  # offline, then sync
    assert mia.synced()["rejected"] == 0
    ana.synced()
    for lap in (ana, mia):
        shown = lap.ok("contract", "show", number, "--json").json()
        assert shown["status"] == "activated" and shown["activated_by"] == "mia"


def test_documents_through_cut_connections(
    server: Server, laptop: Any, proxy: FaultProxy, tmp_path: Path
) -> None:
    ana = laptop("ana")
    bob = laptop("bob")
    account = ana.ok("account", "add", "Huber", "-q").out.strip()
    files = []
    for n in range(12):
        path = tmp_path / f"doc{n}.bin"
        path.write_bytes(os.urandom(150_000 + n * 1000))
        files.append(path)
        ana.ok("doc", "add", str(path), "--account", account)
    total = sum(p.stat().st_size for p in files)
    ana.synced()  # the records first (no faults)
    # About a third of the blob requests fail: answers dropped after the server applied the request,
    # and downloads cut halfway.
    proxy.add("/v1/blobs/", "cut_after", times=4, skip=1)
    proxy.add("/v1/blobs/", "truncate", times=6, skip=2)
    up_before = proxy.bytes_up
    ana.synced()
    sent = proxy.bytes_up - up_before
    assert sent < total * 1.45, (sent, total)  # a blob the server got is not sent again in full
    assert bob.synced()["rejected"] == 0
    assert proxy.faults["cut_after"] + proxy.faults["truncate"] >= 6
    for n, path in enumerate(files):
        docs = bob.ok("doc", "list", "--json").json()
        doc = next(d for d in docs if d["filename"] == path.name)
        assert doc["content_here"] is True, n
        target = tmp_path / "got" / path.name
        target.parent.mkdir(exist_ok=True)
        bob.ok("doc", "get", doc["ref"], "--output", str(target))
        assert target.read_bytes() == path.read_bytes()
    # Another team's rep: 404 for a known hash.
    sha = bob.ok("doc", "list", "--json").json()[0]["sha256"]
    other = server.add_user("sam", "rep", "south")
    reply = httpx.get(
        f"http://127.0.0.1:{server.port}/v1/blobs/{sha}", headers={"Authorization": f"Bearer {other}"}
    )
    assert reply.status_code == 404
