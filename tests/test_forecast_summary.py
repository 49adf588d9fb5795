"""The store's per-deal summary of the history fit (migration V_FORECAST_SUMMARY,
sfa/services/forecast_summary.py; docs/prediction.md, "Speed", round 5): whatever path writes a deal
or its stage changes (a local insert, move, edit or delete, a pulled change with an old time, a deal
leaving scope), the summary read after it is exactly a fresh rebuild from the deals' histories, and
the estimates added up from it are exactly the history fit over the deals, on today and past days."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfa.domain import ids, prediction
from sfa.domain.dates import local_today
from sfa.domain.entities import OPPORTUNITY, STAGE_CHANGE
from sfa.domain.hlc import Hlc
from sfa.domain.stages import LOST, WON
from sfa.services import crm, demo, forecast_summary, forecasting
from sfa.store import forecast_rows, writes
from sfa.store.replica import Replica
from sfa.store.workspace import Workspace

TODAY = local_today()
PEER = "feedfeedfeedfeed"
DAYS = (TODAY, TODAY - timedelta(days=1), TODAY - timedelta(days=45), TODAY - timedelta(days=200))


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small store with a year of simulated history, its summary built."""
    home = tmp_path_factory.mktemp("summary") / "home"
    home.mkdir()
    ws = Workspace(home)
    try:
        crm.add_account(ws, {"name": "Acme"})
        demo.add_history(ws, 12, seed=4, deals_per_month=8)
        forecast_summary.refresh(ws)
    finally:
        ws.close()
    return home


def _fresh_rows(ws: Workspace) -> dict[str, list[tuple[Any, ...]]]:
    deals, stays, facts = [], [], []
    for deal in forecasting.histories(ws):
        row, stay_rows, fact_rows = forecast_summary._rows(deal, prediction.summarize(deal, "quarter"))
        deals.append(row)
        stays += stay_rows
        facts += fact_rows
    return {"forecast_deal": sorted(deals), "forecast_stay": sorted(stays), "forecast_fact": sorted(facts)}


def _same_estimates(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal estimates (the summary adds its counts up in another order: compare as sets)."""

    def norm(x: dict[str, Any]) -> dict[str, Any]:
        return {k: sorted(map(repr, v)) if isinstance(v, list) else v for k, v in x.items()}

    return norm(a) == norm(b)


def _check(ws: Workspace) -> None:
    forecast_summary.refresh(ws)
    assert forecast_rows.all_rows(ws.store) == _fresh_rows(ws)
    assert forecast_rows.marked(ws.store) == []
    stages = forecasting.stages_for(ws)
    deals = [d for d in forecasting.histories(ws) if d.currency == "EUR"]
    for day in DAYS:
        fresh = prediction.fit_estimates(deals, stages, day, "quarter")
        summed = forecast_summary.estimates(ws, stages, day, "quarter", "EUR")
        assert summed is not None
        assert _same_estimates(summed, fresh), day


def _at(day: date, hour: int = 12) -> str:
    return datetime.combine(day, time(hour), tzinfo=UTC).isoformat()


KINDS = ("add", "move", "win", "lose", "amount", "close", "delete", "pull_change", "pull_edit", "leave_scope")
step = st.tuples(st.sampled_from(KINDS), st.integers(0, 10_000), st.integers(0, 400))


def _apply(ws: Workspace, replica: Replica, tick: Any, kind: str, pick: int, number: int) -> None:
    opps = ws.store.select(OPPORTUNITY, order="rid")
    opp = opps[pick % len(opps)]
    stages = [s.name for s in forecasting.stages_for(ws) if not s.is_closed]
    past = TODAY - timedelta(days=number)

    def pull(entity: str, record_id: str, fields: dict[str, Any]) -> None:
        clock = Hlc(4_000_000_000_000, next(tick), PEER).encode()  # newer than any local write
        change = {
            "seq": 1,
            "entity": entity,
            "id": record_id,
            "fields": {k: [v, clock] for k, v in fields.items()},
        }
        replica.apply_page([change], next(tick), "epoch")

    if kind == "add":
        crm.add_opportunity(
            ws,
            {
                "name": f"New {number}",
                "account_id": opp["account_id"],
                "amount": "5000",
                "close_date": "2031-01-31",
            },
        )
    elif kind in ("move", "win", "lose"):
        target = {"win": WON, "lose": LOST}.get(kind, stages[number % len(stages)])
        if opp["stage"] != target:
            crm.move_stage(ws, opp["id"], target, reason="price", force=True)
    elif kind == "amount":
        crm.edit_opportunity(ws, opp["id"], {"amount": str(1000 + number)})
    elif kind == "close":
        crm.edit_opportunity(
            ws, opp["id"], {"close_date": (TODAY + timedelta(days=number - 200)).isoformat()}
        )
    elif kind == "delete":
        ws.store.delete(OPPORTUNITY, opp["id"])
    elif kind == "pull_change":  # a move made on another laptop, synced with its old time
        pull(
            "stage_change",
            ids.uuid7(),
            {
                "opportunity_id": opp["id"],
                "from_stage": opp["stage"],
                "to_stage": [*stages, WON, LOST][number % (len(stages) + 2)],
                "at": _at(past),
                "amount": "4000.00",
                "currency": "EUR",
                "close_date": (past + timedelta(days=40)).isoformat(),
                "owner": "ben",
            },
        )
    elif kind == "pull_edit":
        pull(
            "opportunity", opp["id"], {"amount": f"{2000 + number}.00", "stage": stages[number % len(stages)]}
        )
    elif kind == "leave_scope":
        # The deal and its stage changes (which take its scope on the server) leave this replica.
        changes = ws.store.conn.execute("SELECT id FROM stage_change WHERE opportunity_id = ?", (opp["id"],))
        with ws.store.transaction():
            for (change_id,) in changes.fetchall():
                writes.remove(ws.store.conn, STAGE_CHANGE, change_id)
            writes.remove(ws.store.conn, OPPORTUNITY, opp["id"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=8), refresh_between=st.booleans())
def test_the_summary_is_a_fresh_rebuild_after_any_writes(
    base: Path, steps: list[tuple[str, int, int]], refresh_between: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        ws = Workspace(Path(shutil.copytree(base, Path(folder) / "home")))
        try:
            replica = Replica(ws.store)
            tick = itertools.count(1)
            for kind, pick, number in steps:
                _apply(ws, replica, tick, kind, pick, number)
                if refresh_between:
                    forecast_summary.refresh(ws)
            _check(ws)
        finally:
            ws.close()


def test_the_report_reads_the_summary_and_gives_the_fresh_figures(base: Path, tmp_path: Path) -> None:
    """The report's range from the summary (no kept estimates) is the one fitted over the deals."""
    ws = Workspace(Path(shutil.copytree(base, tmp_path / "home")))
    try:
        crm.move_stage(ws, ws.store.select(OPPORTUNITY, "stage NOT IN (?, ?)", (WON, LOST))[0]["id"], WON)
        summed = forecasting.predict_current(ws, "quarter", "history", "EUR", Decimal(0), today=TODAY)
        assert forecast_rows.marked(ws.store) == []
        deals = [d for d in forecasting.histories(ws) if d.currency == "EUR"]
        stages = forecasting.stages_for(ws)
        fitted = prediction.fit_estimates(deals, stages, TODAY, "quarter")
        open_deals = [d for d in deals if d.outcome is None]
        fresh = prediction.predict_open(
            open_deals, fitted, stages, TODAY, "quarter", runs=prediction.BACKTEST_RUNS
        )
        assert summed == fresh
    finally:
        ws.close()


def test_a_new_store_marks_every_deal_and_a_write_marks_its_deal(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    try:
        account = crm.add_account(ws, {"name": "Acme"})
        opp = crm.add_opportunity(
            ws, {"name": "Deal", "account_id": account["id"], "amount": "100", "close_date": "2031-01-31"}
        )
        assert forecast_rows.marked(ws.store) == [opp["id"]]
        forecast_summary.refresh(ws)
        assert forecast_rows.marked(ws.store) == []
        crm.move_stage(ws, opp["id"], WON)
        assert forecast_rows.marked(ws.store) == [opp["id"]]
        _check(ws)
    finally:
        ws.close()


def test_the_triggers_that_mark_deals_exist_in_a_new_store(tmp_path: Path) -> None:
    """A later migration that rebuilds the opportunity or stage_change table must create them again
    (docs/store.md, "Derived tables")."""
    ws = Workspace(tmp_path)
    try:
        found = {
            (r[0], r[1])
            for r in ws.store.conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
        }
    finally:
        ws.close()
    for table, short in (("opportunity", "opp"), ("stage_change", "change")):
        for event in ("insert", "update", "delete"):
            assert (f"forecast_dirty_{short}_{event}", table) in found
