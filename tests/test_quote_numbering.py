"""Quote numbers are unique across replicas without a server: replica code + per-replica counter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sfa.domain import quotes as rules
from sfa.domain.entities import QUOTE
from sfa.services import crm, quotes
from sfa.store.workspace import Workspace


def _replica(home: Path, replica_id: str | None = None) -> Workspace:
    ws = Workspace(home)
    if replica_id is not None:  # fixed ids keep the test deterministic (random ids differ anyway)
        with ws.store.transaction():
            ws.store.set_meta("replica_id", replica_id)
        ws.store.replica_id = replica_id
    return ws


def test_two_replicas_never_hand_out_the_same_number(tmp_path: Path) -> None:
    laptops = [
        _replica(tmp_path / "anna", "1f0c9a77d2e14b6a"),
        _replica(tmp_path / "ben", "8e21b04c5a9d3f70"),
    ]
    numbers: list[str] = []
    try:
        for ws in laptops:
            account = crm.add_account(ws, {"name": "Huber GmbH"})
            for _ in range(40):
                numbers.append(quotes.new_quote(ws, account_ref=account["id"])["number"])
        codes = {rules.replica_code(ws.store.replica_id) for ws in laptops}
        assert len(codes) == 2
        assert len(set(numbers)) == 80
        for ws, batch in zip(laptops, (numbers[:40], numbers[40:]), strict=True):
            code = rules.replica_code(ws.store.replica_id)
            year = batch[0].split("-")[1]
            assert batch == [rules.format_number(int(year), code, n) for n in range(1, 41)]
    finally:
        for ws in laptops:
            ws.close()


def test_fresh_stores_get_different_codes(tmp_path: Path) -> None:
    stores = [Workspace(tmp_path / f"r{i}") for i in range(5)]
    try:
        ids = {ws.store.replica_id for ws in stores}
        assert len(ids) == 5
        assert len({rules.replica_code(i) for i in ids}) == 5
    finally:
        for ws in stores:
            ws.close()


def test_counter_is_kept_in_meta_and_rolled_back_with_a_failed_insert(ws: Any, monkeypatch: Any) -> None:
    account = crm.add_account(ws, {"name": "Huber GmbH"})
    first = quotes.new_quote(ws, account_ref=account["id"])
    year = first["number"].split("-")[1]
    assert ws.store.meta(f"quote_counter.{year}") == "1"

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ws.store, "insert", broken)
    with pytest.raises(RuntimeError):
        quotes.new_quote(ws, account_ref=account["id"])
    monkeypatch.undo()
    assert ws.store.meta(f"quote_counter.{year}") == "1"
    second = quotes.new_quote(ws, account_ref=account["id"])
    assert second["number"].endswith("-0002")


def test_a_reset_counter_skips_numbers_already_in_the_store(ws: Any) -> None:
    account = crm.add_account(ws, {"name": "Huber GmbH"})
    made = [quotes.new_quote(ws, account_ref=account["id"])["number"] for _ in range(3)]
    year = made[0].split("-")[1]
    with ws.store.transaction():
        ws.store.set_meta(f"quote_counter.{year}", "1")  # e.g. restored from an old backup
    fourth = quotes.new_quote(ws, account_ref=account["id"])["number"]
    assert fourth not in made and fourth.endswith("-0004")
    assert ws.store.count(QUOTE) == 4


def test_expiring_lists_sent_latest_revisions_valid_until_a_date(ws: Any) -> None:
    from datetime import timedelta

    from sfa.domain.dates import local_today
    from sfa.services import products

    today = local_today()
    account = crm.add_account(ws, {"name": "Huber GmbH"})
    products.add_product(ws, {"name": "Modul", "sku": "M-1", "unit_price": "10"})
    made = {}
    for name, days in (("soon", 3), ("later", 20), ("draft", 2), ("revised", 4)):
        quote = quotes.new_quote(ws, account_ref=account["id"], valid_until=f"+{days}d")
        quotes.add_line(ws, quote["id"], product_ref="M-1")
        if name != "draft":
            quotes.send(ws, quote["id"])
        made[name] = quote
    quotes.revise(ws, made["revised"]["id"])  # the sent revision 1 is no longer the one that counts
    soon = quotes.expiring(ws, today + timedelta(days=7))
    assert [q["id"] for q in soon] == [made["soon"]["id"]]
    within_a_month = {q["id"] for q in quotes.expiring(ws, today + timedelta(days=30))}
    assert within_a_month == {made["soon"]["id"], made["later"]["id"]}
