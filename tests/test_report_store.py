"""The store's side of reports: exact grouped sums, the covering index, bulk short refs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sfa.domain.entities import ACCOUNT, OPPORTUNITY, TASK
from sfa.domain.ids import handle_of, shortest_unique


def test_grouped_sums_are_exact(ws: Any) -> None:
    account = ws.store.insert(ACCOUNT, {"name": "A"})
    amounts = ["0.10", "0.20", "0.30", "1234567890.05", "0.01"]
    ws.store.insert_many(
        OPPORTUNITY,
        [
            {
                "name": f"D{i}",
                "account_id": account["id"],
                "stage": "initiation",
                "amount": Decimal(a),
                "currency": "EUR",
                "probability": 10,
            }
            for i, a in enumerate(amounts)
        ],
    )
    ws.store.insert(OPPORTUNITY, {"name": "none", "account_id": account["id"], "stage": "won"})
    gone = ws.store.insert(
        OPPORTUNITY,
        {
            "name": "gone",
            "account_id": account["id"],
            "stage": "initiation",
            "amount": Decimal("99"),
            "currency": "EUR",
        },
    )
    ws.store.delete(OPPORTUNITY, gone["id"])
    groups = {
        key: (count, total) for key, count, total in ws.store.grouped_sums(OPPORTUNITY, ["stage"], "amount")
    }
    assert groups[("initiation",)] == (5, Decimal("1234567890.66"))  # floats would give ...0.6600000001
    assert groups[("won",)] == (1, Decimal(0))
    with pytest.raises(ValueError, match="not a decimal"):
        ws.store.grouped_sums(OPPORTUNITY, ["stage"], "name")


def test_reports_read_a_covering_index(ws: Any) -> None:
    plan = ws.store.conn.execute(
        "EXPLAIN QUERY PLAN SELECT stage, currency, probability, substr(close_date, 1, 7), lost_reason,"
        " count(*), group_concat(amount, ',') FROM opportunity WHERE stage != 'lost' AND deleted = 0"
        " GROUP BY 1, 2, 3, 4, 5"
    ).fetchall()
    assert any("COVERING INDEX opportunity_report" in row[3] for row in plan)


def test_short_refs_in_bulk_are_the_shortest_unique_prefixes(ws: Any) -> None:
    records = ws.store.insert_many(
        TASK, [{"title": f"t{i}", "status": "open", "priority": "normal"} for i in range(300)]
    )
    ids = [r["id"] for r in records]
    refs = ws.store.short_refs(TASK, ids)
    handles = sorted(handle_of(i) for i in ids)
    for record_id in ids[:50]:
        handle = handle_of(record_id)
        assert refs[record_id] == shortest_unique(handle, [h for h in handles if h != handle])
        assert ws.store.resolve(TASK, refs[record_id])["id"] == record_id
    assert ws.store.short_refs(TASK, []) == {}
