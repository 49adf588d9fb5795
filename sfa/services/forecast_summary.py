"""The report's history estimates from the store's per-deal summary (docs/prediction.md, "Speed",
round 5): each live deal's contribution to the history fit, kept in the store like an index
(sfa/store/forecast_rows.py) and rebuilt for the deals whose rows or stage changes were written
since (marked by triggers), so a fit on a new day or a new process adds up counts instead of
rebuilding 20,000 histories. The same integer counts as the fit over the deals, so the same
estimates (tests/test_forecast_summary.py).
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

from sfa.domain import prediction
from sfa.domain.errors import StoreError
from sfa.domain.prediction import DealHistory, DealSummary, SummaryCounts
from sfa.domain.stages import Stage
from sfa.store import forecast_rows
from sfa.store.workspace import Workspace

BY = "quarter"  # the summary's snapshots are by quarter (the report's default); by month: the deals
SEP = "\x1f"


def _rows(
    deal: DealHistory, summary: DealSummary
) -> tuple[forecast_rows.DealRow, list[forecast_rows.StayRow], list[forecast_rows.FactRow]]:
    settled = summary.settled.isoformat()
    cur = summary.currency
    return (
        (
            deal.id,
            cur,
            summary.created.isoformat(),
            settled,
            int(summary.closed),
            int(summary.won),
            SEP.join(summary.path),
            summary.new_period.isoformat() if summary.new_period else None,
            summary.amount,
        ),
        [(deal.id, cur, settled, stage, days) for stage, days in summary.stays],
        [
            (deal.id, cur, settled, s.isoformat(), stage, age, int(won), bucket, int(inside))
            for s, stage, age, won, bucket, inside in summary.facts
        ],
    )


def refresh(ws: Workspace) -> None:
    """Rebuild the summary rows of the marked deals (written since the last refresh)."""
    from sfa.services.forecasting import histories

    ids = forecast_rows.marked(ws.store)
    if not ids:
        return
    deals, stays, facts = [], [], []
    for deal in histories(ws, ids=ids):
        row, stay_rows, fact_rows = _rows(deal, prediction.summarize(deal, BY))
        deals.append(row)
        stays += stay_rows
        facts += fact_rows
    forecast_rows.replace(ws.store, ids, deals, stays, facts)


def estimates(
    ws: Workspace, stages: tuple[Stage, ...], day: date, by: str, currency: str
) -> dict[str, Any] | None:
    """``prediction.fit_estimates`` of the deals in ``currency`` as known at ``day``, from the summary;
    None when it cannot serve (by month, a store that cannot be written)."""
    if by != BY:
        return None
    from sfa.services.forecasting import histories

    try:
        refresh(ws)
    except (StoreError, sqlite3.Error):
        return None  # read-only media, a busy store: the caller fits over the deals
    first = prediction.period_bounds(day, by)[0]
    found = forecast_rows.totals(ws.store, currency, day.isoformat(), first.isoformat())
    counts = SummaryCounts()
    for won, path, n in found["paths"]:
        counts.paths[(bool(won), frozenset(path.split(SEP)) if path else frozenset())] = int(n)
    for stage, days, n in found["stays"]:
        counts.stays.setdefault(stage, {})[int(days)] = int(n)
    for stage, age, won, bucket, inside, n in found["facts"]:
        counts.facts[(stage, int(age), bool(won), bucket, bool(inside))] = int(n)
    for period, amount in found["new"]:
        counts.new[date.fromisoformat(period)] = int(amount)
    earliest = found["earliest"][0][0]
    counts.earliest = date.fromisoformat(earliest) if earliest else None
    live_ids = [str(r[0]) for r in found["live"]]
    live = [d for d in histories(ws, ids=live_ids) if d.currency == currency] if live_ids else []
    return prediction.fit_summary(counts, live, stages, day, by)
