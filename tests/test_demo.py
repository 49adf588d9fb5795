"""`sfa demo`: a realistic, seeded company; refuses a store that holds data unless --force."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sfa.domain.dates import local_today, local_zone
from sfa.domain.entities import ACCOUNT, CONTACT, LEAD, OPPORTUNITY, PRODUCT, QUOTE, TASK, VISIT
from sfa.services import demo, quotes
from sfa.store.workspace import Workspace


def test_demo_fills_an_empty_store_and_refuses_a_second_time(sfa: Any, ws: Any) -> None:
    r = sfa("demo", "--json")
    assert r.code == 0, r.err
    created = r.json()["created"]
    assert {k: created[k] for k in ("account", "contact", "lead", "opportunity", "product")} == {
        "account": 50,
        "contact": 150,
        "lead": 40,
        "opportunity": 30,
        "product": 15,
    }
    assert r.json()["config_set"] == [
        "company.name",
        "company.address",
        "company.vat_id",
        "company.email",
        "company.phone",
    ]

    accounts = ws.store.select(ACCOUNT)
    assert all(a["street"] and a["city"] and a["postcode"] for a in accounts)
    assert all(47.2 < a["latitude"] < 50.6 and 8.9 < a["longitude"] < 13.9 for a in accounts)  # Bavaria
    assert len({a["name"] for a in accounts}) == 50
    assert all(c["account_id"] for c in ws.store.select(CONTACT))
    assert {lead["status"] for lead in ws.store.select(LEAD)} == {
        "new",
        "contacted",
        "qualified",
        "disqualified",
    }
    assert {o["stage"] for o in ws.store.select(OPPORTUNITY)} == {s.name for s in ws.stages}

    today = local_today()
    next_monday = today + timedelta(days=7 - today.weekday())
    planned = ws.store.select(VISIT, "status = 'planned'")
    assert len(planned) >= 10
    for visit in planned:
        day = visit["starts_at"].astimezone(local_zone()).date()
        assert next_monday <= day < next_monday + timedelta(days=5)
        assert visit["starts_at"].tzinfo is not None and visit["starts_at"].utcoffset() == timedelta(0)
        assert visit["location"] and visit["latitude"] and visit["duration_min"]
    open_tasks = ws.store.select(TASK, "status = 'open'")
    assert any(t["due_date"] < today for t in open_tasks) and any(t["due_date"] >= today for t in open_tasks)

    statuses = {quotes.status_of(q) for q in ws.store.select(QUOTE)}
    assert statuses == {"draft", "sent", "accepted", "rejected", "expired"}
    assert any(q["revision"] == 2 for q in ws.store.select(QUOTE))
    for quote in ws.store.select(QUOTE):
        assert quotes.lines_of(ws, quote["id"]), quote["number"]
    assert len(sfa("quote", "list", "--status", "sent", "--json").json()) >= 3

    r = sfa("demo")
    assert r.code == 1 and "not empty" in r.err and "--force" in r.err and "50 accounts" in r.err
    assert ws.store.count(ACCOUNT) == 50  # nothing was added

    r = sfa("demo", "--force", "--seed", "7")
    assert r.code == 0, r.err
    assert ws.store.count(ACCOUNT) == 100
    assert ws.store.count(PRODUCT) == 15  # the price list is reused, SKUs stay unique


def test_same_seed_same_company(tmp_path: Path) -> None:
    def company(name: str, seed: int) -> tuple[list[str], list[str], list[str]]:
        ws = Workspace(tmp_path / name)
        try:
            demo.generate(ws, seed=seed)
            return (
                [a["name"] for a in ws.store.select(ACCOUNT)],
                [c["email"] for c in ws.store.select(CONTACT)],
                [str(o["amount"]) for o in ws.store.select(OPPORTUNITY)],
            )
        finally:
            ws.close()

    first, again, other = company("a", 1), company("b", 1), company("c", 2)
    assert first == again
    assert first[0] != other[0]


def test_demo_refuses_any_existing_record(sfa: Any) -> None:
    assert sfa("product", "add", "Modul", "--sku", "M-1", "--price", "10").code == 0
    r = sfa("demo")
    assert r.code == 1 and "1 product" in r.err
    r = sfa("demo", "--force", "--seed", "many")
    assert r.code == 2 and "--seed" in r.err


def test_demo_quotes_export(sfa: Any, ws: Any, tmp_path: Path) -> None:
    assert sfa("demo", "-h").code == 0
    demo.generate(ws)
    accepted = quotes.list_quotes(ws, status="accepted")[0]
    out = tmp_path / "accepted.pdf"
    r = sfa("quote", "export", accepted["number"], "-o", str(out))
    assert r.code == 0, r.err
    assert out.read_bytes().startswith(b"%PDF-")
    assert "company.name" not in r.err  # the demo configured the seller
