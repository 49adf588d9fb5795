"""The history fit's per-deal summary tables (migration V_FORECAST_SUMMARY; docs/prediction.md,
"Speed", round 5): derived from the opportunities and their stage changes and kept like an index.
Triggers mark every deal whose row or stage changes are written (`forecast_dirty`), whatever the
path; the service (sfa/services/forecast_summary.py) rebuilds the marked deals' rows before reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sfa.store.db import Store

DealRow = tuple[str, str, str, str, int, int, str, str | None, int]
# (id, currency, created, settled, closed, won, path, new_period, amount cents)
StayRow = tuple[str, str, str, str, int]  # (id, currency, settled, stage, days)
FactRow = tuple[str, str, str, str, str, int, int, str, int]
# (id, currency, settled, start, stage, age, won, bucket, inside)


def marked(store: Store) -> list[str]:
    """The deals whose summary rows are to be rebuilt."""
    return [str(r[0]) for r in store.conn.execute("SELECT opportunity_id FROM forecast_dirty")]


def replace(
    store: Store,
    ids: Sequence[str],
    deals: Sequence[DealRow],
    stays: Sequence[StayRow],
    facts: Sequence[FactRow],
) -> None:
    """The rows of the marked deals ``ids`` replaced by the given ones (none: a deal gone), and the
    marks dropped, in one transaction."""
    conn = store.conn
    with store.transaction():
        keys = [(i,) for i in ids]
        for table in ("forecast_deal", "forecast_stay", "forecast_fact"):
            conn.executemany(f"DELETE FROM {table} WHERE opportunity_id = ?", keys)
        conn.executemany("INSERT INTO forecast_deal VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", deals)
        conn.executemany("INSERT INTO forecast_stay VALUES (?, ?, ?, ?, ?)", stays)
        conn.executemany("INSERT INTO forecast_fact VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", facts)
        conn.executemany("DELETE FROM forecast_dirty WHERE opportunity_id = ?", keys)


def totals(store: Store, currency: str, before: str, first: str) -> dict[str, list[tuple[Any, ...]]]:
    """The summary of the deals in ``currency`` settled before the day ``before``, added up by SQL:
    closed deals per (won, path); won deals' first stays per (stage, days); snapshot facts starting
    before ``first`` per (stage, age, won, bucket, inside); won cents per from-new period; the
    earliest creation of a deal created before ``before``; the ids of deals created before it and
    settled on or after it (counted from their histories)."""
    conn = store.conn
    where = "currency = ? AND settled < ?"
    return {
        "paths": conn.execute(
            f"SELECT won, path, count(*) FROM forecast_deal WHERE {where} AND closed = 1 GROUP BY won, path",
            (currency, before),
        ).fetchall(),
        "stays": conn.execute(
            f"SELECT stage, days, count(*) FROM forecast_stay WHERE {where} GROUP BY stage, days",
            (currency, before),
        ).fetchall(),
        "facts": conn.execute(
            "SELECT stage, age, won, bucket, inside, count(*) FROM forecast_fact"
            f" WHERE {where} AND start < ? GROUP BY stage, age, won, bucket, inside",
            (currency, before, first),
        ).fetchall(),
        "new": conn.execute(
            f"SELECT new_period, sum(amount) FROM forecast_deal WHERE {where} AND new_period IS NOT NULL"
            " GROUP BY new_period",
            (currency, before),
        ).fetchall(),
        "earliest": conn.execute(
            "SELECT min(created) FROM forecast_deal WHERE currency = ? AND created < ?", (currency, before)
        ).fetchall(),
        "live": conn.execute(
            "SELECT opportunity_id FROM forecast_deal WHERE currency = ? AND created < ? AND settled >= ?",
            (currency, before, before),
        ).fetchall(),
    }


def all_rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every summary row, sorted (the tests compare them with a fresh rebuild)."""
    conn = store.conn
    return {
        table: sorted(tuple(r) for r in conn.execute(f"SELECT * FROM {table}"))
        for table in ("forecast_deal", "forecast_stay", "forecast_fact")
    }
